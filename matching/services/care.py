"""Care for listeners: their week against their limits, and debriefs after a heavy stretch."""

from __future__ import annotations

import functools
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import bindparam
from sqlalchemy.orm import selectinload

from matching.errors import Conflict, NotAllowed, NotFound
from matching.extensions import db
from matching.models import DebriefRequest, Meeting, User, now_utc
from matching.services import audit

# Conversations that happened or will: a cancelled one weighs on nobody.
HELD = ("scheduled", "completed", "no_show")


def _local_week(zone: ZoneInfo, now: datetime) -> tuple[date, datetime, datetime]:
    """Monday of the local week holding ``now``, and that week's bounds as instants."""
    today = now.astimezone(zone).date()
    monday = today - timedelta(days=today.weekday())
    start = datetime.combine(monday, time(0), tzinfo=zone)
    end = datetime.combine(monday + timedelta(days=7), time(0), tzinfo=zone)
    return monday, start, end


def week_load(user: User, *, now: datetime | None = None) -> dict:
    """This local week's conversations of a listener, per day and in all, with the limits.

    Counted in the listener's own zone, as the matching limits are.
    """
    now = now or now_utc()
    zone = ZoneInfo(user.timezone)
    monday, start, end = _local_week(zone, now)
    starts = db.session.scalars(
        _week_query(), {"listener_id": user.id, "start": start, "end": end}
    ).all()
    per_day = {monday + timedelta(days=n): 0 for n in range(7)}
    for start_at in starts:
        per_day[start_at.astimezone(zone).date()] += 1
    lp = user.listener_profile
    return {
        "days": [
            {"date": day, "count": count, "today": day == now.astimezone(zone).date()}
            for day, count in per_day.items()
        ],
        "total": len(starts),
        "weekly_limit": lp.max_sessions_per_week,
        "daily_limit": lp.max_sessions_per_day,
    }


def recent_conversations(user: User, *, now: datetime | None = None) -> int:
    """How many conversations the listener has held within DEBRIEF_WITHIN_DAYS."""
    now = now or now_utc()
    since = now - timedelta(days=current_app.config["DEBRIEF_WITHIN_DAYS"])
    return db.session.scalar(_recent_query(), {"listener_id": user.id, "since": since, "now": now})


def latest_debrief(user: User) -> DebriefRequest | None:
    return db.session.scalar(_latest_debrief_query(), {"listener_id": user.id})


# Built once each: the listener's home runs them on every view.


def _at(name: str):
    return bindparam(name, type_=Meeting.start_at.type)


@functools.cache
def _week_query():
    return (
        db.select(Meeting.start_at)
        .where(Meeting.listener_id == bindparam("listener_id"))
        .where(Meeting.status.in_(HELD))
        .where(Meeting.start_at >= _at("start"))
        .where(Meeting.start_at < _at("end"))
    )


@functools.cache
def _recent_query():
    return (
        db.select(db.func.count())
        .select_from(Meeting)
        .where(Meeting.listener_id == bindparam("listener_id"))
        .where(Meeting.status.in_(("scheduled", "completed")))
        .where(Meeting.end_at > _at("since"))
        .where(Meeting.end_at <= _at("now"))
    )


@functools.cache
def _prompt_query():
    """The latest debrief's status and time (or nulls) and recent_conversations' count."""
    latest = _latest_debrief_query().subquery()
    return db.select(
        db.select(latest.c.status).scalar_subquery(),
        db.select(latest.c.created_at).scalar_subquery(),
        _recent_query().scalar_subquery(),
    )


@functools.cache
def _latest_debrief_query():
    return (
        db.select(DebriefRequest)
        .where(DebriefRequest.listener_id == bindparam("listener_id"))
        .order_by(DebriefRequest.created_at.desc(), DebriefRequest.id.desc())
        .limit(1)
    )


def debrief_prompt(user: User, *, now: datetime | None = None) -> dict | None:
    """What the listener's home says about a debrief: an offer, a request on its way, or None.

    The offer comes after DEBRIEF_AFTER_SESSIONS conversations within DEBRIEF_WITHIN_DAYS,
    unless the listener asked for a debrief within that period already.
    """
    if user.role != "listener":
        return None
    now = now or now_utc()
    cfg = current_app.config
    since = now - timedelta(days=cfg["DEBRIEF_WITHIN_DAYS"])
    # The latest debrief and the conversations held lately, in one query.
    values = {"listener_id": user.id, "since": since, "now": now}
    status, asked_at, held = db.session.execute(_prompt_query(), values).one()
    if status == "open":
        return {"state": "asked", "since": asked_at}
    recent = asked_at is not None and asked_at > since
    if held >= cfg["DEBRIEF_AFTER_SESSIONS"] and not recent:
        return {"state": "offer", "held": held, "days": cfg["DEBRIEF_WITHIN_DAYS"]}
    return None


def request_debrief(user: User, *, now: datetime | None = None) -> DebriefRequest:
    """A listener asks to talk things through with a coordinator (one open request at a time)."""
    if user.role != "listener":
        raise NotAllowed("Debriefs are for listeners.")
    latest = latest_debrief(user)
    if latest is not None and latest.status == "open":
        return latest
    row = DebriefRequest(listener_id=user.id, status="open", created_at=now or now_utc())
    db.session.add(row)
    db.session.flush()
    return row


def open_debriefs(limit: int = 50) -> list[DebriefRequest]:
    """Debrief requests waiting for a coordinator, oldest first."""
    return list(db.session.scalars(_open_debriefs_query(), {"limit": limit}))


@functools.cache
def _open_debriefs_query():
    """Built once: the overview runs it on every view."""
    return (
        db.select(DebriefRequest)
        .where(DebriefRequest.status == "open")
        .options(selectinload(DebriefRequest.listener))
        .order_by(DebriefRequest.created_at, DebriefRequest.id)
        .limit(bindparam("limit"))
    )


def arrange_debrief(actor: User, debrief_id: int, *, now: datetime | None = None) -> None:
    """A coordinator has arranged the debrief; audited."""
    row = db.session.get(DebriefRequest, debrief_id)
    if row is None:
        raise NotFound("No such debrief request.")
    if row.status != "open":
        raise Conflict("This debrief is already arranged.", code="not_open")
    row.status = "arranged"
    row.arranged_by_id = actor.id
    row.arranged_at = now or now_utc()
    audit.record(
        actor,
        "debrief.arranged",
        "debrief_request",
        row.id,
        f"Debrief arranged with {row.listener.display_name}",
        listener_id=row.listener_id,
    )
    db.session.flush()
