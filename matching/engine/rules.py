"""The hard rules: a (request, listener, start) is a candidate only if all of them hold.

The rules split in two. Profile rules depend only on the pair (status, language,
modality, conflict of interest, a required gender preference). Time rules depend on
the start: availability of both people, time off, notice, horizon, the buffer around
both people's booked sessions, the listener's training date and the listener's daily
and weekly caps, counted in the listener's own zone.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from datetime import date, datetime, timedelta

from matching.engine.model import Listener, Params, Request
from matching.engine.slots import availability, bounds, clashes, inside_any, zone

# Profile rule codes, in the order a diagnosis walks through them.
STATUS = "status"
LANGUAGE = "language"
MODALITY = "modality"
ORGANIZATION = "organization"
EXCLUDED = "excluded"
GENDER = "gender"
PROFILE_RULES = (STATUS, LANGUAGE, MODALITY, ORGANIZATION, EXCLUDED, GENDER)

# Legal-form words dropped when comparing organisations, so "Northside Clinic Ltd."
# and "northside clinic" count as the same employer. Deliberately short: a missed
# suffix only means a conflict of interest that the coordinator still sees.
ORGANIZATION_SUFFIXES = frozenset(
    {"inc", "incorporated", "ltd", "limited", "llc", "llp", "plc", "gmbh", "ag", "ev",
     "co", "corp", "corporation", "company", "sa", "sas", "srl", "bv", "nv", "ggmbh"}
)  # fmt: skip

PROFILE_TEXT = {
    STATUS: "the listener is not verified, paused, inactive or out of training",
    LANGUAGE: "no shared language",
    MODALITY: "no shared way to meet",
    ORGANIZATION: "both work for the same organisation",
    EXCLUDED: "this pair is excluded for this request",
    GENDER: "a stated preference about the listener is not met",
}


def normalize_organization(name: str) -> str:
    """Return an organisation name reduced for comparison.

    Case-folds, strips accents and punctuation, collapses whitespace and drops
    trailing legal-form words such as "Inc", "Ltd" or "GmbH".
    """
    text = unicodedata.normalize("NFKD", name.casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = re.sub(r"[^\w\s]", " ", text)
    words = text.split()
    while len(words) > 1 and words[-1] in ORGANIZATION_SUFFIXES:
        words.pop()
    return " ".join(words)


def training_valid(listener: Listener, day: date) -> bool:
    """Tell whether the listener's training is valid on a date (no date: not trained)."""
    return listener.training_valid_until is not None and listener.training_valid_until >= day


def listener_ready(listener: Listener, now: datetime) -> bool:
    """Tell whether a listener may be matched at all right now."""
    paused = listener.paused_until is not None and listener.paused_until > now
    today = now.astimezone(zone(listener.timezone)).date()
    return listener.active and listener.verified and not paused and training_valid(listener, today)


def profile_problems(request: Request, listener: Listener, params: Params) -> tuple[str, ...]:
    """Return the codes of the profile rules that this pair breaks, in PROFILE_RULES order."""
    problems = []
    if not listener_ready(listener, params.now):
        problems.append(STATUS)
    if not request.languages & listener.languages:
        problems.append(LANGUAGE)
    if not request.modalities & listener.modalities:
        problems.append(MODALITY)
    if normalize_organization(request.organization) == normalize_organization(
        listener.organization
    ):
        problems.append(ORGANIZATION)
    if (
        listener.id in request.do_not_match
        or listener.id in request.excluded_listeners
        or request.practitioner_id in listener.do_not_match
    ):
        problems.append(EXCLUDED)
    if request.listener_gender_required and request.listener_gender != listener.gender:
        problems.append(GENDER)
    return tuple(problems)


def local_day(instant: datetime, timezone: str) -> date:
    """Return the local date of an instant in a zone."""
    return instant.astimezone(zone(timezone)).date()


def local_week(instant: datetime, timezone: str) -> tuple[int, int]:
    """Return the local ISO (year, week) of an instant in a zone (weeks run Monday-Sunday)."""
    year, week, _ = local_day(instant, timezone).isocalendar()
    return year, week


def booked_counts(listener: Listener) -> tuple[Counter, Counter]:
    """Count the listener's booked sessions per local date and per local ISO week."""
    days: Counter = Counter()
    weeks: Counter = Counter()
    for item in listener.booked:
        days[local_day(item.start, listener.timezone)] += 1
        weeks[local_week(item.start, listener.timezone)] += 1
    return days, weeks


def check_slot(
    request: Request,
    listener: Listener,
    start: datetime,
    params: Params,
    *,
    enforce_horizon: bool = True,
) -> tuple[str, ...]:
    """Return the human reasons why this pair may not meet at ``start`` (empty: allowed).

    The start need not lie on the block grid (a reschedule picks any time), but the
    session must lie inside both people's availability. Sessions in ``booked`` block
    time and count against the caps, so a caller re-checking a pending proposal must
    leave that proposal out of the listener's and practitioner's ``booked``.
    """
    reasons = [PROFILE_TEXT[code] for code in profile_problems(request, listener, params)]
    end = start + timedelta(minutes=params.session_minutes)
    buffer = timedelta(minutes=params.buffer_minutes)
    earliest, horizon_end = bounds(params)
    if start < earliest:
        reasons.append(f"less than {params.min_notice_hours} hours from now")
    if enforce_horizon and end > horizon_end:
        reasons.append(f"more than {params.horizon_days} days ahead")
    margin = timedelta(days=2)
    if not inside_any(
        start, end, availability(listener.windows, listener.timezone, start - margin, end + margin)
    ):
        reasons.append("outside the listener's available times")
    if not inside_any(
        start, end, availability(request.windows, request.timezone, start - margin, end + margin)
    ):
        reasons.append("outside the practitioner's available times")
    if any(clashes(start, end, off, timedelta(0)) for off in listener.time_off):
        reasons.append("the listener has time off then")
    if any(clashes(start, end, off, timedelta(0)) for off in request.time_off):
        reasons.append("the practitioner has time off then")
    if any(clashes(start, end, busy, buffer) for busy in listener.booked):
        reasons.append("too close to another session of the listener")
    if any(clashes(start, end, busy, buffer) for busy in request.booked):
        reasons.append("too close to another session of the practitioner")
    if not training_valid(listener, local_day(start, listener.timezone)):
        reasons.append("the listener's training expires before then")
    days, weeks = booked_counts(listener)
    if days[local_day(start, listener.timezone)] >= listener.max_per_day:
        reasons.append("the listener has reached the daily limit on that day")
    if weeks[local_week(start, listener.timezone)] >= listener.max_per_week:
        reasons.append("the listener has reached the weekly limit in that week")
    return tuple(reasons)
