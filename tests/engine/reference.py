"""The unpruned network, solved whole: the second opinion on the engine's solver.

Every arc of every pair that the rules allow, with no pruning and no column
generation, in one networkx max_flow_min_cost. The property tests compare the engine's
optimum with this one, and bench/matching.py runs it as the naive baseline. It reads
the round's free starts and capacities from the engine's ``prepare`` (the rules' set
forms, which test_rule_forms.py checks against check_slot) and scores each arc with
scoring.py's per-pair functions, not the candidate builder's batched ones.
"""

from __future__ import annotations

import time as clock
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import networkx as nx

from matching.engine import Listener, Params, Request, Result, network
from matching.engine.scoring import earliness_at, earliness_class, load_points, pair_points
from matching.engine.slots import instant
from matching.engine.solver import Prepared, assemble, prepare


@dataclass
class _Arcs:
    """Every candidate arc: request index, listener index, start seconds, day id, score."""

    request: list[int] = field(default_factory=list)
    listener: list[int] = field(default_factory=list)
    start: list[int] = field(default_factory=list)
    day: list[int] = field(default_factory=list)
    score: list[int] = field(default_factory=list)


def _build(prepared: Prepared) -> _Arcs:
    """Return every arc of the unpruned network."""
    params, levels = prepared.params, prepared.levels
    arcs = _Arcs()
    earliness: dict[tuple[str, int], int] = {}
    load: dict[int, int] = {}
    for r, request in enumerate(prepared.requests):
        free = prepared.free[r]
        urgency = earliness_class(request.urgency)
        for li in prepared.fit[r]:
            slots = prepared.slots[li]
            listener = prepared.listeners[li]
            base = sum(pair_points(request, listener, params))
            for k, start in enumerate(slots.starts):
                if not free.allows(start):
                    continue
                week = slots.week[k]
                if (urgency, start) not in earliness:
                    earliness[urgency, start] = earliness_at(urgency, instant(start), params)
                if week not in load:
                    load[week] = load_points(listener, levels.week_booked[week], params)
                score = base + earliness[urgency, start] + load[week]
                arcs.request.append(r)
                arcs.listener.append(li)
                arcs.start.append(start)
                arcs.day.append(slots.day[k])
                arcs.score.append(max(0, min(100, score)))
    return arcs


def _layout(prepared: Prepared, arcs: _Arcs):
    """Return the node count, source, sink, edges (tail, head, capacity, cost) and request arcs."""
    levels = prepared.levels
    nodes: dict = {}

    def node(key) -> int:
        if key not in nodes:
            nodes[key] = len(nodes)
        return nodes[key]

    source, sink = node("source"), node("sink")
    edges: list[tuple[int, int, int, int]] = []
    for r in sorted(set(arcs.request)):
        edges.append((source, node(("r", r)), 1, 0))
    days_seen: dict[int, int] = {}
    weeks_seen: dict[int, int] = {}
    slots_seen: set = set()
    request_arcs: list[tuple[int, int]] = []  # (edge position, arc)
    for a in range(len(arcs.request)):
        day = arcs.day[a]
        if day not in days_seen:
            week = levels.day_week[day]
            if week not in weeks_seen:
                weeks_seen[week] = node(("w", week))
                # One node per arc to the sink: networkx's max_flow_min_cost takes no
                # parallel arcs.
                for k, (cap, cost) in enumerate(network.week_arcs(levels.week_spread[week])):
                    step = node(("w", week, k))
                    edges.append((weeks_seen[week], step, cap, cost))
                    edges.append((step, sink, cap, 0))
            days_seen[day] = node(("d", day))
            edges.append((days_seen[day], weeks_seen[week], levels.day_cap[day], 0))
        key = ("s", arcs.listener[a], arcs.start[a])
        head = node(key)
        if key not in slots_seen:
            slots_seen.add(key)
            edges.append((head, days_seen[day], 1, 0))
        request_arcs.append((len(edges), a))
        edges.append((node(("r", arcs.request[a])), head, 1, 100 - arcs.score[a]))
    return len(nodes), source, sink, edges, request_arcs


def _max_flow_min_cost(n_nodes, source, sink, edges) -> list[int]:
    graph = nx.DiGraph()
    graph.add_nodes_from(range(n_nodes))
    for tail, head, cap, cost in edges:
        graph.add_edge(tail, head, capacity=cap, weight=cost)
    flow = nx.max_flow_min_cost(graph, source, sink)
    return [flow[tail].get(head, 0) for tail, head, _, _ in edges]


def propose_unpruned(
    requests: Iterable[Request], listeners: Iterable[Listener], params: Params
) -> Result:
    """Propose like ``matching.engine.propose``, solving the whole unpruned network."""
    started = clock.perf_counter()
    requests = sorted(requests, key=lambda r: r.id)
    listeners = sorted(listeners, key=lambda lis: lis.id)
    prepared = prepare(requests, listeners, params)
    arcs = _build(prepared)
    built = clock.perf_counter()
    chosen_arc = {}
    if arcs.request:
        n_nodes, source, sink, edges, request_arcs = _layout(prepared, arcs)
        flows = _max_flow_min_cost(n_nodes, source, sink, edges)
        for position, arc in request_arcs:
            if flows[position] > 0:
                chosen_arc[arcs.request[arc]] = arc
    listeners_per_request: dict[int, set[int]] = defaultdict(set)
    for r, li in zip(arcs.request, arcs.listener, strict=True):
        listeners_per_request[r].add(li)
    fitting = [len(listeners_per_request[r]) for r in range(len(requests))]
    chosen = {}
    for r, arc in chosen_arc.items():
        li, start = arcs.listener[arc], arcs.start[arc]
        first = next(s for s in prepared.slots[li].starts if prepared.free[r].allows(s))
        chosen[r] = (li, start, first == start)
    solved = clock.perf_counter()
    counts = {
        "candidates": len(arcs.request),
        "pairs": sum(fitting),
        "rounds": 1,
        "components": 1,
    }
    return assemble(prepared, chosen, fitting, counts, (started, built, solved))
