"""Solve the candidate network exactly without building all of it (column generation).

The network is the solver module's: source -> request (cap 1) -> (listener, slot)
(cap 1, cost 100 - score) -> (listener, day) -> (listener, week) -> sink, plus the
bypass source -> sink of cost BIG for requests left unmatched. Only the request arcs
are many; this module solves the min-cost flow on a subset of them and proves that
the answer is optimal for all of them.

1. Start with every arc of each request's few most promising listeners.
2. Solve the min-cost flow on the subset (networkx network simplex or OR-Tools).
3. Compute node potentials d: shortest distances in the residual network from a
   virtual root joined to every node by an arc of cost 0. The subset's flow is
   optimal, so the residual network has no negative cycle and every residual arc
   u -> v of cost c has reduced cost c + d(u) - d(v) >= 0.
4. Price every arc left out: request r -> head of cost c has reduced cost
   c + d(r) - d(head). A head that is not in the subset's network gets the smallest
   potential that keeps its own outgoing arc (cost 0, no flow) non-negative: a slot
   node takes its day's potential, a day node its week's, a week node the sink's.
   Nodes reached only through arcs left out carry no flow, so with these potentials
   every arc of the whole network has a non-negative reduced cost once no omitted arc
   prices below zero. The subset's flow is then a feasible flow of the whole network
   with a dual certificate, hence optimal for it: same number matched, same total
   score. Otherwise the arcs that price below zero join the subset and it goes back
   to step 2; the subset only grows, so this ends.

Each pair carries a bound at least the score of each of its arcs (pair points +
earliness of its first shared start + its listener's best load); a request's pairs
are sorted by that bound, so pricing stops at the first pair whose bound cannot give a
negative reduced cost.
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass, field

from matching.engine.candidates import Candidates

FIRST_PAIRS = 8  # listeners per request in the first subset
# Arcs that price below zero prove the subset not yet optimal; when that happens the
# arcs within MARGIN of zero join too, which saves rounds that would add them later.
MARGIN = 5


@dataclass
class Outcome:
    """What the exact solve found: request index -> (listener index, grid position)."""

    chosen: dict[int, tuple[int, int]]
    arcs: int  # request arcs in the last network solved
    rounds: int  # networks solved
    stats: dict = field(default_factory=dict)


@dataclass
class _Layout:
    tails: list[int] = field(default_factory=list)
    heads: list[int] = field(default_factory=list)
    caps: list[int] = field(default_factory=list)
    costs: list[int] = field(default_factory=list)
    request_node: dict[int, int] = field(default_factory=dict)
    day_node: dict[int, int] = field(default_factory=dict)
    week_node: dict[int, int] = field(default_factory=dict)
    slot_node: dict[tuple[int, int], int] = field(default_factory=dict)
    arc_edge: list[tuple[int, int, int, int]] = field(default_factory=list)  # r, li, pos, edge
    owner: list[tuple[int, int]] = field(default_factory=list)  # (node, listener index)
    n_nodes: int = 2

    def node(self) -> int:
        self.n_nodes += 1
        return self.n_nodes - 1

    def edge(self, tail: int, head: int, cap: int, cost: int) -> int:
        self.tails.append(tail)
        self.heads.append(head)
        self.caps.append(cap)
        self.costs.append(cost)
        return len(self.tails) - 1


SOURCE, SINK = 0, 1


def _layout(c: Candidates, active: list[int], subset: dict[int, dict]) -> _Layout:
    net = _Layout()
    n = len(active)
    net.edge(SOURCE, SINK, n, 100 * n + 1)
    for r in active:
        net.request_node[r] = node = net.node()
        net.edge(SOURCE, node, 1, 0)
    for r in active:
        tail = net.request_node[r]
        arcs = subset[r]
        for key in sorted(arcs):
            li, position = key
            day, score = arcs[key]
            day_node = net.day_node.get(day)
            if day_node is None:
                week = c.day_week[day]
                week_node = net.week_node.get(week)
                if week_node is None:
                    net.week_node[week] = week_node = net.node()
                    net.owner.append((week_node, li))
                    net.edge(week_node, SINK, c.week_cap[week], 0)
                net.day_node[day] = day_node = net.node()
                net.owner.append((day_node, li))
                net.edge(day_node, week_node, c.day_cap[day], 0)
            if c.day_cap[day] == 1:
                head = day_node  # the day arc already admits one session
            else:
                head = net.slot_node.get(key)
                if head is None:
                    net.slot_node[key] = head = net.node()
                    net.owner.append((head, li))
                    net.edge(head, day_node, 1, 0)
            net.arc_edge.append((r, li, position, net.edge(tail, head, 1, 100 - score)))
    return net


def _flows_networkx(net: _Layout, supply: int) -> list[int]:
    import networkx as nx

    graph = nx.DiGraph()
    graph.add_nodes_from(range(net.n_nodes))
    graph.add_edges_from(
        (t, h, {"capacity": cap, "weight": cost})
        for t, h, cap, cost in zip(net.tails, net.heads, net.caps, net.costs, strict=True)
    )
    graph.nodes[SOURCE]["demand"] = -supply
    graph.nodes[SINK]["demand"] = supply
    _, flow = nx.network_simplex(graph)
    return [flow[t][h] for t, h in zip(net.tails, net.heads, strict=True)]


def _flows_ortools(net: _Layout, supply: int) -> list[int]:
    import numpy as np  # comes with OR-Tools
    from ortools.graph.python import min_cost_flow  # optional: the "fast" extra

    # Maximum flow at minimum cost is the same optimum as the bypass's, and leaving
    # out the bypass's large cost keeps the cost-scaling solver fast.
    solver = min_cost_flow.SimpleMinCostFlow()
    arcs = solver.add_arcs_with_capacity_and_unit_cost(
        np.array(net.tails[1:], dtype=np.int32),
        np.array(net.heads[1:], dtype=np.int32),
        np.array(net.caps[1:], dtype=np.int64),
        np.array(net.costs[1:], dtype=np.int64),
    )
    solver.set_node_supply(SOURCE, supply)
    solver.set_node_supply(SINK, -supply)
    status = solver.solve_max_flow_with_min_cost()
    if status != solver.OPTIMAL:
        raise RuntimeError(f"min-cost flow failed with status {status}")
    flows = solver.flows(arcs).tolist()
    return [supply - solver.maximum_flow(), *flows]


def potentials(net: _Layout, flows: list[int]) -> list[int]:
    """Return shortest residual distances from a virtual root joined to every node by 0.

    The flow must be optimal (no negative residual cycle); a queue-based Bellman-Ford
    then ends after at most nodes x arcs relaxations.
    """
    out: list[list[tuple[int, int]]] = [[] for _ in range(net.n_nodes)]
    for t, h, cap, cost, flow in zip(net.tails, net.heads, net.caps, net.costs, flows, strict=True):
        if flow < cap:
            out[t].append((h, cost))
        if flow > 0:
            out[h].append((t, -cost))
    dist = [0] * net.n_nodes
    waiting = [True] * net.n_nodes
    queue = deque(range(net.n_nodes))
    budget = net.n_nodes * (len(net.tails) + 1)
    while queue:
        u = queue.popleft()
        waiting[u] = False
        du = dist[u]
        for v, cost in out[u]:
            if du + cost < dist[v]:
                dist[v] = du + cost
                if not waiting[v]:
                    waiting[v] = True
                    queue.append(v)
        budget -= 1
        if budget < 0:
            raise RuntimeError("the residual network has a negative cycle")
    return dist


def _price(c: Candidates, active, subset, net: _Layout, dist: list[int], skip: int = 0) -> int:
    """Add the omitted arcs that price below MARGIN; return how many price below zero.

    A listener's nodes that are missing take the potential of a node it has or of the
    sink, so the largest of those bounds every head potential of its arcs. The first
    ``skip`` pairs of each request are wholly in the subset and need no pricing.
    """
    sink = dist[SINK]
    lowest = min(dist)
    highest = [lowest] * len(c.listener_mask)
    weeks_present = [0] * len(c.listener_mask)
    for node, li in net.owner:
        if dist[node] > highest[li]:
            highest[li] = dist[node]
    for week in net.week_node:
        weeks_present[c.week_listener[week]] += 1
    for li, weeks in enumerate(c.listener_weeks):
        if weeks_present[li] < weeks and sink > highest[li]:
            highest[li] = sink  # a missing week takes the sink's potential
    negative = 0
    day_cap, day_week = c.day_cap, c.day_week
    for r in active:
        d_r = dist[net.request_node[r]]
        arcs = subset[r]
        # rc >= 100 - bound + d_r - highest[li]; skip pairs that cannot go below MARGIN.
        limit = 100 + d_r - MARGIN
        ceiling = limit - max(highest)
        for bound, li, base in itertools.islice(c.pairs[r], skip, None):
            if bound <= ceiling:
                break
            if bound <= limit - highest[li]:
                continue
            for position, day, score in c.pair_arcs(r, li, base):
                key = (li, position)
                if key in arcs:
                    continue
                node = None
                if day_cap[day] > 1:
                    node = net.slot_node.get(key)
                if node is None:
                    node = net.day_node.get(day)
                if node is None:
                    node = net.week_node.get(day_week[day])
                reduced = 100 - score + d_r - (sink if node is None else dist[node])
                if reduced < MARGIN:
                    arcs[key] = (day, score)
                    negative += reduced < 0
    return negative


def solve(c: Candidates, solver: str, first_pairs: int | None = None) -> Outcome:
    """Return a min-cost max-flow assignment of the whole candidate network, exactly."""
    if first_pairs is None:
        first_pairs = FIRST_PAIRS
    active = [r for r, pairs in enumerate(c.pairs) if pairs]
    if not active:
        return Outcome({}, 0, 0)
    subset: dict[int, dict] = {}
    for r in active:
        arcs = subset[r] = {}
        for _, li, base in c.pairs[r][:first_pairs]:
            for position, day, score in c.pair_arcs(r, li, base):
                arcs[(li, position)] = (day, score)
    rounds = 0
    while True:
        rounds += 1
        net = _layout(c, active, subset)
        if solver == "ortools":
            flows = _flows_ortools(net, len(active))
        else:
            flows = _flows_networkx(net, len(active))
        if not _price(c, active, subset, net, potentials(net, flows), first_pairs):
            break
    chosen = {r: (li, pos) for r, li, pos, edge in net.arc_edge if flows[edge] > 0}
    return Outcome(chosen, len(net.arc_edge), rounds)
