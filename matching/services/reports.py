"""Programme figures for coordinators: one home for the dashboard, the CSV and the API.

Any figure about fewer than MIN_GROUP people is withheld (None) and named in
``suppressed``. A zero is shown: it is about nobody. A figure that would let a
withheld one be worked out (a share whose complement is a small group) is withheld too.
"""

from __future__ import annotations

import csv
import io
import statistics
import time as clock
from collections import Counter, OrderedDict
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func

from matching.errors import Invalid
from matching.extensions import db
from matching.models import (
    Event,
    EventFeedback,
    Feedback,
    ListenerProfile,
    Meeting,
    Registration,
    SupportRequest,
    User,
    now_utc,
)

MIN_GROUP = 5
MAX_DAYS = 731
DEFAULT_WEEKS = 12
WEEK_FIELDS = ("requests", "matched", "meetings", "cancelled", "no_show")
WITHHELD = "withheld"


def default_range(today: date | None = None) -> tuple[date, date]:
    """The last twelve weeks, ending today."""
    today = today or now_utc().date()
    return today - timedelta(weeks=DEFAULT_WEEKS) + timedelta(days=1), today


def parse_range(from_raw, to_raw, *, today: date | None = None) -> tuple[date, date]:
    """A (from, to) range from two YYYY-MM-DD strings; empty ones take the defaults."""
    default_from, default_to = default_range(today)
    errors = {}
    values = []
    for name, raw, default in (("from", from_raw, default_from), ("to", to_raw, default_to)):
        if raw in (None, ""):
            values.append(default)
            continue
        try:
            values.append(date.fromisoformat(str(raw)[:10]) if len(str(raw)) == 10 else None)
        except ValueError:
            values.append(None)
        if values[-1] is None:
            errors[name] = "use a date such as 2027-06-30"
            values[-1] = default
    if errors:
        raise Invalid("Choose a date range of up to two years.", fields=errors)
    return check_range(*values)


def check_range(start: date | None, end: date | None) -> tuple[date, date]:
    """A range of up to two years, from its first to its last day; a missing end takes its default."""
    default_from, default_to = default_range()
    start, end = start or default_from, end or default_to
    error = None
    if end < start:
        error = "must not be before from"
    elif (end - start).days > MAX_DAYS:
        error = f"at most {MAX_DAYS} days after from"
    if error:
        raise Invalid("Choose a date range of up to two years.", fields={"to": error})
    return start, end


def _small(n: int) -> bool:
    return 0 < n < MIN_GROUP


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _instant(day: date) -> datetime:
    return datetime.combine(day, time(0), UTC)


# Figures already computed in this process, keyed by range and a fingerprint of the data
# they read: a changed request, meeting or rating changes the fingerprint, so an answer
# is never stale; entries also expire, and only a few are kept.
_FIGURES: OrderedDict = OrderedDict()
CACHE_SECONDS = 300
CACHE_ENTRIES = 32


def _fingerprint() -> tuple:
    """One cheap query whose answer changes whenever the figures' inputs change."""

    def scalar(*columns):
        return db.select(*columns).scalar_subquery()

    verified = (
        db.select(func.count())
        .select_from(ListenerProfile)
        .join(User, User.id == ListenerProfile.user_id)
        .where(User.active.is_(True))
        .where(ListenerProfile.verified_at.is_not(None))
        .scalar_subquery()
    )
    row = db.session.execute(
        db.select(
            scalar(func.count(SupportRequest.id)),
            scalar(func.max(SupportRequest.id)),
            scalar(func.max(SupportRequest.updated_at)),
            scalar(func.count(Meeting.id)),
            scalar(func.max(Meeting.id)),
            scalar(func.max(Meeting.updated_at)),
            scalar(func.count(Feedback.id)),
            scalar(func.max(Feedback.id)),
            verified,
            # Programme events: attendance and ratings.
            scalar(func.count(Event.id)),
            scalar(func.max(Event.updated_at)),
            scalar(func.count(Registration.id)),
            scalar(func.max(Registration.updated_at)),
            scalar(func.count(EventFeedback.id)),
        )
    ).one()
    return (str(db.engine.url), *row)


def programme(from_: date, to: date) -> dict:
    """Programme figures between two dates (inclusive), in the shape of the reports API."""
    key = (from_, to, _fingerprint())
    found = _FIGURES.get(key)
    if found is not None and found[0] > clock.monotonic():
        return found[1]
    figures = _programme(from_, to)
    _FIGURES[key] = (clock.monotonic() + CACHE_SECONDS, figures)
    while len(_FIGURES) > CACHE_ENTRIES:
        _FIGURES.popitem(last=False)
    return figures


def _programme(from_: date, to: date) -> dict:
    start, end = _instant(from_), _instant(to + timedelta(days=1))
    suppressed: list[str] = []

    first_meeting = (
        db.select(Meeting.request_id, func.min(Meeting.start_at).label("first_start"))
        .where(Meeting.status != "cancelled")
        .group_by(Meeting.request_id)
        .subquery()
    )
    requests = db.session.execute(
        db.select(SupportRequest.created_at, first_meeting.c.first_start)
        .outerjoin(first_meeting, first_meeting.c.request_id == SupportRequest.id)
        .where(SupportRequest.created_at >= start)
        .where(SupportRequest.created_at < end)
    ).all()
    meetings = db.session.execute(
        db.select(Meeting.listener_id, Meeting.start_at, Meeting.status)
        .where(Meeting.start_at >= start)
        .where(Meeting.start_at < end)
    ).all()
    ratings = [
        rating
        for (rating,) in db.session.execute(
            db.select(Feedback.rating)
            .join(Meeting, Meeting.id == Feedback.meeting_id)
            .where(Meeting.start_at >= start)
            .where(Meeting.start_at < end)
        )
    ]
    listeners = db.session.scalar(
        db.select(func.count())
        .select_from(ListenerProfile)
        .join(User, User.id == ListenerProfile.user_id)
        .where(User.active.is_(True))
        .where(ListenerProfile.verified_at.is_not(None))
    )

    # Weeks, Monday to Sunday, from the week holding `from` to the week holding `to`.
    counts: dict[date, Counter] = {}
    monday = _monday(from_)
    while monday <= to:
        counts[monday] = Counter()
        monday += timedelta(weeks=1)
    for created_at, first_start in requests:
        week = counts[_monday(created_at.date())]
        week["requests"] += 1
        if first_start is not None:
            week["matched"] += 1
    sessions: Counter = Counter()
    for listener_id, start_at, status in meetings:
        week = counts[_monday(start_at.date())]
        if status == "cancelled":
            week["cancelled"] += 1
            continue
        week["meetings"] += 1
        sessions[listener_id] += 1
        if status == "no_show":
            week["no_show"] += 1
    weeks = []
    for monday, c in counts.items():
        row: dict = {"week": monday.isoformat()}
        for name in WEEK_FIELDS:
            n = c[name]
            hidden = _small(n)
            if name == "matched":
                hidden = hidden or _small(c["requests"] - n)
            row[name] = None if hidden else n
            if hidden:
                suppressed.append(f"weeks.{monday.isoformat()}.{name}")
        weeks.append(row)

    total = len(requests)
    waits = sorted(
        (first - created).total_seconds() / 3600
        for created, first in requests
        if first is not None and first >= created
    )
    matched = sum(1 for _, first in requests if first is not None)
    if total < MIN_GROUP or _small(matched) or _small(total - matched):
        share = None
        suppressed.append("share_matched")
    else:
        share = round(matched / total, 3)
    if len(waits) < MIN_GROUP:
        time_to_first = {"median": None, "p90": None}
        suppressed.append("time_to_first_meeting_hours")
    else:
        time_to_first = {
            "median": round(statistics.median(waits), 1),
            "p90": round(_percentile(waits, 0.9), 1),
        }

    # Listeners by number of sessions in the range; verified listeners without any count as 0.
    by_sessions = Counter(sessions.values())
    idle = max(listeners - sum(by_sessions.values()), 0)
    if idle:
        by_sessions[0] += idle
    listener_load = []
    for n_sessions in sorted(by_sessions):
        people = by_sessions[n_sessions]
        if _small(people):
            listener_load.append({"sessions": n_sessions, "listeners": None})
            suppressed.append(f"listener_load.{n_sessions}")
        else:
            listener_load.append({"sessions": n_sessions, "listeners": people})

    if len(ratings) < MIN_GROUP:
        feedback = {"count": None, "mean_rating": None, "ratings": []}
        suppressed.append("feedback")
    else:
        by_rating = Counter(ratings)
        feedback = {
            "count": len(ratings),
            "mean_rating": round(statistics.fmean(ratings), 2),
            "ratings": [],
        }
        for rating in range(1, 6):
            n = by_rating[rating]
            feedback["ratings"].append({"rating": rating, "count": None if _small(n) else n})
            if _small(n):
                suppressed.append(f"feedback.ratings.{rating}")

    return {
        "from": from_.isoformat(),
        "to": to.isoformat(),
        "weeks": weeks,
        "time_to_first_meeting_hours": time_to_first,
        "share_matched": share,
        "listener_load": listener_load,
        "feedback": feedback,
        "events": _event_figures(start, end, suppressed),
        "suppressed": suppressed,
    }


def _event_figures(start: datetime, end: datetime, suppressed: list[str]) -> dict:
    """Workshops and seminars held in the range: seats, attendance and ratings.

    Figures about people follow the same rule as the rest: fewer than MIN_GROUP is
    withheld, and so is a figure whose complement would be such a group.
    """
    held = (
        db.select(Event.id)
        .where(Event.status == "published")
        .where(Event.start_at >= start)
        .where(Event.start_at < end)
    )
    sessions = db.session.scalar(db.select(func.count()).select_from(held.subquery()))
    seats, marked, attended = db.session.execute(
        db.select(
            func.count(Registration.id),
            func.count(Registration.attended),
            func.coalesce(func.sum(db.case((Registration.attended.is_(True), 1), else_=0)), 0),
        )
        .where(Registration.event_id.in_(held))
        .where(Registration.status == "confirmed")
    ).one()
    ratings = db.session.scalars(
        db.select(EventFeedback.rating).where(EventFeedback.event_id.in_(held))
    ).all()
    figures: dict = {"sessions": sessions}
    figures["seats"] = None if _small(seats) else seats
    hide_attended = _small(attended) or _small(marked - attended)
    figures["attended"] = None if hide_attended else attended
    if hide_attended or marked < MIN_GROUP:
        figures["attendance_rate"] = None
    else:
        figures["attendance_rate"] = round(attended / marked, 3)
    if len(ratings) < MIN_GROUP:
        figures["feedback"] = {"count": None, "mean_rating": None}
    else:
        figures["feedback"] = {
            "count": len(ratings),
            "mean_rating": round(statistics.fmean(ratings), 2),
        }
    for name, value in (
        ("seats", figures["seats"]),
        ("attended", figures["attended"]),
        ("attendance_rate", figures["attendance_rate"]),
        ("feedback", figures["feedback"]["count"]),
    ):
        if value is None:
            suppressed.append(f"events.{name}")
    return figures


def _percentile(sorted_values: list[float], q: float) -> float:
    """The q-quantile by linear interpolation between closest ranks."""
    return statistics.quantiles(sorted_values, n=100, method="inclusive")[round(q * 100) - 1]


def safe_cell(value) -> str:
    """A CSV cell a spreadsheet will not run as a formula."""
    text = WITHHELD if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def programme_csv(from_: date, to: date, figures: dict | None = None) -> str:
    """The weekly rows as CSV, with the same suppression as programme()."""
    figures = figures or programme(from_, to)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["week", *WEEK_FIELDS])
    for row in figures["weeks"]:
        writer.writerow([safe_cell(row["week"]), *(safe_cell(row[name]) for name in WEEK_FIELDS)])
    return out.getvalue()
