"""The hard rules, each defined once: a (request, listener, start) is a candidate only if
every rule in ``RULES`` holds.

Every place that enforces a hard rule reads it from here: the funnel of listeners who
fit a request, the free starts of each listener and request, the day and week levels
of the flow network, ``check_slot``, ``free_times`` and the diagnosis of unmatched
requests. rule_kinds.py says what each kind of rule offers; README.md ("How to add a
hard rule") shows how to add one.

Overriding: a coordinator pairing people by hand may override, with a note, a rule
marked ``overridable`` (POST /api/v1/pairings). Never overridable: overlap or
buffer with either person's sessions, time off, a paused, unverified or inactive
listener, expired training, the same organisation, a do-not-match wish and the
request's excluded listeners (a practitioner who asked for another listener, or a
coordinator's "never again", is a person's explicit no, like do-not-match).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from functools import lru_cache

from matching.engine.model import Interval, Listener, Params, Request
from matching.engine.reasons import languages_text, modalities_text
from matching.engine.rule_kinds import (
    LISTENER,
    PRACTITIONER,
    ROUND,
    LimitRule,
    ListenerRule,
    PairRule,
    Person,
    Rule,
    StartRule,
    WindowRule,
    local_day,
)
from matching.engine.slots import ONE_DAY, bounds, clashes, resolve, zone

# Legal-form words dropped when comparing organisations, so "Northside Clinic Ltd."
# and "northside clinic" count as the same employer. Deliberately short: a missed
# suffix only means a conflict of interest that the coordinator still sees.
ORGANIZATION_SUFFIXES = frozenset(
    {"inc", "incorporated", "ltd", "limited", "llc", "llp", "plc", "gmbh", "ag", "ev",
     "co", "corp", "corporation", "company", "sa", "sas", "srl", "bv", "nv", "ggmbh"}
)  # fmt: skip

NO_LISTENER_READY = "no verified listener is available right now"
EXCLUDED_TEXT = "the only listeners who fit are excluded for this request"
TICK = timedelta(microseconds=1)


@lru_cache(maxsize=4096)
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


def iso_week(day: date) -> tuple[int, int]:
    """Return the ISO (year, week) of a date (weeks run Monday-Sunday)."""
    year, week, _ = day.isocalendar()
    return year, week


def local_week(moment: datetime, timezone: str) -> tuple[int, int]:
    """Return the local ISO (year, week) of an instant in a zone."""
    return iso_week(local_day(moment, timezone))


def _session(params: Params) -> timedelta:
    return timedelta(minutes=params.session_minutes)


def _buffer(params: Params) -> timedelta:
    return timedelta(minutes=params.buffer_minutes)


# --- The listener may be matched at all -----------------------------------------

LISTENER_STATUS = ListenerRule(
    code="listener_status",
    message="the listener is not verified or not active",
    overridable=False,
    diagnosis=NO_LISTENER_READY,
    fails=lambda listener, params: not (listener.active and listener.verified),
)
PAUSED = ListenerRule(
    code="paused",
    message="the listener has paused matching",
    overridable=False,
    diagnosis=NO_LISTENER_READY,
    fails=lambda listener, params: (
        listener.paused_until is not None and listener.paused_until > params.now
    ),
)


def training_end(listener: Listener) -> datetime | None:
    """Return the first instant after the listener's last day of valid training, local.

    None when no training is recorded.
    """
    if listener.training_valid_until is None:
        return None
    return resolve(listener.training_valid_until + ONE_DAY, time(0), zone(listener.timezone))


def _training_closed(listener: Listener, params: Params) -> bool:
    end = training_end(listener)
    return end is None or params.now >= end


def _after_training(listener: Person | None, start: datetime, end: datetime, params) -> bool:
    return _training_closed(listener, params) or start >= training_end(listener)


def _after_training_ranges(listener: Person | None, params: Params, lo, hi):
    if _training_closed(listener, params):
        return [(None, None)]
    return [(training_end(listener) - TICK, None)]


# Valid through the listener's local date ``training_valid_until``. A listener whose
# training has already expired is shut out of the round, like an unverified one.
TRAINING = StartRule(
    code="training",
    message="the listener's training expires before then",
    overridable=False,
    diagnosis=NO_LISTENER_READY,
    side=LISTENER,
    refuses=_after_training,
    refused=_after_training_ranges,
    closed=_training_closed,
)

# --- The pair fits ----------------------------------------------------------------

LANGUAGE = PairRule(
    code="language",
    message="no shared language",
    overridable=True,
    diagnosis=lambda request, params: (
        f"no verified listener speaks {languages_text(request.languages, 'or')}"
    ),
    listener_keys=lambda listener: listener.languages,
    request_keys=lambda request: request.languages,
    share=True,
)
MODALITY = PairRule(
    code="modality",
    message="no shared way to meet",
    overridable=True,
    diagnosis=lambda request, params: (
        f"no listener who speaks {languages_text(request.languages, 'or')} offers "
        f"{modalities_text(request.modalities)}"
    ),
    listener_keys=lambda listener: listener.modalities,
    request_keys=lambda request: request.modalities,
    share=True,
)
ORGANIZATION = PairRule(
    code="organization",
    message="both work for the same organisation",
    overridable=False,
    diagnosis="only listeners from your own organisation fit",
    listener_keys=lambda listener: (normalize_organization(listener.organization),),
    request_keys=lambda request: (normalize_organization(request.organization),),
    share=False,
)
# Either side's list: the practitioner's holds listener ids, the listener's holds
# practitioner ids, so keys carry which side they name.
DO_NOT_MATCH = PairRule(
    code="do_not_match",
    message="one of them asked not to be matched with the other",
    overridable=False,
    diagnosis=EXCLUDED_TEXT,
    listener_keys=lambda listener: (
        ("listener", listener.id),
        *(("practitioner", pid) for pid in listener.do_not_match),
    ),
    request_keys=lambda request: (
        ("practitioner", request.practitioner_id),
        *(("listener", lid) for lid in request.do_not_match),
    ),
    share=False,
)
# Listeners this request declined, or a coordinator rejected "never again".
EXCLUDED = PairRule(
    code="excluded",
    message="this pair is excluded for this request",
    overridable=False,
    diagnosis=EXCLUDED_TEXT,
    listener_keys=lambda listener: (listener.id,),
    request_keys=lambda request: request.excluded_listeners,
    share=False,
)
GENDER = PairRule(
    code="gender",
    message="a stated preference about the listener is not met",
    overridable=True,
    diagnosis="a stated preference about the listener could not be met",
    listener_keys=lambda listener: (listener.gender,),
    request_keys=lambda request: (
        (request.listener_gender,) if request.listener_gender_required else None
    ),
    share=True,
)

# --- The time suits the round and both people -------------------------------------

NOTICE = StartRule(
    code="notice",
    message=lambda params: f"less than {params.min_notice_hours} hours from now",
    overridable=True,
    side=ROUND,
    refuses=lambda _, start, end, params: start < bounds(params)[0],
    refused=lambda _, params, lo, hi: [(None, bounds(params)[0])],
)
HORIZON = StartRule(
    code="horizon",
    message=lambda params: f"more than {params.horizon_days} days ahead",
    overridable=True,
    side=ROUND,
    refuses=lambda _, start, end, params: end > bounds(params)[1],
    refused=lambda _, params, lo, hi: [(bounds(params)[1] - _session(params), None)],
)
OUTSIDE_LISTENER_TIMES = WindowRule(
    code="outside_listener_times",
    message="outside the listener's available times",
    overridable=True,
    side=LISTENER,
)
OUTSIDE_PRACTITIONER_TIMES = WindowRule(
    code="outside_practitioner_times",
    message="outside the practitioner's available times",
    overridable=True,
    side=PRACTITIONER,
)


def _on_time_off(person: Person | None, start: datetime, end: datetime, params) -> bool:
    return any(clashes(start, end, off, timedelta(0)) for off in person.time_off)


def _time_off_ranges(person: Person | None, params: Params, lo, hi):
    return [(off.start - _session(params), off.end) for off in person.time_off]


LISTENER_TIME_OFF = StartRule(
    code="listener_time_off",
    message="the listener has time off then",
    overridable=False,
    side=LISTENER,
    refuses=_on_time_off,
    refused=_time_off_ranges,
)
PRACTITIONER_TIME_OFF = StartRule(
    code="practitioner_time_off",
    message="the practitioner has time off then",
    overridable=False,
    side=PRACTITIONER,
    refuses=_on_time_off,
    refused=_time_off_ranges,
)


# Sessions booked, proposals pending and other holds (workshop seats) block their time
# and the buffer around it; only sessions count against the limits (LimitRule).
def _busy(person: Person) -> tuple[Interval, ...]:
    return person.booked + person.held


def _too_close(person: Person | None, start: datetime, end: datetime, params) -> bool:
    return any(clashes(start, end, busy, _buffer(params)) for busy in _busy(person))


def _too_close_ranges(person: Person | None, params: Params, lo, hi):
    session, buffer = _session(params), _buffer(params)
    return [(busy.start - session - buffer, busy.end + buffer) for busy in _busy(person)]


LISTENER_BUSY = StartRule(
    code="listener_busy",
    message="too close to another session of the listener",
    overridable=False,
    side=LISTENER,
    refuses=_too_close,
    refused=_too_close_ranges,
)
PRACTITIONER_BUSY = StartRule(
    code="practitioner_busy",
    message="too close to another session of the practitioner",
    overridable=False,
    side=PRACTITIONER,
    refuses=_too_close,
    refused=_too_close_ranges,
)

# --- The listener's limits, counted in the listener's own zone ----------------------

DAILY_LIMIT = LimitRule(
    code="daily_limit",
    message="the listener has reached the daily limit on that day",
    overridable=True,
    adjective="daily",
    period=lambda day: day,
    limit=lambda listener: listener.max_per_day,
)
WEEKLY_LIMIT = LimitRule(
    code="weekly_limit",
    message="the listener has reached the weekly limit in that week",
    overridable=True,
    adjective="weekly",
    period=iso_week,
    limit=lambda listener: listener.max_per_week,
)

# The registry. Its order is the order of check_slot's codes and of the funnel, whose
# first rule to leave a request no listener names the diagnosis.
RULES: tuple[Rule, ...] = (
    LISTENER_STATUS,
    PAUSED,
    TRAINING,
    LANGUAGE,
    MODALITY,
    ORGANIZATION,
    DO_NOT_MATCH,
    EXCLUDED,
    GENDER,
    NOTICE,
    HORIZON,
    OUTSIDE_LISTENER_TIMES,
    OUTSIDE_PRACTITIONER_TIMES,
    LISTENER_TIME_OFF,
    PRACTITIONER_TIME_OFF,
    LISTENER_BUSY,
    PRACTITIONER_BUSY,
    DAILY_LIMIT,
    WEEKLY_LIMIT,
)
RULES_BY_CODE: dict[str, Rule] = {rule.code: rule for rule in RULES}
if len(RULES_BY_CODE) != len(RULES):
    raise RuntimeError("two hard rules share a code")


def active_rules(*, enforce_horizon: bool = True) -> tuple[Rule, ...]:
    """Return the registry, without the horizon when it is not enforced."""
    return RULES if enforce_horizon else tuple(r for r in RULES if r is not HORIZON)


def check_slot(
    request: Request,
    listener: Listener,
    start: datetime,
    params: Params,
    *,
    enforce_horizon: bool = True,
) -> tuple[str, ...]:
    """Return the codes of the hard rules this pair breaks by meeting at ``start``.

    Empty: allowed. Codes come in registry order; ``messages`` turns them into
    sentences for a person. The start need not lie on the block grid (a reschedule
    picks any time), but the session must lie inside both people's availability.
    Sessions in ``booked`` block time and count against the limits, so a caller
    re-checking a pending proposal must leave that proposal out of both people's
    ``booked``.
    """
    broken = broken_rules(request, listener, start, params, enforce_horizon=enforce_horizon)
    return tuple(rule.code for rule in broken)


def broken_rules(
    request: Request,
    listener: Listener,
    start: datetime,
    params: Params,
    *,
    enforce_horizon: bool = True,
) -> tuple[Rule, ...]:
    """Return every hard rule this pair breaks by meeting at ``start``, in registry order.

    Not only the first: a coordinator pairing people by hand sees each rule a time
    breaks, with its message and whether it may be overridden.
    """
    return tuple(
        rule
        for rule in active_rules(enforce_horizon=enforce_horizon)
        if rule.breaks(request, listener, start, params)
    )


def messages(codes: Iterable[str], params: Params) -> tuple[str, ...]:
    """Return the sentence for a person of each rule code, in the order given."""
    return tuple(RULES_BY_CODE[code].text(params) for code in codes)


def explain(codes: Iterable[str], params: Params) -> str:
    """Return the sentences of some rule codes joined into one: "a; b; c"."""
    return "; ".join(messages(codes, params))
