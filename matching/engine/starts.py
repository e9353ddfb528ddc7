"""Which starts a listener and a request allow: the time rules' set forms, applied.

A round (solver.py) and ``free_times`` read starts from here, so a proposal and a
free time offered to a coordinator obey the same rules, both taken from ``RULES``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime, timedelta

from matching.engine.model import Listener, Params, Request
from matching.engine.rule_kinds import (
    LISTENER,
    PRACTITIONER,
    ROUND,
    FreeStarts,
    Funnel,
    LimitRule,
    Rule,
    free_starts,
)
from matching.engine.rules import RULES, active_rules
from matching.engine.slots import block_starts, bounds, instant, seconds, zone

# Without the horizon, free_times looks this many days ahead.
SEARCH_DAYS = 56


def listener_blocks(
    listener: Listener,
    params: Params,
    lo: datetime,
    hi: datetime,
    rules: Sequence[Rule] = RULES,
) -> Iterator[tuple[int, date]]:
    """Yield (start in seconds, local date) of the listener's blocks between lo and hi.

    Only the blocks that every time rule of the listener and of the round allows;
    limit rules are left to the caller, which counts them per day and week.
    """
    free = free_starts(rules, (LISTENER, ROUND), None, listener, params, lo, hi)
    tz = zone(listener.timezone)
    for start in block_starts(listener.windows, listener.timezone, params, lo, hi):
        moment = seconds(start)
        if free.allows(moment):
            yield moment, start.astimezone(tz).date()


def request_free(
    request: Request,
    params: Params,
    lo: datetime,
    hi: datetime,
    rules: Sequence[Rule] = RULES,
) -> FreeStarts:
    """Return the starts between lo and hi that every time rule of the practitioner allows."""
    return free_starts(rules, (PRACTITIONER,), request, None, params, lo, hi)


def free_times(
    request: Request,
    listener: Listener,
    params: Params,
    *,
    limit: int = 10,
    after: datetime | None = None,
    enforce_horizon: bool = True,
    search_days: int = SEARCH_DAYS,
) -> tuple[datetime, ...]:
    """Return the earliest starts at which this pair may meet, at most ``limit`` of them.

    Starts lie on the listener's block grid and pass every hard rule for both people
    (each one on its own: two of them may not both fit a daily limit). With ``after``,
    only starts strictly after it. Without the horizon, the search reaches
    ``search_days`` days past ``after`` (or now).
    """
    rules = active_rules(enforce_horizon=enforce_horizon)
    if limit <= 0 or not Funnel(rules, [listener], params).fit(request):
        return ()
    lo = params.now if after is None else max(params.now, after)
    hi = bounds(params)[1] if enforce_horizon else lo + timedelta(days=search_days)
    if hi <= lo:
        return ()
    free = request_free(request, params, lo, hi, rules)
    limits = [rule for rule in rules if isinstance(rule, LimitRule)]
    used = [rule.used(listener) for rule in limits]
    first = -1 if after is None else seconds(after)
    found: list[datetime] = []
    for moment, day in listener_blocks(listener, params, lo, hi, rules):
        if moment <= first or not free.allows(moment):
            continue
        if any(rule.left(listener, n, day) <= 0 for rule, n in zip(limits, used, strict=True)):
            continue
        found.append(instant(moment))
        if len(found) == limit:
            break
    return tuple(found)
