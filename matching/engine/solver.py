"""The matching step as an exact min-cost max-flow.

Network: source -> request (cap 1) -> (listener, slot) (cap 1, cost 100 - score) ->
(listener, local day) (cap: daily limit minus sessions booked that day) ->
(listener, local ISO week) (cap: weekly limit minus booked that week) -> sink. A week
reaches the sink by unit-step arcs whose costs are the load points its 1st, 2nd, ...
session of the round loses (``scoring.spread_costs``, never falling), so the flow
spreads sessions over listeners as the load part of the score asks.
A bypass arc source -> sink of cost BIG > 100 * requests carries the requests left
unmatched, so one min-cost flow gives, in order, the most requests matched and then
the highest total score.

Pruning keeps the optimum. For one request r and one listener, the score never rises
with a later start inside a week (see scoring), so rank r's slots by (cost, start).

* Slots of one listener-day. Let c be the day's remaining capacity. Keep r's first
  c slots on that day. If an optimal solution gives r a slot s beyond them, at most
  c - 1 other requests use that day, so one of the kept slots is free; moving r there
  uses the same day and week capacity and costs no more.
* Days of one listener-week. Let k be the week's remaining capacity. Keep r's slots on
  its first k days of that week (by their best slot). If an optimal solution gives r
  a slot on a later day, at most k - 1 other requests use that week, each on one day,
  so one kept day has nobody else on it; its best slot is free, the day has capacity
  (slots on full days are never candidates), the week is the same, and the cost is no
  higher.

Each move strictly improves r's rank and changes nobody else, so repeating them ends
in an optimal solution that uses kept arcs only. When a day has capacity 1 the slot
node is redundant (the day arc already admits one session) and r links to the day.
Requests and listeners that share no candidate fall into separate connected
components, solved one by one (``network.components``).

Every hard rule comes from ``rules.RULES``: the rules that need no start sift the
listeners for each request (``rule_kinds.Funnel``), the time rules give each listener's
free block starts and each request's free starts (``starts``), and the daily and weekly
limit rules are the capacities of the day and week levels (``LEVELS``).

The pruned network is never built whole. ``candidates`` keeps free starts as bitsets
over one time grid and produces the kept arcs of any pair on demand; ``network`` solves
the min-cost flow on a growing subset of them and stops only when node potentials
prove that no arc left out could improve the flow (column generation), so the answer
is the optimum of the whole pruned network.

The unpruned network, solved whole with networkx's max_flow_min_cost, lives in
tests/engine/reference.py: it is the property tests' second opinion and the naive
baseline of bench/matching.py.

Ties: inputs are sorted by id and the network is built in that order, so the same
input in any order gives the same proposals.
"""

from __future__ import annotations

import time as clock
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from matching.engine import network
from matching.engine.candidates import build_candidates
from matching.engine.model import Listener, Params, Proposal, Request, Result, Unmatched
from matching.engine.reasons import proposal_reasons
from matching.engine.rule_kinds import FreeStarts, Funnel, LimitRule
from matching.engine.rules import DAILY_LIMIT, RULES, WEEKLY_LIMIT, local_week
from matching.engine.scoring import score_parts, spread_costs, total
from matching.engine.slots import bounds, instant
from matching.engine.starts import listener_blocks, request_free

SOLVERS = ("networkx", "ortools")
# The limit rules that are levels of the network, from the slots up: each session
# passes one (listener, day) node and one (listener, week) node.
LEVELS = (DAILY_LIMIT, WEEKLY_LIMIT)
if {r for r in RULES if isinstance(r, LimitRule)} != set(LEVELS):
    raise RuntimeError("every limit rule must be a level of the flow network (solver.LEVELS)")


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


@dataclass
class ListenerSlots:
    """One listener's free block starts (seconds), with day and week node ids."""

    listener: Listener
    starts: list[int] = field(default_factory=list)  # within every limit
    day: list[int] = field(default_factory=list)
    week: list[int] = field(default_factory=list)
    capped: list[int] = field(default_factory=list)  # free but on a full day or week
    full: set = field(default_factory=set)  # the limit rules full at some capped start


@dataclass
class Levels:
    """Capacities of the day and week nodes, in the order they were met."""

    day_cap: list[int] = field(default_factory=list)
    day_week: list[int] = field(default_factory=list)
    week_cap: list[int] = field(default_factory=list)
    week_booked: list[int] = field(default_factory=list)
    week_spread: list[list[int]] = field(default_factory=list)


@dataclass
class Prepared:
    """A round's listeners, requests and free starts, ready for the candidate builder."""

    requests: list[Request]
    listeners: list[Listener]
    params: Params
    levels: Levels
    slots: list[ListenerSlots]
    free: list[FreeStarts]  # per request
    funnel: Funnel
    fit: list[list[int]]  # per request: listeners past the funnel with a free start


def _prepare_listener(
    listener: Listener, params: Params, levels: Levels, ready: bool
) -> ListenerSlots:
    prepared = ListenerSlots(listener)
    if not ready:
        return prepared
    day_used, week_used = DAILY_LIMIT.used(listener), WEEKLY_LIMIT.used(listener)
    day_ids: dict = {}  # local date -> day node id
    full_days: dict = {}  # local date -> the limit rules full on it
    week_ids: dict = {}
    lo, hi = bounds(params)
    for moment, day in listener_blocks(listener, params, lo, hi):
        if day not in day_ids and day not in full_days:
            week = WEEKLY_LIMIT.period(day)
            week_left = WEEKLY_LIMIT.left(listener, week_used, day)
            day_left = DAILY_LIMIT.left(listener, day_used, day)
            if week_left <= 0 or day_left <= 0:
                lefts = ((DAILY_LIMIT, day_left), (WEEKLY_LIMIT, week_left))
                full_days[day] = {rule for rule, left in lefts if left <= 0}
            else:
                if week not in week_ids:
                    week_ids[week] = len(levels.week_cap)
                    levels.week_cap.append(week_left)
                    levels.week_booked.append(week_used[week])
                    levels.week_spread.append(
                        spread_costs(listener, week_used[week], week_left, params)
                    )
                day_ids[day] = len(levels.day_cap)
                levels.day_cap.append(day_left)
                levels.day_week.append(week_ids[week])
        if day in full_days:
            prepared.capped.append(moment)
            prepared.full |= full_days[day]
            continue
        node = day_ids[day]
        prepared.starts.append(moment)
        prepared.day.append(node)
        prepared.week.append(levels.day_week[node])
    return prepared


def prepare(requests: Sequence[Request], listeners: Sequence[Listener], params: Params) -> Prepared:
    """Apply every hard rule's set form to a round whose inputs are sorted by id."""
    levels = Levels()
    funnel = Funnel(RULES, listeners, params)
    slots = [
        _prepare_listener(lis, params, levels, i in funnel.ready) for i, lis in enumerate(listeners)
    ]
    lo, hi = bounds(params)
    free = [request_free(req, params, lo, hi) for req in requests]
    with_starts = {li for li in funnel.ready if slots[li].starts}
    fit = [sorted(funnel.fit(req, with_starts)) for req in requests]
    return Prepared(list(requests), list(listeners), params, levels, slots, free, funnel, fit)


def _diagnose(prepared: Prepared, r: int, had_candidates: int) -> tuple[str, ...]:
    request, params = prepared.requests[r], prepared.params
    if had_candidates:
        return (
            f"{_plural(had_candidates, 'listener')} fit, but all were needed for other "
            "requests in this round",
        )
    funnel = prepared.funnel
    if not funnel.everyone:
        return ("no listeners are available for matching",)
    fit = funnel.everyone
    for rule, left in funnel.stages(request):
        if not left:
            return (rule.diagnose(request, params),)
        fit = left
    free = prepared.free[r]
    if free.spans is not None and not free.spans:
        return (f"no available times in the next {params.horizon_days} days were given",)
    slots = prepared.slots
    at_limit = [li for li in fit if any(free.allows(s) for s in slots[li].capped)]
    full = set().union(*(slots[li].full for li in at_limit))
    limit = next((r.adjective for r in reversed(LEVELS) if r in full), LEVELS[0].adjective)
    if at_limit and len(at_limit) == len(fit):
        if len(fit) == 1:
            return (f"the 1 listener who fits is at the {limit} limit",)
        return (f"the {len(fit)} listeners who fit are at their {limit} limit",)
    text = (
        f"no shared time in the next {params.horizon_days} days — "
        f"{_plural(len(fit), 'listener')} would fit on everything else"
    )
    if at_limit:
        text += f" ({len(at_limit)} of them at their limit)"
    return (text,)


def _earlier_in_week(chosen: dict, listeners: Sequence[Listener]) -> dict[int, int]:
    """Return, per chosen request, how many of its listener's chosen starts that week are earlier.

    The flow charges a week's 1st, 2nd, ... session of the round on the week's arcs
    (``spread_costs``); shown per proposal, the k-th session in start order scores its
    load as if the k - 1 before it were booked. The totals agree.
    """
    by_week: dict[tuple[int, object], list[tuple[int, int]]] = defaultdict(list)
    for r, (li, moment, _) in chosen.items():
        week = local_week(instant(moment), listeners[li].timezone)
        by_week[(li, week)].append((moment, r))
    earlier = {}
    for starts in by_week.values():
        for k, (_, r) in enumerate(sorted(starts)):
            earlier[r] = k
    return earlier


def assemble(
    prepared: Prepared, chosen: dict, fitting: list[int], counts: dict, timings: tuple
) -> Result:
    """Turn a chosen (listener, start, earliest-for-the-pair) per request into a Result.

    ``timings`` is (started, built, solved) from ``time.perf_counter``.
    """
    requests, listeners, params = prepared.requests, prepared.listeners, prepared.params
    session = timedelta(minutes=params.session_minutes)
    earlier = _earlier_in_week(chosen, listeners)
    proposals = []
    unmatched = []
    for r, request in enumerate(requests):
        if r not in chosen:
            unmatched.append(Unmatched(request.id, _diagnose(prepared, r, fitting[r])))
            continue
        li, moment, earliest = chosen[r]
        listener = listeners[li]
        start = instant(moment)
        booked = WEEKLY_LIMIT.used(listener)[local_week(start, listener.timezone)]
        parts = score_parts(request, listener, start, params, booked_that_week=booked + earlier[r])
        proposals.append(
            Proposal(
                request_id=request.id,
                listener_id=listener.id,
                start=start,
                end=start + session,
                score=total(parts),
                parts=parts,
                reasons=proposal_reasons(
                    request, listener, start, parts, params, earliest_for_pair=earliest
                ),
            )
        )
    started, built, solved = timings
    stats = {
        "requests": len(requests),
        "listeners": len(listeners),
        **counts,
        "matched": len(proposals),
        "total_score": sum(p.score for p in proposals),
        "build_seconds": round(built - started, 4),
        "solve_seconds": round(solved - built, 4),
    }
    return Result(tuple(proposals), tuple(unmatched), stats)


def propose(
    requests: Iterable[Request],
    listeners: Iterable[Listener],
    params: Params,
    *,
    solver: str = "networkx",
) -> Result:
    """Propose at most one (listener, start) per request: most matches, then best score.

    ``solver`` is "networkx" (the default) or "ortools" (needs the optional package).
    """
    if solver not in SOLVERS:
        raise ValueError(f"unknown solver {solver!r}; choose one of {SOLVERS}")
    started = clock.perf_counter()
    requests = sorted(requests, key=lambda r: r.id)
    listeners = sorted(listeners, key=lambda lis: lis.id)
    prepared = prepare(requests, listeners, params)
    levels = prepared.levels
    candidates = build_candidates(
        requests,
        listeners,
        params,
        starts=[p.starts for p in prepared.slots],
        slot_days=[p.day for p in prepared.slots],
        day_cap=levels.day_cap,
        day_week=levels.day_week,
        week_cap=levels.week_cap,
        week_booked=levels.week_booked,
        week_spread=levels.week_spread,
        request_free=prepared.free,
        fit=prepared.fit,
    )
    built = clock.perf_counter()
    outcome = network.solve(candidates, solver)
    chosen = {}
    for r, (li, position) in outcome.chosen.items():
        shared = candidates.request_mask[r] & candidates.listener_mask[li]
        first = (shared & -shared).bit_length() - 1
        chosen[r] = (li, candidates.grid[position], first == position)
    solved = clock.perf_counter()
    fitting = [len(pairs) for pairs in candidates.pairs]
    counts = {
        "candidates": outcome.arcs,
        "pairs": sum(fitting),
        "rounds": outcome.rounds,
        "components": outcome.stats["components"],
    }
    return assemble(prepared, chosen, fitting, counts, (started, built, solved))
