"""Benchmark the coordinator's pages at real size under gunicorn, next to a bare route.

    python bench/web.py                      # 1000 open requests, 300 listeners, one round
    python bench/web.py --duration 10 --repeat 3 --workers 2 --threads 1

What it does, in a bounded time and on loopback only:
1. drops and recreates the PostgreSQL database `bench_web` (BENCH_DATABASE_URL to
   change it), runs the migrations and seeds it with a fixed seed: 300 listeners,
   1000 practitioners with open requests and twelve weeks of held, rated conversations
   (bulk inserts of the rows the services would write, with one real password hash);
2. starts gunicorn (2 workers of 4 threads by default; --threads 1 gives the sync
   workers the issue measured) on a
   free 127.0.0.1 port with bench/web_app.py: the app plus a bare route that renders a
   50-row template without database or sign-in;
3. signs in as a coordinator, a practitioner and a listener through the real forms and
   takes an API token, then runs one matching round through the Rounds page (the round
   of record: its duration is printed);
4. measures every page with wrk (16 connections, 2 threads, bench/wrk_report.lua) after
   a short warm-up: requests per second, p50/p95/p99 and the answer's size, and judges
   each against the targets (at least 50 % of the bare route's req/s, p95 <= 100 ms,
   at most 200 KB, no failed answers).

`make bench` runs it after bench/matching.py and installs wrk if it is missing. The
figures of record are in the README ("Speed of the pages"). The exit status is 1 when a
page answered with errors.

    python bench/web.py --in-process --reuse     # quiet: CPU time and queries per page

With --in-process there is no gunicorn and no wrk: each page is asked for --times
times through the test client of the same app, signed in as the same people, and the
mean CPU time per request (time.process_time), wall time and SQL statements are
printed next to the bare route's. On a shared machine those figures move far less
than wrk's, so they are what to compare changes with; the bare route's CPU time over a
page's bounds that page's share of the bare route's req/s under gunicorn. --reuse keeps
a database seeded by an earlier run (and its round) instead of seeding it again.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections import deque
from datetime import UTC, datetime, timedelta
from datetime import time as wall
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SEED = 20261130
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_web"
PASSWORD = "bench-password-long-enough"  # noqa: S105 - a throwaway benchmark database
LANGUAGES = (("en", 60), ("es", 20), ("de", 12), ("fr", 8))
# Some practitioners speak only Polish, which no listener does: unmatched, with a reason.
UNMATCHED_SHARE = 0.04
ORGS = tuple(f"Service {i}" for i in range(20))
TOPICS = ("grief", "burnout", "night shifts", "child protection", "moral injury", "violence")
ZONES = ("Europe/London", "Europe/Berlin", "America/New_York", "Europe/Madrid")
TAIL: deque[str] = deque(maxlen=50)  # the last lines gunicorn logged
TARGET_SHARE, TARGET_P95_MS, TARGET_BYTES = 0.5, 100.0, 200 * 1024


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- the database -----------------------------------------------------------------------


def recreate_database(url: str) -> None:
    import psycopg

    plain = url.replace("postgresql+psycopg://", "postgresql://")
    parts = urllib.parse.urlsplit(plain)
    name = parts.path.lstrip("/")
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise SystemExit(f"refusing an odd database name: {name!r}")
    admin = urllib.parse.urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def _choose_language(rng: random.Random) -> list[str]:
    first = rng.choices([c for c, _ in LANGUAGES], weights=[w for _, w in LANGUAGES])[0]
    return sorted({first, "en"}) if rng.random() < 0.3 else [first]


def _windows(rng: random.Random, user_id: int, days: int, hours: tuple[int, int]) -> list[dict]:
    rows = []
    for day in sorted(rng.sample(range(7), days)):
        start = rng.randrange(8, 16)
        rows.append(
            {
                "user_id": user_id,
                "weekday": day,
                "start_local": wall(start),
                "end_local": wall(min(start + rng.randrange(*hours), 23)),
            }
        )
    return rows


def seed(app, n_requests: int, n_listeners: int) -> dict:
    """Write the programme; return the ids and sign-ins the measurements need."""
    from matching.extensions import db
    from matching.models import (
        AvailabilityWindow,
        Feedback,
        ListenerProfile,
        Meeting,
        PractitionerProfile,
        SupportRequest,
        User,
        now_utc,
    )
    from matching.schemas import bodies, load
    from matching.services import accounts, availability, consent, profiles, requests
    from matching.vocabulary import FIELDS, MODALITIES, URGENCIES

    rng = random.Random(SEED)
    now = now_utc()
    with app.app_context():
        password_hash = accounts.hash_password(PASSWORD)
        coordinator = accounts.create_coordinator(
            email="coord@bench.example.org", password=PASSWORD, display_name="Cora"
        )
        db.session.commit()

        def users(role: str, count: int, offset: int) -> list[int]:
            rows = [
                {
                    "email": f"{role}{offset + i}@bench.example.org",
                    "password_hash": password_hash,
                    "role": role,
                    "display_name": f"{role.title()} {offset + i}",
                    "timezone": rng.choice(ZONES),
                    "active": True,
                    "created_at": now - timedelta(days=120),
                    "email_verified_at": now - timedelta(days=120),
                    "session_version": 0,
                }
                for i in range(count)
            ]
            db.session.execute(db.insert(User), rows)
            return list(
                db.session.scalars(
                    db.select(User.id)
                    .where(User.role == role)
                    .where(User.email.like(f"{role}%@bench.example.org"))
                    .order_by(User.id)
                )
            )

        listener_ids = users("listener", n_listeners, 0)
        db.session.execute(
            db.insert(ListenerProfile),
            [
                {
                    "user_id": uid,
                    "organization": rng.choice(ORGS),
                    "fields": rng.sample(FIELDS, 2),
                    "languages": _choose_language(rng),
                    "modalities": rng.sample(MODALITIES[:2], rng.choice((1, 2))),
                    "topics": rng.sample(TOPICS, 3),
                    "max_sessions_per_week": rng.choice((1, 2, 3)),
                    "max_sessions_per_day": rng.choice((1, 1, 2)),
                    "do_not_match": [],
                    "verified_by_id": coordinator.id,
                    "verified_at": now - timedelta(days=100) if i % 25 else None,
                    "training_valid_until": (
                        now + timedelta(days=rng.choice((12, 200, 365)))
                    ).date(),
                    "paused_until": now + timedelta(days=7) if i % 40 == 3 else None,
                }
                for i, uid in enumerate(listener_ids)
            ],
        )
        windows = []
        for uid in listener_ids:
            windows += _windows(rng, uid, 5, (2, 4))
        practitioner_ids = users("practitioner", n_requests + 400, 0)
        db.session.execute(
            db.insert(PractitionerProfile),
            [
                {
                    "user_id": uid,
                    "organization": rng.choice(ORGS),
                    "field": rng.choice(FIELDS),
                    "languages": _choose_language(rng),
                    "modalities": ["video", "phone"],
                    "topics": rng.sample(TOPICS, 2),
                    "listener_gender": None,
                    "listener_gender_required": False,
                    "do_not_match": [],
                }
                for uid in practitioner_ids
            ],
        )
        for uid in practitioner_ids:
            windows += _windows(rng, uid, 3, (2, 5))
        polish = practitioner_ids[: int(n_requests * UNMATCHED_SHARE)]
        db.session.execute(
            db.update(PractitionerProfile)
            .where(PractitionerProfile.user_id.in_(polish))
            .values(languages=["pl"])
        )
        db.session.execute(db.insert(AvailabilityWindow), windows)

        # Open requests: the queue and the round.
        db.session.execute(
            db.insert(SupportRequest),
            [
                {
                    "practitioner_id": uid,
                    "urgency": rng.choices(URGENCIES, weights=(6, 3, 1))[0],
                    "topics": rng.sample(TOPICS, rng.randrange(1, 3)),
                    "modalities": ["video", "phone"],
                    "note": "Evenings are easier." if i % 3 == 0 else "",
                    "status": "open",
                    "created_at": now - timedelta(hours=rng.randrange(1, 24 * 21)),
                    "updated_at": now,
                }
                for i, uid in enumerate(practitioner_ids[:n_requests])
            ],
        )
        # Twelve weeks of history: requests met, conversations held and rated.
        history = practitioner_ids[n_requests:]
        past = []
        for uid in history:
            asked = now - timedelta(days=rng.randrange(7, 84), hours=rng.randrange(24))
            past.append((uid, asked, asked + timedelta(hours=rng.randrange(30, 240))))
        db.session.execute(
            db.insert(SupportRequest),
            [
                {
                    "practitioner_id": uid,
                    "urgency": rng.choice(URGENCIES),
                    "topics": [],
                    "modalities": ["video"],
                    "note": "",
                    "status": "closed",
                    "created_at": asked,
                    "updated_at": asked,
                }
                for uid, asked, _ in past
            ],
        )
        request_of = dict(
            db.session.execute(
                db.select(SupportRequest.practitioner_id, SupportRequest.id).where(
                    SupportRequest.status == "closed"
                )
            ).all()
        )
        host = app.config["SERVICE_HOST"]
        meeting_rows = []
        for n, (uid, _, start) in enumerate(past):
            start = start.replace(minute=0, second=0, microsecond=0)
            status = "completed" if n % 20 else ("no_show" if n % 40 else "cancelled")
            meeting_rows.append(
                {
                    "request_id": request_of[uid],
                    "practitioner_id": uid,
                    "listener_id": rng.choice(listener_ids),
                    "start_at": start,
                    "end_at": start + timedelta(hours=1),
                    "status": status,
                    "uid": f"bench-{n}@{host}",
                    "sequence": 0,
                    "cancel_reason": "",
                    "created_at": start - timedelta(days=2),
                    "updated_at": start,
                }
            )
        db.session.execute(db.insert(Meeting), meeting_rows)
        held = db.session.execute(
            db.select(Meeting.id, Meeting.practitioner_id).where(Meeting.status == "completed")
        ).all()
        db.session.execute(
            db.insert(Feedback),
            [
                {
                    "meeting_id": mid,
                    "author_id": uid,
                    "rating": rng.choices((1, 2, 3, 4, 5), weights=(1, 2, 5, 12, 14))[0],
                    "comment": "",
                    "created_at": now,
                }
                for mid, uid in held
                if rng.random() < 0.7
            ],
        )
        db.session.commit()

        def _joined(account: dict):
            """A person as they are once joined: address confirmed, consent text accepted."""
            version = consent.current_version()
            values = load(bodies.NewAccount, account | {"consent_version": version})
            values.pop("consent_version")
            user = accounts.register(**values, verified=True)
            consent.accept(user, version)
            return user

        # The two people whose home pages are measured, made through the services.
        person = _joined(
            {
                "email": "pia@bench.example.org",
                "password": PASSWORD,
                "role": "practitioner",
                "display_name": "Pia",
                "timezone": "Europe/Berlin",
            }
        )
        profiles.update_profile(
            person,
            load(
                bodies.PROFILES["practitioner"],
                {"organization": "City Hospital", "languages": ["en"], "modalities": ["video"]},
            ),
        )
        week = {"windows": [{"weekday": 1, "start": "09:00", "end": "12:00"}]}
        availability.set_windows(person, load(bodies.Windows, week)["windows"])
        requests.create_request(
            person, load(bodies.NewRequest, {"urgency": "soon", "note": "Nights are hard."})
        )
        listener = _joined(
            {
                "email": "leo@bench.example.org",
                "password": PASSWORD,
                "role": "listener",
                "display_name": "Leo",
                "timezone": "Europe/London",
            }
        )
        profiles.update_profile(
            listener,
            load(
                bodies.PROFILES["listener"],
                {
                    "organization": "Peer Line",
                    "languages": ["en"],
                    "modalities": ["video"],
                    "fields": ["nursing"],
                },
            ),
        )
        db.session.commit()
        # Fresh tables have no planner statistics yet; autovacuum would gather them soon.
        db.session.execute(db.text("ANALYZE"))
        db.session.commit()
    return seeded_ids(app)


def seeded_ids(app) -> dict | None:
    """The ids the measurements need, or None when the database holds no seeded programme."""
    from sqlalchemy.exc import SQLAlchemyError

    from matching.extensions import db
    from matching.models import SupportRequest, User

    with app.app_context():
        try:
            seeded = db.session.scalar(
                db.select(User.id).where(User.email == "leo@bench.example.org")
            )
        except SQLAlchemyError:
            return None
        noted = db.session.scalar(
            db.select(SupportRequest.id)
            .where(SupportRequest.note != "")
            .order_by(SupportRequest.id)
        )
        return {"request_with_note": noted} if seeded else None


# --- the server and the people --------------------------------------------------------------


class Session:
    """A cookie jar that signs in through the real form."""

    def __init__(self, base: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def get(self, path: str, headers: dict | None = None) -> tuple[int, bytes]:
        req = urllib.request.Request(self.base + path, headers=headers or {})  # noqa: S310
        with self.opener.open(req, timeout=120) as answer:
            return answer.status, answer.read()

    def post(self, path: str, data: dict) -> tuple[int, bytes, str]:
        body = urllib.parse.urlencode(data).encode()
        req = urllib.request.Request(self.base + path, data=body)  # noqa: S310
        with self.opener.open(req, timeout=120) as answer:
            return answer.status, answer.read(), answer.url

    def csrf(self, path: str) -> str:
        _, html = self.get(path)
        tag = re.search(rb'<input[^>]*name="csrf_token"[^>]*>', html).group(0)
        return re.search(rb'value="([^"]+)"', tag).group(1).decode()

    def sign_in(self, email: str) -> str:
        token = self.csrf("/login")
        self.post("/login", {"email": email, "password": PASSWORD, "csrf_token": token})
        cookie = "; ".join(f"{c.name}={c.value}" for c in self.jar)
        if "session=" not in cookie:
            raise SystemExit(f"could not sign in as {email}")
        return cookie


def start_gunicorn(env: dict, workers: int, threads: int) -> tuple[subprocess.Popen, str]:
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or "gunicorn"
    command = [
        gunicorn,
        "--chdir",
        str(ROOT),
        "-w",
        str(workers),
        "--threads",
        str(threads),
        "-b",
        "127.0.0.1:0",
        "--access-logfile",
        "-" if os.environ.get("BENCH_ACCESS_LOG") else "/dev/null",
        "bench.web_app:app",
    ]
    server = subprocess.Popen(  # noqa: S603 - our own command line
        command, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
    )
    deadline = time.monotonic() + 60
    address = None
    booted = 0
    while time.monotonic() < deadline and booted < workers:
        line = server.stderr.readline()
        if not line:
            break
        found = re.search(r"Listening at: (http://127\.0\.0\.1:\d+)", line)
        if found:
            address = found.group(1)
        if "Booting worker" in line:
            booted += 1
    if address is None:
        server.kill()
        raise SystemExit("gunicorn did not start")
    # Keep draining its log so it never blocks on a full pipe; keep the tail for errors.
    threading.Thread(target=lambda: TAIL.extend(server.stderr), daemon=True).start()
    time.sleep(1.0)
    return server, address


def wrk(url: str, headers: dict, seconds: float, connections: int) -> dict:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    command += ["-s", str(ROOT / "bench" / "wrk_report.lua"), url]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=True)  # noqa: S603
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- the run ---------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--listeners", type=int, default=300)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per page")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds per page, unmeasured")
    parser.add_argument("--repeat", type=int, default=1, help="runs per page; the median is kept")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    # Pages spend much of their time waiting for PostgreSQL: threads overlap those waits.
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--only", default="", help="comma-separated page names to measure")
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="no gunicorn or wrk: CPU time and queries per request in this process",
    )
    parser.add_argument("--times", type=int, default=50, help="requests per page with --in-process")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep the database when it is already seeded (the figures then include "
        "whatever earlier runs wrote)",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None and not args.in_process:
        raise SystemExit("wrk is not installed: apt-get install wrk (make bench does it)")

    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    env = os.environ | {
        "DATABASE_URL": url,
        "SECRET_KEY": "bench-only-secret-key",
        "OUTBOX_DELIVER_AFTER_COMMIT": "false",
        "MAIL_OUTBOX_DIR": str(ROOT / "instance" / "bench-outbox"),
    }
    if not env.get("REDIS_URL"):
        # A loopback benchmark signs in three times: counting failures per worker will do.
        env["LOGIN_LIMITS_IN_MEMORY"] = "true"
    os.environ.update(
        {
            k: env[k]
            for k in ("DATABASE_URL", "SECRET_KEY", "MAIL_OUTBOX_DIR", "LOGIN_LIMITS_IN_MEMORY")
            if k in env
        }
    )
    os.environ["OUTBOX_DELIVER_AFTER_COMMIT"] = "false"

    from flask_migrate import upgrade

    from matching import create_app

    started = time.perf_counter()
    app = create_app()
    ids = seeded_ids(app) if args.reuse else None
    if ids is None:
        log(f"database: {url.rsplit('@', 1)[-1]} (dropped and made again)")
        recreate_database(url)
        app = create_app()
        with app.app_context():
            upgrade()
        ids = seed(app, args.requests, args.listeners)
        log(
            f"seeded {args.requests} open requests, {args.listeners} listeners and history "
            f"in {time.perf_counter() - started:.1f} s"
        )
    else:
        log(f"database: {url.rsplit('@', 1)[-1]} (kept as seeded before: --reuse)")
        with app.app_context():
            upgrade()
    if args.in_process:
        return measure_in_process(ids, args)

    server, base = start_gunicorn(env, args.workers, args.threads)
    try:
        return measure(app, base, ids, args)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


def page_list(round_id: int, ids: dict) -> list[tuple[str, str, str]]:
    """The measured pages: name, path and who asks (the baseline first)."""
    return [
        ("bare route (baseline)", "/bench/bare", "nobody"),
        ("overview", "/coordinator/", "coordinator"),
        ("queue", "/coordinator/queue", "coordinator"),
        ("queue, urgent", "/coordinator/queue?urgency=urgent", "coordinator"),
        ("request page", f"/coordinator/requests/{ids['request_with_note']}", "coordinator"),
        (
            "pair by hand",
            f"/coordinator/requests/{ids['request_with_note']}/pair",
            "coordinator",
        ),
        ("round review", f"/coordinator/rounds/{round_id}", "coordinator"),
        (
            "round, urgent pending",
            f"/coordinator/rounds/{round_id}?status=pending&urgency=urgent",
            "coordinator",
        ),
        ("rounds list", "/coordinator/rounds", "coordinator"),
        ("listeners", "/coordinator/listeners", "coordinator"),
        ("listeners, search", "/coordinator/listeners?q=es", "coordinator"),
        ("dashboard", "/coordinator/reports", "coordinator"),
        ("chart: requests", "/coordinator/reports/requests.svg", "coordinator"),
        ("chart: load", "/coordinator/reports/load.svg", "coordinator"),
        ("CSV", "/coordinator/reports/programme.csv", "coordinator"),
        ("practitioner home", "/practitioner/", "practitioner"),
        ("listener home", "/listener/", "listener"),
        ("API open requests", "/api/v1/requests?status=open", "api"),
        ("API meetings", "/api/v1/meetings", "api"),
    ]


def measure(app, base: str, ids: dict, args) -> int:
    from matching.extensions import db
    from matching.models import MatchingRound, Proposal

    coordinator = Session(base)
    cookie = coordinator.sign_in("coord@bench.example.org")
    pia = Session(base).sign_in("pia@bench.example.org")
    leo = Session(base).sign_in("leo@bench.example.org")
    body = json.dumps({"email": "coord@bench.example.org", "password": PASSWORD}).encode()
    req = urllib.request.Request(  # noqa: S310
        base + "/api/v1/tokens", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=30) as answer:  # noqa: S310
        token = json.loads(answer.read())["token"]

    # The round of record, through the page, as a coordinator would run it.
    csrf = coordinator.csrf("/coordinator/rounds")
    clock = time.perf_counter()
    status, _, landed = coordinator.post("/coordinator/rounds", {"csrf_token": csrf})
    round_seconds = time.perf_counter() - clock
    with app.app_context():
        matching_round = db.session.scalar(db.select(MatchingRound).order_by(MatchingRound.id))
        proposals = db.session.scalar(
            db.select(db.func.count()).where(Proposal.round_id == matching_round.id)
        )
        round_id, stats = matching_round.id, dict(matching_round.statistics)
        solver = matching_round.parameters.get("solver")
    print(
        f"round through the page: {round_seconds:.2f} s end to end (HTTP {status}, {landed[len(base) :]}); "
        f"{proposals} proposals for {stats.get('requests')} open requests, "
        f"{stats.get('listeners')} listeners, solver {solver}, engine "
        f"{stats.get('build_seconds', 0) + stats.get('solve_seconds', 0):.2f} s"
    )

    who = {
        "nobody": {},
        "coordinator": {"Cookie": cookie},
        "practitioner": {"Cookie": pia},
        "listener": {"Cookie": leo},
        "api": {"Authorization": f"Bearer {token}"},
    }
    pages = [(name, path, who[person]) for name, path, person in page_list(round_id, ids)]
    if args.only:
        wanted = {name.strip() for name in args.only.split(",")}
        pages = [p for p in pages if p[0] in wanted or p[0].startswith("bare")]

    results = []
    for name, path, headers in pages:
        status, data = Session(base).get(path, headers)
        if args.warmup:
            wrk(base + path, headers, args.warmup, args.connections)
        runs = [
            wrk(base + path, headers, args.duration, args.connections) for _ in range(args.repeat)
        ]
        runs.sort(key=lambda r: r["rps"])
        chosen = runs[len(runs) // 2]
        chosen |= {
            "name": name,
            "path": path,
            "bytes": len(data),
            "status": status,
            "rps_range": (runs[0]["rps"], runs[-1]["rps"]),
        }
        results.append(chosen)
        log(f"  {name}: {chosen['rps']:.0f} req/s, p95 {chosen['p95']:.1f} ms")

    baseline = results[0]["rps"]
    print()
    print(
        f"gunicorn {args.workers} {'sync' if args.threads == 1 else 'gthread'} worker(s)"
        f" x {args.threads} thread(s), "
        f"{args.connections} connections, {args.duration:g} s per page"
        + (f", median of {args.repeat}" if args.repeat > 1 else "")
        + f"; {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load average {os.getloadavg()[0]:.2f}"
    )
    header = f"{'page':24} {'size':>8} {'req/s':>7} {'of bare':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7}  verdict"
    print(header)
    print("-" * len(header))
    failed = False
    for r in results:
        share = r["rps"] / baseline
        misses = []
        if r is not results[0]:
            if share < TARGET_SHARE:
                misses.append("req/s")
            if r["p95"] > TARGET_P95_MS:
                misses.append("p95")
            if r["bytes"] > TARGET_BYTES:
                misses.append("size")
        if r["non_2xx"] or r["socket_errors"] or r["status"] != 200:
            misses.append(f"{r['non_2xx']} failed answers")
            failed = True
        verdict = (
            "baseline"
            if r is results[0]
            else ("on target" if not misses else "misses " + ", ".join(misses))
        )
        print(
            f"{r['name']:24} {r['bytes'] / 1024:7.1f}K {r['rps']:7.0f} {share:6.0%} "
            f"{r['p50']:7.1f} {r['p95']:7.1f} {r['p99']:7.1f}  {verdict}"
        )
    on_target = sum(1 for r in results[1:] if "on target" in _verdict(r, baseline))
    print(f"\n{on_target} of {len(results) - 1} pages on every target.")
    return 1 if failed else 0


# --- in process ------------------------------------------------------------------------------


def measure_in_process(ids: dict, args) -> int:
    """Each page --times times through the test client of the app gunicorn would serve.

    Quiet where wrk is noisy: the CPU time this process spends per request
    (time.process_time, so other work on the machine barely moves it), the wall time, the
    SQL statements per request and the answer's size, next to the bare route measured the
    same way. PostgreSQL's own work shows in the wall time, not in the CPU time.
    """
    import gc

    from sqlalchemy import event

    from bench.web_app import app
    from matching.extensions import db
    from matching.models import MatchingRound

    def signed_in(email: str):
        client = app.test_client()
        page = client.get("/login").get_data(as_text=True)
        csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        answer = client.post(
            "/login", data={"email": email, "password": PASSWORD, "csrf_token": csrf}
        )
        if answer.status_code != 302:
            raise SystemExit(f"could not sign in as {email}")
        return client

    coordinator = signed_in("coord@bench.example.org")
    clients = {
        "nobody": (app.test_client(), {}),
        "coordinator": (coordinator, {}),
        "practitioner": (signed_in("pia@bench.example.org"), {}),
        "listener": (signed_in("leo@bench.example.org"), {}),
    }
    answer = app.test_client().post(
        "/api/v1/tokens", json={"email": "coord@bench.example.org", "password": PASSWORD}
    )
    clients["api"] = (app.test_client(), {"Authorization": f"Bearer {answer.json['token']}"})

    with app.app_context():
        round_id = db.session.scalar(db.select(MatchingRound.id).order_by(MatchingRound.id))
    if round_id is None:
        page = coordinator.get("/coordinator/rounds").get_data(as_text=True)
        csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        clock = time.perf_counter()
        coordinator.post("/coordinator/rounds", data={"csrf_token": csrf})
        log(f"round through the page: {time.perf_counter() - clock:.2f} s")
        with app.app_context():
            round_id = db.session.scalar(db.select(MatchingRound.id).order_by(MatchingRound.id))

    pages = page_list(round_id, ids)
    if args.only:
        wanted = {name.strip() for name in args.only.split(",")}
        pages = [p for p in pages if p[0] in wanted or p[0].startswith("bare")]

    with app.app_context():
        engine = db.engine
    box = {"n": 0}

    def count(*_args, **_kwargs):
        box["n"] += 1

    event.listen(engine, "before_cursor_execute", count)
    results = []
    try:
        for name, path, person in pages:
            client, headers = clients[person]
            for _ in range(3):  # warm caches, pools and compiled statements
                first = client.get(path, headers=headers)
            if first.status_code != 200:
                raise SystemExit(f"{name}: HTTP {first.status_code}")
            gc.collect()
            box["n"] = 0
            cpu, wall = time.process_time(), time.perf_counter()
            for _ in range(args.times):
                client.get(path, headers=headers)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            results.append(
                {
                    "name": name,
                    "bytes": len(first.get_data()),
                    "cpu": cpu / args.times * 1000,
                    "wall": wall / args.times * 1000,
                    "queries": box["n"] / args.times,
                }
            )
            log(f"  {name}: {results[-1]['cpu']:.1f} ms CPU, {results[-1]['queries']:.0f} queries")
    finally:
        event.remove(engine, "before_cursor_execute", count)

    bare = results[0]["cpu"]
    print(
        f"in process, {args.times} requests per page; "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load average {os.getloadavg()[0]:.2f}"
    )
    header = f"{'page':24} {'size':>8} {'CPU ms':>7} {'bare/it':>7} {'wall ms':>7} {'queries':>7}"
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r['name']:24} {r['bytes'] / 1024:7.1f}K {r['cpu']:7.2f} {bare / r['cpu']:6.0%} "
            f"{r['wall']:7.2f} {r['queries']:7.1f}"
        )
    print(
        "\nbare/it: the bare route's CPU time over the page's, what bounds the page's share "
        "of the bare route's req/s under gunicorn (target 50 %)."
    )
    return 0


def _verdict(r: dict, baseline: float) -> str:
    ok = (
        r["rps"] / baseline >= TARGET_SHARE
        and r["p95"] <= TARGET_P95_MS
        and r["bytes"] <= TARGET_BYTES
        and not r["non_2xx"]
    )
    return "on target" if ok else "misses"


if __name__ == "__main__":
    sys.exit(main())
