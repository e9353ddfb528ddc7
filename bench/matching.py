"""Benchmark the matching step on generated rounds with fixed seeds.

    python bench/matching.py                # all sizes; see below for what runs where
    python bench/matching.py --repeat 5     # each figure the median of 5 runs
    python bench/matching.py --sizes 200,80,20 --sizes 1000,300,30
    python bench/matching.py --naive-all    # the naive baseline on the largest size too

Each run happens in its own process so its peak memory (ru_maxrss) is its own. For
every size it prints build and solve seconds, peak memory, the request arcs of the last
network solved, requests matched and total score for the pruned networkx model (the
default solver), the OR-Tools solver when installed, and the naive networkx
max_flow_min_cost on the full unpruned network (tests/engine/reference.py, the property
tests' second opinion); then it checks that every method that
ran reached the same optimum (same number matched, same total score) and whether each
meets the targets: (1000, 300, 30) in 1 s end to end, (5000, 1000, 40) in 10 s within
1 GB. The naive flow is left out on the largest size unless --naive-all asks for it (it
takes far longer than 10 minutes there); the networkx default takes a few minutes there
and --skip-networkx-largest leaves it out, in which case the optimum check says it was
not made rather than passing. networkx and OR-Tools are imported before timing, as in
a running service. The exit status is 1 when two methods disagree on the optimum.

The figures of record are in the README ("Speed").
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from datetime import time as wall
from pathlib import Path

# The repository root, for the engine and the naive reference under tests/.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from matching.engine import Listener, Params, Request, Window, propose
from tests.engine.reference import propose_unpruned

SIZES = ((200, 80, 20), (1000, 300, 30), (5000, 1000, 40))
TARGETS = {(1000, 300, 30): 1.0, (5000, 1000, 40): 10.0}  # seconds end to end
MEMORY_TARGET_MB = {(5000, 1000, 40): 1024}
NOW = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
ZONES = ("Europe/London", "Europe/Berlin", "America/New_York", "Europe/Madrid")
FIELDS = ("social work", "psychology", "nursing", "counselling", "crisis line")
TOPICS = ("grief", "child protection", "violence", "suicide", "burnout", "moral injury")
ORGANIZATIONS = tuple(f"Org {i}" for i in range(12))


def _languages(rng: random.Random) -> frozenset[str]:
    # About one pair in two shares a language.
    first = rng.choices(("en", "es", "de"), weights=(55, 25, 20))[0]
    return frozenset({first})


def _listener_windows(rng: random.Random, per_week: int, block: int):
    days = rng.sample(range(7), 5)
    per_day = [per_week // 5 + (1 if i < per_week % 5 else 0) for i in range(5)]
    windows = []
    for day, count in zip(sorted(days), per_day, strict=True):
        start = rng.randrange(7, 13)
        end_minutes = (start * 60 + count * block) % (24 * 60)
        windows.append(Window(day, wall(start), wall(end_minutes // 60, end_minutes % 60)))
    return tuple(windows)


def _request_windows(rng: random.Random):
    windows = []
    for day in rng.sample(range(7), 3):
        start = rng.randrange(8, 17)
        windows.append(Window(day, wall(start), wall(start + rng.randrange(2, 5))))
    return tuple(windows)


def make_round(n_requests: int, n_listeners: int, per_week: int, seed: int = 20260302):
    """Return (requests, listeners, params) of a generated round; the seed fixes it."""
    rng = random.Random(seed)
    params = Params(now=NOW)
    block = params.session_minutes + params.buffer_minutes
    listeners = []
    for i in range(n_listeners):
        listeners.append(
            Listener(
                id=10_000 + i,
                timezone=rng.choice(ZONES),
                organization=rng.choice(ORGANIZATIONS),
                languages=_languages(rng),
                modalities=frozenset(rng.sample(("video", "phone", "chat"), rng.choice((1, 2)))),
                fields=frozenset(rng.sample(FIELDS, 2)),
                topics=frozenset(rng.sample(TOPICS, 3)),
                max_per_week=rng.choice((1, 2, 3)),
                max_per_day=rng.choice((1, 1, 2)),
                windows=_listener_windows(rng, per_week, block),
                verified=True,
                training_valid_until=(NOW + timedelta(days=rng.choice((5, 365, 365)))).date(),
            )
        )
    requests = []
    for i in range(n_requests):
        requests.append(
            Request(
                id=i + 1,
                practitioner_id=50_000 + i,
                timezone=rng.choice(ZONES),
                organization=rng.choice(ORGANIZATIONS),
                field=rng.choice(FIELDS),
                languages=_languages(rng),
                modalities=frozenset({rng.choice(("video", "phone", "chat"))}),
                topics=frozenset(rng.sample(TOPICS, rng.randrange(1, 4))),
                urgency=rng.choices(("routine", "soon", "urgent"), weights=(6, 3, 1))[0],
                created_at=NOW - timedelta(hours=rng.randrange(0, 24 * 20)),
                windows=_request_windows(rng),
            )
        )
    return requests, listeners, params


def run_one(size: tuple[int, int, int], method: str) -> dict:
    """Run one method on one size in this process and return its figures.

    networkx comes with the engine's import; OR-Tools, optional, is imported here, both
    before timing, as in a running service.
    """
    if method == "ortools":
        from ortools.graph.python import min_cost_flow  # noqa: F401  # optional extra

    requests, listeners, params = make_round(*size)
    started = time.perf_counter()
    if method == "naive":
        result = propose_unpruned(requests, listeners, params)
    else:
        result = propose(requests, listeners, params, solver=method)
    elapsed = time.perf_counter() - started
    stats = dict(result.stats)
    stats["total_seconds"] = round(elapsed, 3)
    stats["peak_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return stats


def _child(size: tuple[int, int, int], method: str) -> dict:
    command = [sys.executable, __file__, "--one", ",".join(map(str, size)), method]
    done = subprocess.run(command, capture_output=True, text=True, check=True)  # noqa: S603
    return json.loads(done.stdout.strip().splitlines()[-1])


def _median_run(size: tuple[int, int, int], method: str, repeat: int) -> dict:
    """Run a method ``repeat`` times; return the run of median total time, with the range."""
    runs = sorted((_child(size, method) for _ in range(repeat)), key=lambda s: s["total_seconds"])
    chosen = dict(runs[len(runs) // 2])
    chosen["fastest"] = runs[0]["total_seconds"]
    chosen["slowest"] = runs[-1]["total_seconds"]
    chosen["optima"] = {(s["matched"], s["total_score"]) for s in runs}
    return chosen


def _ortools_installed() -> bool:
    try:
        import ortools  # noqa: F401
    except ImportError:
        return False
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", action="append", help="requests,listeners,slots per week")
    parser.add_argument("--repeat", type=int, default=1, help="runs per figure (median shown)")
    parser.add_argument("--naive-all", action="store_true", help="naive baseline on every size")
    parser.add_argument(
        "--skip-networkx-largest",
        action="store_true",
        help="leave the networkx default out on the largest size (it takes minutes there)",
    )
    parser.add_argument("--one", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        size = tuple(int(x) for x in args.one[0].split(","))
        print(json.dumps(run_one(size, args.one[1])))
        return 0
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    sizes = [tuple(int(x) for x in s.split(",")) for s in args.sizes] if args.sizes else SIZES
    methods = ["networkx", *(["ortools"] if _ortools_installed() else [])]
    failed = False
    header = f"{'size':>18} {'method':>9} {'build s':>8} {'solve s':>8} {'total s':>8} "
    header += f"{'peak MB':>8} {'arcs':>9} {'matched':>8} {'score':>8}"
    if args.repeat > 1:
        header += f"  total s over {args.repeat} runs"
    print(header)
    for size in sizes:
        largest = size == max(SIZES)
        wanted = [
            m for m in methods if m != "networkx" or not largest or not args.skip_networkx_largest
        ]
        if args.naive_all or not largest:
            wanted.append("naive")
        runs = [(m, _median_run(size, m, args.repeat)) for m in wanted]
        for method, s in runs:
            line = (
                f"{size!s:>18} {method:>9} {s['build_seconds']:>8.3f} {s['solve_seconds']:>8.3f} "
                f"{s['total_seconds']:>8.3f} {s['peak_mb']:>8.1f} {s['candidates']:>9} "
                f"{s['matched']:>8} {s['total_score']:>8}"
            )
            if args.repeat > 1:
                line += f"  {s['fastest']:.3f} to {s['slowest']:.3f}"
            print(line)
        optimum = set().union(*(s["optima"] for _, s in runs))
        if len(optimum) > 1:
            failed = True
            print(f"{'':>18} same optimum: NO {sorted(optimum)}")
        elif len(runs) > 1:
            names = ", ".join(m for m, _ in runs)
            print(f"{'':>18} same optimum: yes ({names})")
        else:
            print(f"{'':>18} same optimum: not checked, only {runs[0][0]} ran")
        for method, s in runs:
            if method == "naive" or size not in TARGETS:
                continue
            limit = TARGETS[size]
            verdict = "meets" if s["total_seconds"] <= limit else "MISSES"
            text = f"the {limit:g} s target ({s['total_seconds']:.3f} s end to end"
            memory = MEMORY_TARGET_MB.get(size)
            if memory is not None:
                within = s["peak_mb"] <= memory
                verdict = "meets" if verdict == "meets" and within else "MISSES"
                text = f"the {limit:g} s, {memory} MB target ({s['total_seconds']:.3f} s, "
                text += f"{s['peak_mb']:.0f} MB peak"
            print(f"{'':>18} {method} {verdict} {text})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
