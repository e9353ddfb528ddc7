"""Coordinators' view of listeners: verification and load."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func
from sqlalchemy.orm import selectinload

from matching.errors import Invalid, NotFound
from matching.extensions import db
from matching.models import ListenerProfile, Meeting, Proposal, User, now_utc
from matching.services import audit


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
