"""Plain, frozen data that goes into and comes out of the matching step.

Services turn database rows into these and back; the engine never sees a row.
All instants are timezone-aware UTC datetimes; weekly windows are local wall-clock
times in the owner's IANA zone.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date, datetime, time


@dataclass(frozen=True)
class Window:
    """A weekly availability window in the owner's zone; end <= start runs past midnight."""

    weekday: int  # Monday = 0
    start: time
    end: time


@dataclass(frozen=True)
class Interval:
    """A UTC range [start, end)."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class Weights:
    """Maximum points per score part; the parts add up to at most 100."""

    field: int = 20
    topics: int = 20
    continuity: int = 15
    urgency: int = 15
    earliness: int = 15
    load: int = 15

    def __post_init__(self):
        values = [getattr(self, f.name) for f in fields(self)]
        if any(type(v) is not int or v < 0 for v in values):
            raise ValueError("score weights must be whole numbers of at least 0")
        if sum(values) > 100:
            raise ValueError(f"score weights must add up to at most 100, not {sum(values)}")


@dataclass(frozen=True)
class Params:
    now: datetime
    horizon_days: int = 14
    session_minutes: int = 60
    buffer_minutes: int = 15
    min_notice_hours: int = 24
    weights: Weights = field(default_factory=Weights)


@dataclass(frozen=True)
class Listener:
    id: int
    timezone: str
    organization: str
    languages: frozenset[str]
    modalities: frozenset[str]
    fields: frozenset[str] = frozenset()
    topics: frozenset[str] = frozenset()
    gender: str | None = None
    max_per_week: int = 2
    max_per_day: int = 1
    windows: tuple[Window, ...] = ()
    time_off: tuple[Interval, ...] = ()
    # Meetings already booked and proposals still pending: they block time (with the
    # buffer) and count against the daily and weekly caps.
    booked: tuple[Interval, ...] = ()
    # Time held by anything that is not a conversation (a workshop seat, facilitating
    # one): it blocks time like a booked session but counts against no cap.
    held: tuple[Interval, ...] = ()
    do_not_match: frozenset[int] = frozenset()  # user ids of practitioners
    active: bool = True
    verified: bool = False
    training_valid_until: date | None = None
    paused_until: datetime | None = None


@dataclass(frozen=True)
class Request:
    id: int
    practitioner_id: int
    timezone: str
    organization: str
    field: str
    languages: frozenset[str]
    modalities: frozenset[str]
    topics: frozenset[str] = frozenset()
    urgency: str = "routine"
    created_at: datetime | None = None
    listener_gender: str | None = None
    listener_gender_required: bool = False
    do_not_match: frozenset[int] = frozenset()  # user ids of listeners
    # Listeners this request declined, or a coordinator rejected "never again".
    excluded_listeners: frozenset[int] = frozenset()
    # Listener id -> the practitioner's best earlier rating (1-5), for continuity.
    past_ratings: tuple[tuple[int, int], ...] = ()
    windows: tuple[Window, ...] = ()
    time_off: tuple[Interval, ...] = ()
    booked: tuple[Interval, ...] = ()  # the practitioner's own sessions
    held: tuple[Interval, ...] = ()  # the practitioner's other holds (workshop seats)


@dataclass(frozen=True)
class ScorePart:
    name: str  # field, topics, continuity, urgency, earliness, load
    points: int


@dataclass(frozen=True)
class Proposal:
    request_id: int
    listener_id: int
    start: datetime
    end: datetime
    score: int  # 0-100
    parts: tuple[ScorePart, ...]
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Unmatched:
    request_id: int
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Result:
    proposals: tuple[Proposal, ...]
    unmatched: tuple[Unmatched, ...]
    stats: dict = field(default_factory=dict)
