"""Candidate (request, listener, start) arcs from bitsets over one shared time grid.

Every distinct block start of every listener gets a position on one grid, sorted by
time. A listener's free block starts are one integer (bit i set: the listener may start
at grid[i]); a request's free starts are another (bit i set: a session starting at
grid[i] lies inside the request's availability and clear of its time off and booked
sessions). The shared starts of a pair are then a single AND, and its arcs come from
walking the set bits from the lowest (the earliest start) up.

Score parts fixed for a pair (field, topics, continuity, urgency) are computed once per
pair, earliness once per (urgency, grid position) and load once per listener-week.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from operator import itemgetter

from matching.engine.model import Listener, Params, Request
from matching.engine.scoring import (
    EARLINESS_DAYS,
    GOOD_RATING,
    earliness_points,
    load_points,
    topic_share_points,
    urgency_points,
)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
URGENCY_KEYS = ("routine", *EARLINESS_DAYS)


def urgency_key(urgency: str) -> str:
    """Return the earliness class of an urgency (unknown levels decay like routine)."""
    return urgency if urgency in EARLINESS_DAYS else "routine"


def span_mask(first: int, last: int) -> int:
    """Return an integer with bits first..last-1 set."""
    if last <= first:
        return 0
    return ((1 << (last - first)) - 1) << first


@dataclass
class Candidates:
    """Bitsets and score tables from which the arcs of any pair are produced on demand."""

    grid: list[int]  # block starts in seconds, sorted and distinct
    earliness: dict[str, list[int]]  # urgency class -> points per grid position
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
    # Per listener, per urgency class in URGENCY_KEYS order: the highest earliness plus
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
    request_intervals: Sequence[Sequence[tuple[int, int]]],
    request_blocked: Sequence[Sequence[tuple[int, int]]],
    fit: Sequence[Sequence[int]],
) -> Candidates:
    """Return the candidate tables of a round.

    ``starts[li]`` are listener li's free block starts (seconds, sorted) within its caps,
    ``slot_days[li]`` their day node ids; ``request_intervals[r]`` are the request's
    available ranges and ``request_blocked[r]`` ranges (lo, hi) in which no session may
    start (lo < start < hi); ``fit[r]`` lists the listeners that pass the profile rules.
    """
    grid = sorted({s for row in starts for s in row})
    where = {s: i for i, s in enumerate(grid)}
    earliness = {}
    for key in URGENCY_KEYS:
        probe = Request(0, 0, "UTC", "", "", frozenset(), frozenset(), urgency=key)
        earliness[key] = [earliness_points(probe, _instant(s), params) for s in grid]

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
                for u in URGENCY_KEYS
            ]
        )
    session = params.session_minutes * 60
    weights = params.weights
    topic_bit: dict[str, int] = {}
    for lis in listeners:
        for topic in lis.topics:
            topic_bit.setdefault(topic, 1 << len(topic_bit))
    listener_topics = [sum(topic_bit[t] for t in lis.topics) for lis in listeners]
    listener_fields = [frozenset(f.casefold().strip() for f in lis.fields) for lis in listeners]
    listener_ids = [lis.id for lis in listeners]

    for r, request in enumerate(requests):
        mask = 0
        for lo, hi in request_intervals[r]:
            mask |= span_mask(bisect_left(grid, lo), bisect_right(grid, hi - session))
        for lo, hi in request_blocked[r]:
            mask &= ~span_mask(bisect_right(grid, lo), bisect_left(grid, hi))
        urgency = urgency_key(request.urgency)
        c.request_mask.append(mask)
        c.request_urgency.append(urgency)
        found: list[tuple[int, int, int]] = []
        c.pairs.append(found)
        if not mask:
            continue
        wanted = request.field.casefold().strip()
        field_points = weights.field if wanted else 0
        asked = len(request.topics)
        topic_table = [topic_share_points(k, asked, params) for k in range(asked + 1)]
        topics = sum(topic_bit.get(t, 0) for t in request.topics)
        well_rated = {lid for lid, rating in request.past_ratings if rating >= GOOD_RATING}
        continuity = weights.continuity
        urgent = urgency_points(request, params)
        early = earliness[urgency]
        for li in sorted(fit[r]):
            shared = mask & listener_mask[li]
            if not shared:
                continue
            base = urgent + topic_table[(topics & listener_topics[li]).bit_count()]
            if field_points and wanted in listener_fields[li]:
                base += field_points
            if well_rated and listener_ids[li] in well_rated:
                base += continuity
            first = (shared & -shared).bit_length() - 1
            found.append((base + early[first] + most_load[li], li, base))
        # Listeners come in ascending order and the sort is stable (reverse included),
        # so ties on the bound keep the lower listener index first.
        found.sort(key=itemgetter(0), reverse=True)
    return c


def _instant(seconds: int) -> datetime:
    return EPOCH + timedelta(seconds=seconds)
