"""Helpers for the programme-event tests: an event made through the service, and its mail."""

from __future__ import annotations

from datetime import datetime, timedelta

from matching.extensions import db
from matching.models import Event, OutboxMessage, Registration, User, now_utc
from matching.schemas import bodies, load
from tests.support.meetings import future_start

ROOM = "https://meet.example.org/group-room"


def new_event(
    app,
    coordinator: int,
    *,
    capacity: int = 10,
    start: datetime | None = None,
    minutes: int = 120,
    closes: datetime | None = None,
    approval: bool = False,
    open_to: tuple[str, ...] = ("practitioner",),
    facilitator: int | None = None,
    modality: str = "video",
    location: str = ROOM,
    title: str = "Carrying other people's stories",
) -> int:
    """Publish an event through events.create_event, the values loaded by its schema."""
    from matching.services import events

    start = start or future_start(days=5, hour=15)
    body = {
        "kind": "workshop",
        "title": title,
        "description": "Two hours together, with time for questions.",
        "start": start.isoformat(),
        "end": (start + timedelta(minutes=minutes)).isoformat(),
        "timezone": "Europe/London",
        "modality": modality,
        "location": location,
        "capacity": capacity,
        "registration_closes": (closes or start - timedelta(hours=1)).isoformat(),
        "requires_approval": approval,
        "open_to": list(open_to),
        "facilitator_id": facilitator,
    }
    with app.app_context():
        event = events.create_event(db.session.get(User, coordinator), load(bodies.NewEvent, body))
        db.session.commit()
        return event.id


def registration_of(user_id: int, event_id: int) -> Registration:
    return db.session.scalars(
        db.select(Registration)
        .where(Registration.user_id == user_id, Registration.event_id == event_id)
        .order_by(Registration.id.desc())
    ).first()


def mail_to(address: str, kind: str | None = None) -> list[OutboxMessage]:
    query = db.select(OutboxMessage).where(OutboxMessage.recipient == address)
    if kind:
        query = query.where(OutboxMessage.kind == kind)
    return list(db.session.scalars(query.order_by(OutboxMessage.id)))


def seats(event_id: int) -> tuple[int, dict[str, int]]:
    """The event's seat counter and its registrations counted by status."""
    event = db.session.get(Event, event_id, populate_existing=True)
    rows = db.session.execute(
        db.select(Registration.status, db.func.count())
        .where(Registration.event_id == event_id)
        .group_by(Registration.status)
    ).all()
    return event.seats_taken, dict(rows)


def move_event_to_past(app, event_id: int, *, hours_ago: int = 3) -> None:
    """Put an event in the past (tests only: the service never moves one backwards)."""
    with app.app_context():
        event = db.session.get(Event, event_id)
        length = event.end_at - event.start_at
        event.start_at = now_utc() - timedelta(hours=hours_ago)
        event.end_at = event.start_at + length
        event.registration_closes = event.start_at - timedelta(hours=1)
        db.session.commit()
