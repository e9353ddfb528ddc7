"""Coordinators' view of listeners: verification and load."""

from __future__ import annotations

import functools
from collections import Counter
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, func, or_
from sqlalchemy.orm import selectinload

from matching.errors import Invalid, NotFound
from matching.extensions import db
from matching.models import Feedback, ListenerProfile, Meeting, Proposal, User, now_utc
from matching.services import audit, paging

# Training that ends within this many days is flagged on the roster and the overview.
EXPIRING_DAYS = 30
# Ratings of one listener are shown only from this many on (small groups are withheld).
MIN_RATINGS = 5
ROSTER_FILTERS = ("all", "unverified", "expiring", "paused")


def list_listeners(*, after: int | None = None, limit: int = 200) -> tuple[list[dict], int | None]:
    """Listeners with verification state and load (sessions in the next 7 days, pending)."""
    query = (
        db.select(User)
        .join(ListenerProfile, ListenerProfile.user_id == User.id)
        .where(User.role == "listener")
        .where(User.active.is_(True))
        .options(selectinload(User.listener_profile))
        .order_by(User.id)
    )
    if after:
        query = query.where(User.id > after)
    users = list(db.session.scalars(query.limit(limit + 1)))
    next_cursor = users[limit - 1].id if len(users) > limit else None
    users = users[:limit]
    booked, pending = _loads([u.id for u in users])
    return [listener_dict(u, booked.get(u.id, 0), pending.get(u.id, 0)) for u in users], next_cursor


def _loads(ids: list[int]) -> tuple[dict, dict]:
    """Per listener: meetings in the next 7 days, and proposals still pending."""
    now = now_utc()
    booked = dict(
        db.session.execute(
            db.select(Meeting.listener_id, func.count())
            .where(Meeting.listener_id.in_(ids))
            .where(Meeting.status == "scheduled")
            .where(Meeting.start_at >= now)
            .where(Meeting.start_at < now + timedelta(days=7))
            .group_by(Meeting.listener_id)
        ).all()
    )
    pending = dict(
        db.session.execute(
            db.select(Proposal.listener_id, func.count())
            .where(Proposal.listener_id.in_(ids))
            .where(Proposal.status == "pending")
            .group_by(Proposal.listener_id)
        ).all()
    )
    return booked, pending


def listener_dict(user: User, booked_next_7_days: int, pending: int) -> dict:
    lp = user.listener_profile
    today = now_utc().date()
    return {
        "id": user.id,
        "display_name": user.display_name,
        "email": user.email,
        "timezone": user.timezone,
        "organization": lp.organization,
        "languages": list(lp.languages),
        "modalities": list(lp.modalities),
        "fields": list(lp.fields),
        "verified": lp.verified,
        "verified_at": lp.verified_at.isoformat() if lp.verified_at else None,
        "training_valid_until": lp.training_valid_until.isoformat()
        if lp.training_valid_until
        else None,
        "training_expired": bool(lp.training_valid_until and lp.training_valid_until < today),
        "paused_until": lp.paused_until.isoformat()
        if lp.paused_until and lp.paused_until > now_utc()
        else None,
        "max_sessions_per_week": lp.max_sessions_per_week,
        "max_sessions_per_day": lp.max_sessions_per_day,
        "load": {"booked_next_7_days": booked_next_7_days, "pending_proposals": pending},
    }


def verify_listener(actor: User, listener_id: int, until: date) -> dict:
    """Mark a listener verified with a training expiry date; audited."""
    user = db.session.get(User, listener_id)
    if user is None or user.role != "listener" or not user.active:
        raise NotFound("No such listener.")
    if until < now_utc().date():
        raise Invalid(
            "The training date has already passed.",
            fields={"training_valid_until": "must not be in the past"},
        )
    lp = user.listener_profile
    lp.verified_at = now_utc()
    lp.verified_by_id = actor.id
    lp.training_valid_until = until
    audit.record(
        actor,
        "listener.verified",
        "user",
        user.id,
        f"Verified {user.display_name}; training valid until {until.isoformat()}",
        training_valid_until=until.isoformat(),
    )
    db.session.flush()
    booked, pending = _loads([user.id])
    return listener_dict(user, booked.get(user.id, 0), pending.get(user.id, 0))


@functools.cache
def _counts_query():
    verified = ListenerProfile.verified_at.is_not(None)
    return (
        db.select(
            func.count(),
            func.count().filter(ListenerProfile.verified_at.is_(None)),
            func.count().filter(
                verified,
                ListenerProfile.training_valid_until
                <= bindparam("soon", type_=ListenerProfile.training_valid_until.type),
            ),
            func.count().filter(
                ListenerProfile.paused_until
                > bindparam("now", type_=ListenerProfile.paused_until.type)
            ),
        )
        .select_from(ListenerProfile)
        .join(User, User.id == ListenerProfile.user_id)
        .where(User.active.is_(True))
    )


def listener_counts(now: datetime | None = None) -> dict:
    """Listeners in total, unverified, with training expiring soon or expired, paused.

    One aggregate query, correct at any number of listeners.
    """
    now = now or now_utc()
    soon = now.date() + timedelta(days=EXPIRING_DAYS)
    row = db.session.execute(_counts_query(), {"now": now, "soon": soon}).one()
    return {"total": row[0], "unverified": row[1], "expiring": row[2], "paused": row[3]}


def roster(
    *,
    search: str = "",
    show: str = "all",
    page: int = 1,
    per_page: int = 50,
    now: datetime | None = None,
) -> paging.Page:
    """One page of listeners by name with verification, training, pause, load and rating.

    Searches name, e-mail and organisation; a two-letter term is a language code or the
    start of a name. A fixed
    number of queries per page: the total, the rows (with pending proposals and ratings)
    and this week's sessions of the listeners on the page.
    """
    now = now or now_utc()
    soon = now.date() + timedelta(days=EXPIRING_DAYS)
    show = show if show in ROSTER_FILTERS else "all"
    term = search.strip()[:80]
    values = {"now": now, "soon": soon, "offset": (page - 1) * per_page, "limit": per_page}
    kind = None
    if term:
        pattern = "%" + term.replace("\\", "").replace("%", "").replace("_", "") + "%"
        if len(term) == 2 and term.isalpha():
            # Two letters: a language code, or the start of a name (not any e-mail
            # that happens to hold them).
            kind = "language"
            values |= {"language": paging.language_pattern(term.lower()), "term": pattern[1:]}
        else:
            kind = "text"
            values |= {"term": pattern}
    total = db.session.scalar(_roster_query(kind, show, counting=True), values)
    rows = db.session.execute(_roster_query(kind, show), values).all()
    weeks = {r.id: _local_week(now, r.timezone) for r in rows}
    this_week = _sessions_in_weeks(weeks)
    items = []
    for r in rows:
        training = r.training_valid_until
        items.append(
            {
                "id": r.id,
                "display_name": r.display_name,
                "email": r.email,
                "timezone": r.timezone,
                "organization": r.organization,
                "languages": list(r.languages),
                "verified": r.verified_at is not None,
                "training_valid_until": training,
                "training_expired": bool(training and training < now.date()),
                "training_expiring": bool(training and now.date() <= training <= soon),
                "paused_until": r.paused_until if r.paused_until and r.paused_until > now else None,
                "max_sessions_per_week": r.max_sessions_per_week,
                "max_sessions_per_day": r.max_sessions_per_day,
                "sessions_this_week": this_week.get(r.id, 0),
                "pending_proposals": r.pending,
                "rating": _rating(r.ratings, r.mean),
            }
        )
    has_next = page * per_page < total
    return paging.Page(items=items, next=str(page + 1) if has_next else None, total=total)


@functools.cache
def _roster_query(kind: str | None, show: str, *, counting: bool = False):
    """The roster's rows (or their number) for a kind of search and a filter, values bound.

    kind is None, "language" (two letters: a language code or the start of a name) or
    "text" (name, e-mail or organisation).
    """
    now = bindparam("now", type_=ListenerProfile.paused_until.type)
    soon = bindparam("soon", type_=ListenerProfile.training_valid_until.type)
    query = (
        db.select(
            User.id,
            User.display_name,
            User.email,
            User.timezone,
            ListenerProfile.organization,
            ListenerProfile.languages,
            ListenerProfile.verified_at,
            ListenerProfile.training_valid_until,
            ListenerProfile.paused_until,
            ListenerProfile.max_sessions_per_week,
            ListenerProfile.max_sessions_per_day,
        )
        .join(ListenerProfile, ListenerProfile.user_id == User.id)
        .where(User.role == "listener")
        .where(User.active.is_(True))
    )
    term = bindparam("term")
    if kind == "language":
        query = query.where(
            or_(
                paging.speaks(ListenerProfile.languages, bindparam("language")),
                User.display_name.ilike(term),
            )
        )
    elif kind == "text":
        query = query.where(
            or_(
                User.display_name.ilike(term),
                User.email.ilike(term),
                ListenerProfile.organization.ilike(term),
            )
        )
    if show == "unverified":
        query = query.where(ListenerProfile.verified_at.is_(None))
    elif show == "expiring":
        query = query.where(ListenerProfile.verified_at.is_not(None)).where(
            ListenerProfile.training_valid_until <= soon
        )
    elif show == "paused":
        query = query.where(ListenerProfile.paused_until > now)
    if counting:
        return query.with_only_columns(func.count()).order_by(None)
    pending = (
        db.select(func.count())
        .where(Proposal.listener_id == User.id)
        .where(Proposal.status == "pending")
        .scalar_subquery()
    )

    # Ratings by the practitioners met, per listener on the page only: as subqueries of
    # each row, which the database works out after choosing the page's rows.
    def rated(value):
        return (
            db.select(value)
            .select_from(Feedback)
            .join(Meeting, Meeting.id == Feedback.meeting_id)
            .where(Meeting.listener_id == User.id)
            .where(Feedback.author_id == Meeting.practitioner_id)
            .scalar_subquery()
        )

    return (
        query.add_columns(
            pending.label("pending"),
            rated(func.count()).label("ratings"),
            rated(func.avg(Feedback.rating)).label("mean"),
        )
        .order_by(func.lower(User.display_name), User.id)
        .offset(bindparam("offset"))
        .limit(bindparam("limit"))
    )


def _rating(count: int | None, mean) -> dict | None:
    """A listener's mean rating, only from MIN_RATINGS ratings on."""
    if not count or count < MIN_RATINGS:
        return None
    return {"count": count, "mean": round(float(mean), 1)}


def _local_week(now: datetime, zone: str) -> tuple[datetime, datetime]:
    """Monday 00:00 to the next Monday in the listener's zone, as UTC instants."""
    local = now.astimezone(ZoneInfo(zone))
    monday: date = local.date() - timedelta(days=local.weekday())
    start = datetime.combine(monday, datetime.min.time(), ZoneInfo(zone))
    end = datetime.combine(monday + timedelta(days=7), datetime.min.time(), ZoneInfo(zone))
    return start, end


_WEEKS = (
    db.select(Meeting.listener_id, Meeting.start_at)
    .where(Meeting.listener_id.in_(bindparam("ids", expanding=True)))
    .where(Meeting.status != "cancelled")
    .where(Meeting.start_at >= bindparam("earliest", type_=Meeting.start_at.type))
    .where(Meeting.start_at < bindparam("latest", type_=Meeting.start_at.type))
)


def _sessions_in_weeks(weeks: dict[int, tuple[datetime, datetime]]) -> dict[int, int]:
    """Booked sessions (not cancelled) of each listener inside their own week; one query."""
    if not weeks:
        return {}
    earliest = min(start for start, _ in weeks.values())
    latest = max(end for _, end in weeks.values())
    counts: Counter = Counter()
    values = {"ids": list(weeks), "earliest": earliest, "latest": latest}
    for listener_id, start_at in db.session.execute(_WEEKS, values):
        start, end = weeks[listener_id]
        if start <= start_at < end:
            counts[listener_id] += 1
    return dict(counts)
