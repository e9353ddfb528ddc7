"""Candidate (request, listener, start) arcs from bitsets over one shared time grid.

Every distinct block start of every listener gets a position on one grid, sorted by
time. A listener's free block starts are one integer (bit i set: the listener may start
at grid[i]); a request's free starts are another (bit i set: a session starting at
grid[i] lies inside the request's availability and clear of its time off and booked
sessions). The shared starts of a pair are then a single AND, and its arcs come from
walking the set bits from the lowest (the earliest start) up.

Score parts fixed for a pair (field, topics, continuity, urgency) come from
``scoring.PairPoints``, once per pair; earliness once per (urgency class, grid position)
and load once per listener-week, all from scoring.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from operator import itemgetter

from matching.engine.model import Listener, Params, Request
from matching.engine.rule_kinds import FreeStarts
from matching.engine.scoring import (
    EARLINESS_CLASSES,
    PairPoints,
    earliness_at,
    earliness_class,
    load_points,
)
from matching.engine.slots import instant


@dataclass
class Candidates:
    """Bitsets and score tables from which the arcs of any pair are produced on demand."""

    grid: list[int]  # block starts in seconds, sorted and distinct
    earliness: dict[str, list[int]]  # earliness class -> points per grid position
    listener_mask: list[int]
    slot_day: list[dict[int, int]]  # per listener: grid position -> day node id
    day_mask: list[int]  # per day node: bits of its block starts
    day_cap: list[int]
    day_week: list[int]
    week_cap: list[int]
    week_load: list[int]  # load points per week node
    week_spread: list[list[int]]  # per week node: cost of the round's 1st, 2nd, ... session
    week_listener: list[int]  # listener index per week node
    listener_weeks: list[int]  # week nodes per listener
    request_mask: list[int] = field(default_factory=list)
    request_urgency: list[str] = field(default_factory=list)
    # Per request: (bound, listener index, pair points), highest bound first. The bound
    # is at least the score of every arc of the pair.
    pairs: list[list[tuple[int, int, int]]] = field(default_factory=list)
    # Per listener, per earliness class in EARLINESS_CLASSES order: the highest earliness plus
    # load points among its free starts.
    listener_top: list[list[int]] = field(default_factory=list)

    def pair_arcs(self, r: int, li: int, base: int) -> list[tuple[int, int, int]]:
        """Return the kept arcs (grid position, day node, score) of a pair, earliest first.

        Keeps the first ``day_cap`` starts of each listener-day and the first
        ``week_cap`` days of each listener-week, as the solver's pruning argues.
        """
        m = self.request_mask[r] & self.listener_mask[li]
        slot_day = self.slot_day[li]
        day_cap, day_week, week_cap = self.day_cap, self.day_week, self.week_cap
        earliness = self.earliness[self.request_urgency[r]]
        week_load = self.week_load
        per_day: dict[int, int] = {}
        days_in_week: dict[int, int] = {}
        arcs = []
        while m:
            low = m & -m
            position = low.bit_length() - 1
            day = slot_day[position]
            used = per_day.get(day)
            week = day_week[day]
            if used is None:
                taken = days_in_week.get(week, 0)
                if taken >= week_cap[week]:
                    m &= ~self.day_mask[day]
                    continue
                days_in_week[week] = taken + 1
                used = 0
            used += 1
            per_day[day] = used
            score = base + earliness[position] + week_load[week]
            if score > 100:
                score = 100
            elif score < 0:
                score = 0
            arcs.append((position, day, score))
            if used >= day_cap[day]:
                m &= ~self.day_mask[day]
            else:
                m ^= low
        return arcs


def build_candidates(
    requests: Sequence[Request],
    listeners: Sequence[Listener],
    params: Params,
    *,
    starts: Sequence[Sequence[int]],
    slot_days: Sequence[Sequence[int]],
    day_cap: list[int],
    day_week: list[int],
    week_cap: list[int],
    week_booked: list[int],
    week_spread: list[list[int]],
    request_free: Sequence[FreeStarts],
    fit: Sequence[Sequence[int]],
) -> Candidates:
    """Return the candidate tables of a round.

    ``starts[li]`` are listener li's free block starts (seconds, sorted) within its caps,
    ``slot_days[li]`` their day node ids; ``request_free[r]`` the starts request r
    allows; ``fit[r]`` lists, ascending, the listeners that pass the rules that need no
    start.
    """
    grid = sorted({s for row in starts for s in row})
    where = {s: i for i, s in enumerate(grid)}
    moments = [instant(s) for s in grid]
    earliness = {
        key: [earliness_at(key, moment, params) for moment in moments] for key in EARLINESS_CLASSES
    }

    day_mask = [0] * len(day_cap)
    week_owner: dict[int, int] = {}
    listener_mask = []
    slot_day = []
    for li, row in enumerate(starts):
        mask = 0
        positions = {}
        for s, day in zip(row, slot_days[li], strict=True):
            bit = where[s]
            mask |= 1 << bit
            day_mask[day] |= 1 << bit
            positions[bit] = day
            week_owner.setdefault(day_week[day], li)
        listener_mask.append(mask)
        slot_day.append(positions)
    week_load = [
        load_points(listeners[week_owner[w]], week_booked[w], params) if w in week_owner else 0
        for w in range(len(week_cap))
    ]
    most_load = [0] * len(listeners)
    for week, li in week_owner.items():
        most_load[li] = max(most_load[li], week_load[week])

    week_listener = [week_owner.get(w, -1) for w in range(len(week_cap))]
    listener_weeks = [0] * len(listeners)
    for li in week_owner.values():
        listener_weeks[li] += 1
    c = Candidates(
        grid,
        earliness,
        listener_mask,
        slot_day,
        day_mask,
        day_cap,
        day_week,
        week_cap,
        week_load,
        week_spread,
        week_listener,
        listener_weeks,
    )
    for positions in slot_day:
        c.listener_top.append(
            [
                max(
                    (earliness[u][p] + week_load[day_week[d]] for p, d in positions.items()),
                    default=0,
                )
                for u in EARLINESS_CLASSES
            ]
        )
    scorer = PairPoints(listeners, params)
    for r, request in enumerate(requests):
        mask = request_free[r].mask(grid)
        urgency = earliness_class(request.urgency)
        c.request_mask.append(mask)
        c.request_urgency.append(urgency)
        found: list[tuple[int, int, int]] = []
        c.pairs.append(found)
        if not mask:
            continue
        sharing = [li for li in fit[r] if mask & listener_mask[li]]
        early = earliness[urgency]
        for li, base in zip(sharing, scorer.points(request, sharing), strict=True):
            both = mask & listener_mask[li]
            first = (both & -both).bit_length() - 1
            found.append((base + early[first] + most_load[li], li, base))
        # Listeners come in ascending order and the sort is stable (reverse included),
        # so ties on the bound keep the lower listener index first.
        found.sort(key=itemgetter(0), reverse=True)
    return c
