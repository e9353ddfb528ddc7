"""Solve the candidate network exactly without building all of it (column generation).

The network is the solver module's: source -> request (cap 1) -> (listener, slot)
(cap 1, cost 100 - score) -> (listener, day) -> (listener, week) -> sink (one arc
per distinct load step, costs never falling, all at least 0), plus the bypass
source -> sink of cost BIG for requests left unmatched. Only the request arcs
are many; this module solves the min-cost flow on a subset of them and proves that
the answer is optimal for all of them.

0. Split the requests into connected components (requests joined by shared
   listeners); components share no node but the source and sink, so each is solved
   alone, one after another, and the flows add up.
1. Start with every arc of each request's few most promising listeners.
2. Solve the min-cost flow on the subset (networkx network simplex or OR-Tools).
3. Compute node potentials d: shortest distances in the residual network from a
   virtual root joined to every node by an arc of cost 0. The subset's flow is
   optimal, so the residual network has no negative cycle and every residual arc
   u -> v of cost c has reduced cost c + d(u) - d(v) >= 0.
4. Price every arc left out: request r -> head of cost c has reduced cost
   c + d(r) - d(head). A head that is not in the subset's network gets the smallest
   potential that keeps its own outgoing arc (cost 0, no flow) non-negative: a slot
   node takes its day's potential, a day node its week's, a week node the sink's
   (its arcs to the sink cost at least 0).
   Nodes reached only through arcs left out carry no flow, so with these potentials
   every arc of the whole network has a non-negative reduced cost once no omitted arc
   prices below zero. The subset's flow is then a feasible flow of the whole network
   with a dual certificate, hence optimal for it: same number matched, same total
   score. Otherwise the arcs that price below zero join the subset and it goes back
   to step 2; the subset only grows, so this ends.

Each pair carries a bound at least the score of each of its arcs (pair points +
earliness of its first shared start + its listener's best load). Pricing screens every
pair by its listener's highest head potential and highest potential plus earliness and
load, then by bitsets of the listener's starts, and produces the
arcs only of the pairs that may still price below the margin (see ``_price``).
"""

from __future__ import annotations

from bisect import bisect_right
from collections import deque
from dataclasses import dataclass, field

import networkx as nx

from matching.engine.candidates import Candidates
from matching.engine.scoring import EARLINESS_CLASSES

FIRST_PAIRS = 8  # listeners per request in the first subset
# Arcs that price below zero prove the subset not yet optimal; when that happens the
# arcs within MARGIN of zero join too, which saves rounds that would add them later.
# A wider margin (5) kept the same number of rounds on the benchmarks with far larger
# networks to solve.
MARGIN = 1


@dataclass
class Outcome:
    """What the exact solve found: request index -> (listener index, grid position)."""

    chosen: dict[int, tuple[int, int]]
    arcs: int  # request arcs in the last network solved, summed over components
    rounds: int  # networks solved for the component that needed most
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


def week_arcs(spread: list[int]) -> list[tuple[int, int]]:
    """Return a week's arcs to the sink as (capacity, cost), one per distinct cost.

    ``spread[i]`` is what the week's (i+1)-th session of the round costs (see
    ``scoring.spread_costs``); it never falls, so equal neighbours share one arc and
    the flow takes the cheaper arcs first.
    """
    arcs: list[tuple[int, int]] = []
    for cost in spread:
        if arcs and arcs[-1][1] == cost:
            arcs[-1] = (arcs[-1][0] + 1, cost)
        else:
            arcs.append((1, cost))
    return arcs


def _layout(c: Candidates, active: list[int], subset: dict[int, dict]) -> _Layout:
    net = _Layout()
    n = len(active)
    net.edge(SOURCE, SINK, n, 100 * n + 1)
    for r in active:
        net.request_node[r] = node = net.node()
        net.edge(SOURCE, node, 1, 0)
    _extend(
        c,
        net,
        [(r, key, *subset[r][key]) for r in active for key in sorted(subset[r])],
    )
    return net


def _extend(c: Candidates, net: _Layout, arcs: list[tuple[int, tuple[int, int], int, int]]):
    """Append request arcs (request, (listener, position), day, score) to the network.

    Nodes and edges already laid out keep their numbers, so a round's network is the
    last one plus the arcs that pricing added, in the order it added them.
    """
    for r, key, day, score in arcs:
        li = key[0]
        day_node = net.day_node.get(day)
        if day_node is None:
            week = c.day_week[day]
            week_node = net.week_node.get(week)
            if week_node is None:
                net.week_node[week] = week_node = net.node()
                net.owner.append((week_node, li))
                for cap, cost in week_arcs(c.week_spread[week]):
                    net.edge(week_node, SINK, cap, cost)
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
        edge = net.edge(net.request_node[r], head, 1, 100 - score)
        net.arc_edge.append((r, li, key[1], edge))


def _flows_networkx(net: _Layout, supply: int) -> list[int]:
    # A multigraph: a week may have several arcs to the sink, keyed by edge number.
    graph = nx.MultiDiGraph()
    graph.add_nodes_from(range(net.n_nodes))
    graph.add_edges_from(
        (t, h, e, {"capacity": cap, "weight": cost})
        for e, (t, h, cap, cost) in enumerate(
            zip(net.tails, net.heads, net.caps, net.costs, strict=True)
        )
    )
    graph.nodes[SOURCE]["demand"] = -supply
    graph.nodes[SINK]["demand"] = supply
    _, flow = nx.network_simplex(graph)
    return [flow[t][h][e] for e, (t, h) in enumerate(zip(net.tails, net.heads, strict=True))]


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

    The flow must be optimal (no negative residual cycle). Queue-based Bellman-Ford:
    at most nodes x arcs relaxations. (An array version with numpy gained at most 10 %
    on the benchmark and sometimes lost, so the engine keeps this one path.)
    """
    # Residual arcs grouped by tail in flat lists (``first[u]`` to ``first[u + 1]``):
    # a few long lists rather than a list per node, which keeps the garbage collector,
    # busy with the round's millions of objects, out of the way.
    n = net.n_nodes
    tails, heads, caps, costs = net.tails, net.heads, net.caps, net.costs
    first = [0] * (n + 1)
    for t, h, cap, flow in zip(tails, heads, caps, flows, strict=True):
        if flow < cap:
            first[t + 1] += 1
        if flow > 0:
            first[h + 1] += 1
    for u in range(n):
        first[u + 1] += first[u]
    fill = first[:n]
    to = [0] * first[n]
    price = [0] * first[n]
    for t, h, cap, cost, flow in zip(tails, heads, caps, costs, flows, strict=True):
        if flow < cap:
            k = fill[t]
            to[k], price[k] = h, cost
            fill[t] = k + 1
        if flow > 0:
            k = fill[h]
            to[k], price[k] = t, -cost
            fill[h] = k + 1
    dist = [0] * n
    waiting = [True] * n
    # The sink first: its arc back to the source (the bypass) lowers the source by BIG
    # at once, and that wave then reaches the requests and slots in their first visit.
    queue = deque([SINK, SOURCE, *range(2, n)])
    budget = n * (len(tails) + 1)
    while queue:
        u = queue.popleft()
        waiting[u] = False
        du = dist[u]
        lo, hi = first[u], first[u + 1]
        for v, cost in zip(to[lo:hi], price[lo:hi], strict=True):
            reached = du + cost
            if reached < dist[v]:
                dist[v] = reached
                if not waiting[v]:
                    waiting[v] = True
                    queue.append(v)
        budget -= 1
        if budget < 0:
            raise RuntimeError("the residual network has a negative cycle")
    return dist


def _suffix_levels(by_key: dict[int, int]) -> tuple[list[int], list[int]]:
    """Return the keys ascending and, per key, the OR of the masks of keys at least it."""
    keys = sorted(by_key)
    masks = [by_key[k] for k in keys]
    for k in range(len(masks) - 2, -1, -1):
        masks[k] |= masks[k + 1]
    return keys, masks


def _exceeds(levels: tuple[list[int], list[int]], free: int, threshold: int) -> bool:
    """Tell whether a start in ``free`` has a key above ``threshold``."""
    keys, masks = levels
    k = bisect_right(keys, threshold)
    return k < len(keys) and bool(free & masks[k])


def _head_levels(c: Candidates, net: _Layout, dist: list[int], urgencies: set[str]):
    """Return, per listener, the bitsets of its starts by head potential and by arc key.

    A start's head is its slot node when its day admits more than one session and the
    node exists, else its day node, else its week node, else the sink (step 4); p is
    that head's potential. Per listener: levels of p, and per earliness class levels of
    p + earliness + load, the part of an arc's reduced cost that depends on the start.
    None stands for a listener with no node in the network: every p is the sink's.
    """
    sink = dist[SINK]
    day_node, week_node, slot_node = net.day_node, net.week_node, net.slot_node
    day_cap, day_week, week_load = c.day_cap, c.day_week, c.week_load
    present: set[int] = {li for _, li in net.owner}
    levels: list = [None] * len(c.listener_mask)
    for li in present:
        by_potential: dict[int, int] = {}
        by_key: dict[str, dict[int, int]] = {u: {} for u in urgencies}
        for position, day in c.slot_day[li].items():
            node = slot_node.get((li, position)) if day_cap[day] > 1 else None
            if node is None:
                node = day_node.get(day)
            if node is None:
                node = week_node.get(day_week[day])
            d = sink if node is None else dist[node]
            bit = 1 << position
            by_potential[d] = by_potential.get(d, 0) | bit
            d += week_load[day_week[day]]
            for u, keyed in by_key.items():
                key = d + c.earliness[u][position]
                keyed[key] = keyed.get(key, 0) | bit
        levels[li] = (
            _suffix_levels(by_potential),
            {u: _suffix_levels(keyed) for u, keyed in by_key.items()},
        )
    return levels


class _PairTable:
    """Every pair of the active requests, flat in pricing order, for screening a round.

    A pair is screened out by two tests on its listener alone, sound for the same
    reasons as in ``_price``: with L = 100 + d(r) - MARGIN, its arcs can price below
    MARGIN only if bound + P > L and (P > L or K_u + b > L), where P is the highest
    head potential among the listener's starts and K_u the highest p + e(t) for the
    request's earliness class u.

    A request's pairs come in falling order of bound, and P is at most the highest P of
    any listener, so the first test fails for every pair after the first that fails it
    with that highest P: the screen stops there and goes to the next request. When L is
    below the lowest P and the lowest bound plus the lowest P is above L (a request the
    bypass carries has a very low d(r)), every pair of the request passes both tests.
    """

    def __init__(self, c: Candidates, active: list[int], skip: int):
        self.segments: list[tuple[int, int, int]] = []  # request, first and end index
        self.request: list[int] = []
        self.rank: list[int] = []
        self.listener: list[int] = []
        self.points: list[int] = []
        self.bound: list[int] = []
        self.urgency: list[int] = []
        column = {u: k for k, u in enumerate(EARLINESS_CLASSES)}
        for r in active:
            rest = c.pairs[r][skip:]
            if not rest:
                continue
            first = len(self.request)
            self.segments.append((r, first, first + len(rest)))
            bounds, listeners, points = zip(*rest, strict=True)
            self.request.extend([r] * len(rest))
            self.rank.extend(range(skip, skip + len(rest)))
            self.listener.extend(listeners)
            self.points.extend(points)
            self.bound.extend(bounds)
            self.urgency.extend([column[c.request_urgency[r]]] * len(rest))
        # Pairs whose kept arcs have all joined the subset: nothing of theirs is left
        # out, so later rounds skip them (the subset only grows).
        self.complete: set[int] = set()

    def screen(self, d_request: list[int], top: list[int], top_key: list[list[int]]) -> list[int]:
        """Return the flat indexes of the pairs that pass both tests, in order.

        ``d_request[r]`` is d(r), ``top[li]`` is P and ``top_key[li][u]`` is K_u.
        """
        found = []
        highest, lowest = max(top, default=0), min(top, default=0)
        listener, points, bound, urgency = self.listener, self.points, self.bound, self.urgency
        for r, first, end in self.segments:
            limit = d_request[r] + 100 - MARGIN
            if limit < lowest and bound[end - 1] + lowest > limit:
                found.extend(range(first, end))  # every pair passes both tests
                continue
            for i in range(first, end):
                b = bound[i]
                if b + highest <= limit:
                    break
                li = listener[i]
                head = top[li]
                if b + head > limit and (
                    head > limit or top_key[li][urgency[i]] + points[i] > limit
                ):
                    found.append(i)
        return found


def _price(
    c: Candidates, active, subset, net: _Layout, dist: list[int], table: _PairTable
) -> tuple[int, list]:
    """Return how many omitted arcs price below zero and those that price below MARGIN.

    The arcs returned, (request, (listener, position), day, score) in pricing order,
    have joined ``subset``.

    An arc r -> head at start t of pair points b prices at 100 - s + d(r) - p, where p is
    the head's potential and s = min(100, max(0, b + e(t))) its score, e(t) being the
    earliness and load of t. With L = 100 + d(r) - MARGIN, the arc prices below MARGIN
    only if p + max(0, b + e(t)) > L (s is at most max(0, b + e(t))), that is only if
    p > L or p + e(t) > L - b; and only if p + bound > L, the pair's bound being at
    least each of its scores. ``_PairTable.screen`` drops the pairs for which this
    fails at every start of the listener. ``_head_levels`` gives, per listener, the
    starts with p above any threshold and those with p + e(t) above any threshold as
    bitsets; when neither shares a bit with the request's free starts, no arc of the
    pair (its kept arcs start at some of those) can price below MARGIN, and the pair
    is skipped without producing its arcs.

    The pairs wholly in the first subset are not in the table, and a pair whose arcs
    have all joined the subset is not produced again.
    """
    urgencies = {c.request_urgency[r] for r in active}
    levels = _head_levels(c, net, dist, urgencies)
    sink = dist[SINK]
    top = [sink] * len(c.listener_mask)
    top_key = [[sink + e for e in row] for row in c.listener_top]
    for li, level in enumerate(levels):
        if level is not None:
            top[li] = level[0][0][-1]
            keyed = level[1]
            top_key[li] = [keyed[u][0][-1] if u in keyed else top[li] for u in EARLINESS_CLASSES]
    d_request = [0] * len(c.pairs)
    for r in active:
        d_request[r] = dist[net.request_node[r]]
    negative = 0
    day_cap, day_week = c.day_cap, c.day_week
    slot_node, day_node, week_node = net.slot_node, net.day_node, net.week_node
    complete = table.complete
    added: list[tuple[int, tuple[int, int], int, int]] = []
    for i in table.screen(d_request, top, top_key):
        if i in complete:
            continue
        r = table.request[i]
        _, li, base = c.pairs[r][table.rank[i]]
        d_r = d_request[r]
        limit = 100 + d_r - MARGIN
        level = levels[li]
        if level is not None:
            urgency = c.request_urgency[r]
            free = c.request_mask[r]
            if not _exceeds(level[0], free, limit) and not _exceeds(
                level[1][urgency], free, limit - base
            ):
                continue
        arcs = subset[r]
        found = 0
        whole = True
        for position, day, score in c.pair_arcs(r, li, base):
            key = (li, position)
            if key in arcs:
                continue
            node = slot_node.get(key) if day_cap[day] > 1 else None
            if node is None:
                node = day_node.get(day)
            if node is None:
                node = week_node.get(day_week[day])
            reduced = 100 - score + d_r - (sink if node is None else dist[node])
            if reduced < MARGIN:
                arcs[key] = (day, score)
                added.append((r, key, day, score))
                found += reduced < 0
            else:
                whole = False
        if whole:
            complete.add(i)
        negative += found
    return negative, added


def components(c: Candidates, active: list[int]) -> list[list[int]]:
    """Group the active requests by the connected components of their pairs.

    Two requests are in one component when a chain of shared listeners joins them. No
    arc, day or week node is shared between components, so the min-cost flow of the
    whole network is the sum of the components' flows and each is solved on its own.
    Components come in the order of their lowest request index, requests ascending.
    """
    parent = list(range(len(c.pairs)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    first_request: dict[int, int] = {}  # listener index -> a request it pairs with
    for r in active:
        for _, li, _ in c.pairs[r]:
            other = first_request.setdefault(li, r)
            if other == r:
                continue
            a, b = find(r), find(other)
            if a != b:
                parent[max(a, b)] = min(a, b)
    groups: dict[int, list[int]] = {}
    for r in active:
        groups.setdefault(find(r), []).append(r)
    return [groups[root] for root in sorted(groups)]


def solve(c: Candidates, solver: str, first_pairs: int | None = None) -> Outcome:
    """Return a min-cost max-flow assignment of the whole candidate network, exactly."""
    if first_pairs is None:
        first_pairs = FIRST_PAIRS
    active = [r for r, pairs in enumerate(c.pairs) if pairs]
    outcome = Outcome({}, 0, 0, {"components": 0})
    for part in components(c, active):
        chosen, arcs, rounds = _solve_component(c, part, solver, first_pairs)
        outcome.chosen.update(chosen)
        outcome.arcs += arcs
        outcome.rounds = max(outcome.rounds, rounds)
        outcome.stats["components"] += 1
    return outcome


def _solve_component(
    c: Candidates, active: list[int], solver: str, first_pairs: int
) -> tuple[dict[int, tuple[int, int]], int, int]:
    """Column generation on one component: (chosen, request arcs solved last, rounds)."""
    subset: dict[int, dict] = {}
    for r in active:
        arcs = subset[r] = {}
        for _, li, base in c.pairs[r][:first_pairs]:
            for position, day, score in c.pair_arcs(r, li, base):
                arcs[(li, position)] = (day, score)
    table = _PairTable(c, active, first_pairs)
    rounds = 0
    net = _layout(c, active, subset)
    while True:
        rounds += 1
        if solver == "ortools":
            flows = _flows_ortools(net, len(active))
        else:
            flows = _flows_networkx(net, len(active))
        negative, added = _price(c, active, subset, net, potentials(net, flows), table)
        if not negative:
            break
        _extend(c, net, added)
    chosen = {r: (li, pos) for r, li, pos, edge in net.arc_edge if flows[edge] > 0}
    return chosen, len(net.arc_edge), rounds
