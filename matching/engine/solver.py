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

The pruned network is never built whole. ``candidates`` keeps free starts as bitsets
over one time grid and produces the kept arcs of any pair on demand; ``network`` solves
the min-cost flow on a growing subset of them and stops only when node potentials
prove that no arc left out could improve the flow (column generation), so the answer
is the optimum of the whole pruned network.

Ties: inputs are sorted by id and the network is built in that order, so the same
input in any order gives the same proposals.
"""

from __future__ import annotations

import time as clock
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import networkx as nx

from matching.engine import network
from matching.engine.candidates import build_candidates
from matching.engine.model import Listener, Params, Proposal, Request, Result, Unmatched
from matching.engine.reasons import languages_text, modalities_text, proposal_reasons
from matching.engine.rules import (
    booked_counts,
    listener_ready,
    local_day,
    local_week,
    normalize_organization,
    training_valid,
)
from matching.engine.scoring import (
    EARLINESS_DAYS,
    continuity_points,
    earliness_points,
    field_points,
    load_points,
    score_parts,
    spread_costs,
    topic_points,
    total,
    urgency_points,
)
from matching.engine.slots import availability, bounds, free_slots

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SOLVERS = ("networkx", "ortools")


def _secs(instant: datetime) -> int:
    return (instant - EPOCH) // timedelta(seconds=1)


def _instant(seconds: int) -> datetime:
    return EPOCH + timedelta(seconds=seconds)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


@dataclass
class _ListenerSlots:
    """One listener's free block starts (seconds), with day and week node ids."""

    listener: Listener
    starts: list[int] = field(default_factory=list)  # within both caps
    day: list[int] = field(default_factory=list)
    week: list[int] = field(default_factory=list)
    earliness: dict[str, list[int]] = field(default_factory=dict)
    capped: list[int] = field(default_factory=list)  # free but on a full day or week
    capped_weekly: bool = False


@dataclass
class _Network:
    """Candidate arcs and capacities, in build order."""

    day_cap: list[int] = field(default_factory=list)
    day_week: list[int] = field(default_factory=list)
    week_cap: list[int] = field(default_factory=list)
    week_booked: list[int] = field(default_factory=list)
    week_spread: list[list[int]] = field(default_factory=list)
    # arcs: request index, listener index, start seconds, day id, score
    arc_request: list[int] = field(default_factory=list)
    arc_listener: list[int] = field(default_factory=list)
    arc_start: list[int] = field(default_factory=list)
    arc_day: list[int] = field(default_factory=list)
    arc_score: list[int] = field(default_factory=list)


def _urgency_key(urgency: str) -> str:
    return urgency if urgency in EARLINESS_DAYS else "routine"


def _prepare_listener(listener: Listener, params: Params, net: _Network) -> _ListenerSlots:
    prepared = _ListenerSlots(listener)
    if not listener_ready(listener, params.now):
        return prepared
    booked_days, booked_weeks = booked_counts(listener)
    day_ids: dict = {}
    week_ids: dict = {}
    starts = free_slots(
        listener.windows,
        listener.timezone,
        params,
        time_off=listener.time_off,
        booked=listener.booked,
    )
    for start in starts:
        day = local_day(start, listener.timezone)
        if not training_valid(listener, day):
            continue
        week = local_week(start, listener.timezone)
        week_left = listener.max_per_week - booked_weeks[week]
        day_left = listener.max_per_day - booked_days[day]
        if week_left <= 0 or day_left <= 0:
            prepared.capped.append(_secs(start))
            prepared.capped_weekly = prepared.capped_weekly or week_left <= 0
            continue
        if week not in week_ids:
            week_ids[week] = len(net.week_cap)
            net.week_cap.append(week_left)
            net.week_booked.append(booked_weeks[week])
            net.week_spread.append(spread_costs(listener, booked_weeks[week], week_left, params))
        if day not in day_ids:
            day_ids[day] = len(net.day_cap)
            net.day_cap.append(day_left)
            net.day_week.append(week_ids[week])
        prepared.starts.append(_secs(start))
        prepared.day.append(day_ids[day])
        prepared.week.append(week_ids[week])
    return prepared


def _earliness_table(prepared: _ListenerSlots, params: Params) -> None:
    """Fill a listener's earliness points per start for each urgency (full network only)."""
    kept = [_instant(s) for s in prepared.starts]
    for urgency in ("routine", *EARLINESS_DAYS):
        probe = Request(0, 0, "UTC", "", "", frozenset(), frozenset(), urgency=urgency)
        prepared.earliness[urgency] = [earliness_points(probe, s, params) for s in kept]


@dataclass
class _RequestTimes:
    """A request's availability and blocked ranges, in seconds."""

    intervals: list[tuple[int, int]]
    blocked: list[tuple[int, int]]  # a start s is blocked when lo < s < hi


def _prepare_request(request: Request, params: Params, cache: dict) -> _RequestTimes:
    key = (request.windows, request.timezone)
    if key not in cache:
        earliest, horizon_end = bounds(params)
        cache[key] = [
            (_secs(i.start), _secs(i.end))
            for i in availability(request.windows, request.timezone, earliest, horizon_end)
        ]
    session = params.session_minutes * 60
    buffer = params.buffer_minutes * 60
    blocked = [(_secs(o.start) - session, _secs(o.end)) for o in request.time_off]
    blocked += [(_secs(b.start) - buffer - session, _secs(b.end) + buffer) for b in request.booked]
    return _RequestTimes(cache[key], blocked)


def _pair_slots(times: _RequestTimes, slots: Sequence[int], session: int) -> list[int]:
    """Return indexes of slots whose session lies inside the request's free time."""
    found: list[int] = []
    for lo, hi in times.intervals:
        first = bisect_left(slots, lo)
        last = bisect_right(slots, hi - session)
        if not times.blocked:
            found.extend(range(first, last))
            continue
        for index in range(first, last):
            start = slots[index]
            if not any(b_lo < start < b_hi for b_lo, b_hi in times.blocked):
                found.append(index)
    return found


class _Index:
    """Set indexes over listeners for the profile rules."""

    def __init__(self, listeners: Sequence[Listener], params: Params):
        self.ready = {i for i, lis in enumerate(listeners) if listener_ready(lis, params.now)}
        self.everyone = set(range(len(listeners)))
        self.by_language: dict[str, set[int]] = defaultdict(set)
        self.by_modality: dict[str, set[int]] = defaultdict(set)
        self.by_organization: dict[str, set[int]] = defaultdict(set)
        self.by_gender: dict[str | None, set[int]] = defaultdict(set)
        self.refusing: dict[int, set[int]] = defaultdict(set)  # practitioner -> listeners
        self.position = {lis.id: i for i, lis in enumerate(listeners)}
        for i, lis in enumerate(listeners):
            for code in lis.languages:
                self.by_language[code].add(i)
            for code in lis.modalities:
                self.by_modality[code].add(i)
            self.by_organization[normalize_organization(lis.organization)].add(i)
            self.by_gender[lis.gender].add(i)
            for practitioner in lis.do_not_match:
                self.refusing[practitioner].add(i)

    def funnel(self, request: Request) -> list[tuple[str, set[int]]]:
        """Return the listeners left after each profile rule, in rule order."""
        stages = [("status", self.ready)]
        speaking = set().union(*(self.by_language.get(c, ()) for c in request.languages))
        stages.append(("language", stages[-1][1] & speaking))
        meeting = set().union(*(self.by_modality.get(c, ()) for c in request.modalities))
        stages.append(("modality", stages[-1][1] & meeting))
        own = self.by_organization.get(normalize_organization(request.organization), set())
        stages.append(("organization", stages[-1][1] - own))
        excluded = {
            self.position[lid]
            for lid in request.do_not_match | request.excluded_listeners
            if lid in self.position
        }
        excluded |= self.refusing.get(request.practitioner_id, set())
        stages.append(("excluded", stages[-1][1] - excluded))
        if request.listener_gender_required:
            stages.append(
                ("gender", stages[-1][1] & self.by_gender.get(request.listener_gender, set()))
            )
        else:
            stages.append(("gender", stages[-1][1]))
        return stages


def _prepare(
    requests: Sequence[Request], listeners: Sequence[Listener], params: Params
) -> tuple[_Network, list[_ListenerSlots], list[_RequestTimes], _Index]:
    net = _Network()
    prepared = [_prepare_listener(lis, params, net) for lis in listeners]
    index = _Index(listeners, params)
    cache: dict = {}
    times = [_prepare_request(req, params, cache) for req in requests]
    return net, prepared, times, index


def _build(
    requests: Sequence[Request],
    listeners: Sequence[Listener],
    params: Params,
) -> tuple[_Network, list[_ListenerSlots], list[_RequestTimes], _Index]:
    """Build every arc of the unpruned network (the reference)."""
    net, prepared, times, index = _prepare(requests, listeners, params)
    for slots in prepared:
        _earliness_table(slots, params)
    session = params.session_minutes * 60
    for r, request in enumerate(requests):
        fit = sorted(index.funnel(request)[-1][1])
        urgency = _urgency_key(request.urgency)
        urgent = urgency_points(request, params)
        for li in fit:
            slots = prepared[li]
            if not slots.starts:
                continue
            found = _pair_slots(times[r], slots.starts, session)
            if not found:
                continue
            listener = listeners[li]
            base = urgent + (
                field_points(request, listener, params)
                + topic_points(request, listener, params)
                + continuity_points(request, listener, params)
            )
            earliness = slots.earliness[urgency]
            load = {}
            for s in found:
                day = slots.day[s]
                week = slots.week[s]
                if week not in load:
                    load[week] = load_points(listener, net.week_booked[week], params)
                net.arc_request.append(r)
                net.arc_listener.append(li)
                net.arc_start.append(slots.starts[s])
                net.arc_day.append(day)
                net.arc_score.append(max(0, min(100, base + earliness[s] + load[week])))
    return net, prepared, times, index


def _layout(net: _Network, arcs: list[int]):
    """Return the node count, source, sink, arcs (tail, head, capacity, cost) and request arcs."""
    nodes: dict = {}

    def node(key) -> int:
        if key not in nodes:
            nodes[key] = len(nodes)
        return nodes[key]

    source, sink = node("source"), node("sink")
    requests = sorted({net.arc_request[a] for a in arcs})
    edges: list[tuple[int, int, int, int]] = []
    for r in requests:
        edges.append((source, node(("r", r)), 1, 0))
    days_seen: dict[int, int] = {}
    weeks_seen: dict[int, int] = {}
    slots_seen: set = set()
    request_arcs: list[tuple[int, int]] = []  # (edge position, arc)
    for a in arcs:
        day = net.arc_day[a]
        if day not in days_seen:
            week = net.day_week[day]
            if week not in weeks_seen:
                weeks_seen[week] = node(("w", week))
                # One node per arc to the sink: networkx's max_flow_min_cost takes no
                # parallel arcs.
                for k, (cap, cost) in enumerate(network.week_arcs(net.week_spread[week])):
                    step = node(("w", week, k))
                    edges.append((weeks_seen[week], step, cap, cost))
                    edges.append((step, sink, cap, 0))
            days_seen[day] = node(("d", day))
            edges.append((days_seen[day], weeks_seen[week], net.day_cap[day], 0))
        key = ("s", net.arc_listener[a], net.arc_start[a])
        head = node(key)
        if key not in slots_seen:
            slots_seen.add(key)
            edges.append((head, days_seen[day], 1, 0))
        request_arcs.append((len(edges), a))
        edges.append((node(("r", net.arc_request[a])), head, 1, 100 - net.arc_score[a]))
    return len(nodes), source, sink, edges, request_arcs


def _max_flow_min_cost(n_nodes, source, sink, edges) -> list[int]:
    graph = nx.DiGraph()
    graph.add_nodes_from(range(n_nodes))
    for tail, head, cap, cost in edges:
        graph.add_edge(tail, head, capacity=cap, weight=cost)
    flow = nx.max_flow_min_cost(graph, source, sink)
    return [flow[tail].get(head, 0) for tail, head, _, _ in edges]


def _diagnose(
    request: Request,
    times: _RequestTimes,
    index: _Index,
    prepared: list[_ListenerSlots],
    params: Params,
    had_candidates: int,
) -> tuple[str, ...]:
    if had_candidates:
        return (
            f"{_plural(had_candidates, 'listener')} fit, but all were needed for other "
            "requests in this round",
        )
    if not index.everyone:
        return ("no listeners are available for matching",)
    stages = dict(index.funnel(request))
    if not stages["status"]:
        return ("no verified listener is available right now",)
    if not stages["language"]:
        return (f"no verified listener speaks {languages_text(request.languages, 'or')}",)
    if not stages["modality"]:
        return (
            f"no listener who speaks {languages_text(request.languages, 'or')} offers "
            f"{modalities_text(request.modalities)}",
        )
    if not stages["organization"]:
        return ("only listeners from your own organisation fit",)
    if not stages["excluded"]:
        return ("the only listeners who fit are excluded for this request",)
    if not stages["gender"]:
        return ("a stated preference about the listener could not be met",)
    fit = stages["gender"]
    if not times.intervals:
        return (f"no available times in the next {params.horizon_days} days were given",)
    session = params.session_minutes * 60
    at_limit = [li for li in fit if _pair_slots(times, prepared[li].capped, session)]
    weekly = any(prepared[li].capped_weekly for li in at_limit)
    limit = "weekly" if weekly else "daily"
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


def _solve_pruned(requests, listeners, params, solver):
    """Build the candidate tables and solve the pruned network by column generation."""
    net, prepared, times, index = _prepare(requests, listeners, params)
    fit = [
        sorted(li for li in index.funnel(request)[-1][1] if prepared[li].starts)
        for request in requests
    ]
    candidates = build_candidates(
        requests,
        listeners,
        params,
        starts=[p.starts for p in prepared],
        slot_days=[p.day for p in prepared],
        day_cap=net.day_cap,
        day_week=net.day_week,
        week_cap=net.week_cap,
        week_booked=net.week_booked,
        week_spread=net.week_spread,
        request_intervals=[t.intervals for t in times],
        request_blocked=[t.blocked for t in times],
        fit=fit,
    )
    built = clock.perf_counter()
    outcome = network.solve(candidates, solver)
    chosen = {}
    for r, (li, position) in outcome.chosen.items():
        shared = candidates.request_mask[r] & candidates.listener_mask[li]
        first = (shared & -shared).bit_length() - 1
        chosen[r] = (li, candidates.grid[position], first == position)
    fitting = [len(pairs) for pairs in candidates.pairs]
    stats = {
        "candidates": outcome.arcs,
        "pairs": sum(fitting),
        "rounds": outcome.rounds,
        "components": outcome.stats["components"],
    }
    return chosen, fitting, prepared, times, index, built, stats


def _solve_full(requests, listeners, params):
    """Solve the whole unpruned network with max_flow_min_cost (the reference)."""
    net, prepared, times, index = _build(requests, listeners, params)
    built = clock.perf_counter()
    arcs = list(range(len(net.arc_request)))
    chosen = {}
    if arcs:
        n_nodes, source, sink, edges, request_arcs = _layout(net, arcs)
        flows = _max_flow_min_cost(n_nodes, source, sink, edges)
        for position, arc in request_arcs:
            if flows[position] > 0:
                chosen[net.arc_request[arc]] = arc
    listeners_per_request: dict[int, set[int]] = defaultdict(set)
    for r, li in zip(net.arc_request, net.arc_listener, strict=True):
        listeners_per_request[r].add(li)
    fitting = [len(listeners_per_request[r]) for r in range(len(requests))]
    session = params.session_minutes * 60
    found = {}
    for r, arc in chosen.items():
        li, start = net.arc_listener[arc], net.arc_start[arc]
        first = _pair_slots(times[r], prepared[li].starts, session)
        found[r] = (li, start, prepared[li].starts[first[0]] == start)
    stats = {
        "candidates": len(net.arc_request),
        "pairs": sum(fitting),
        "rounds": 1,
        "components": 1,
    }
    return found, fitting, prepared, times, index, built, stats


def _earlier_in_week(chosen: dict, listeners: Sequence[Listener]) -> dict[int, int]:
    """Return, per chosen request, how many of its listener's chosen starts that week are earlier.

    The flow charges a week's 1st, 2nd, ... session of the round on the week's arcs
    (``spread_costs``); shown per proposal, the k-th session in start order scores its
    load as if the k - 1 before it were booked. The totals agree.
    """
    by_week: dict[tuple[int, object], list[tuple[int, int]]] = defaultdict(list)
    for r, (li, seconds, _) in chosen.items():
        week = local_week(_instant(seconds), listeners[li].timezone)
        by_week[(li, week)].append((seconds, r))
    earlier = {}
    for starts in by_week.values():
        for k, (_, r) in enumerate(sorted(starts)):
            earlier[r] = k
    return earlier


def propose(
    requests: Iterable[Request],
    listeners: Iterable[Listener],
    params: Params,
    *,
    solver: str = "networkx",
    prune: bool = True,
) -> Result:
    """Propose at most one (listener, start) per request: most matches, then best score.

    ``solver`` is "networkx" (the default) or "ortools" (needs the optional package).
    ``prune=False`` builds the full network and solves it in one piece with networkx's
    max_flow_min_cost; it exists as the reference the pruned model is measured against.
    """
    if solver not in SOLVERS:
        raise ValueError(f"unknown solver {solver!r}; choose one of {SOLVERS}")
    started = clock.perf_counter()
    requests = sorted(requests, key=lambda r: r.id)
    listeners = sorted(listeners, key=lambda lis: lis.id)
    if prune:
        found = _solve_pruned(requests, listeners, params, solver)
    else:
        found = _solve_full(requests, listeners, params)
    chosen, fitting, prepared, times, index, built, counts = found
    solved = clock.perf_counter()

    session = timedelta(minutes=params.session_minutes)
    earlier = _earlier_in_week(chosen, listeners)
    proposals = []
    unmatched = []
    for r, request in enumerate(requests):
        if r not in chosen:
            reasons = _diagnose(request, times[r], index, prepared, params, fitting[r])
            unmatched.append(Unmatched(request.id, reasons))
            continue
        li, seconds, earliest = chosen[r]
        listener = listeners[li]
        start = _instant(seconds)
        _, booked_weeks = booked_counts(listener)
        parts = score_parts(
            request,
            listener,
            start,
            params,
            booked_that_week=booked_weeks[local_week(start, listener.timezone)] + earlier[r],
        )
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
