"""Programme events (workshops and seminars), their registrations and feedback.

Seats are counted on the event (``seats_taken``: registrations that are confirmed,
offered or waiting for approval) and the database refuses more than ``capacity``
(CHECK). Every change of seats happens under the event's row lock
(services/events.py), so the count is exact and the last seat is never given twice.
Registrations are numbered in the order people joined (``number``, unique per event):
the waiting list is served in that order.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from matching.extensions import db
from matching.models.accounts import User
from matching.models.base import UTCDateTime, now_utc

EVENT_STATUSES = ("published", "cancelled")
REGISTRATION_STATUSES = (
    "pending_approval",
    "confirmed",
    "rejected",
    "waitlisted",
    "offered",
    "declined",
    "expired",
    "withdrawn",
    "cancelled",
)
# Registrations that hold a seat, and those still in the running for one.
SEAT_STATUSES = ("pending_approval", "confirmed", "offered")
ACTIVE_REGISTRATION_STATUSES = (*SEAT_STATUSES, "waitlisted")
_ACTIVE_SQL = "status IN ('pending_approval', 'confirmed', 'offered', 'waitlisted')"


class Event(db.Model):
    __table_args__ = (
        CheckConstraint("end_at > start_at", name="positive"),
        CheckConstraint("capacity >= 1", name="capacity"),
        CheckConstraint("seats_taken >= 0 AND seats_taken <= capacity", name="seats"),
        CheckConstraint("registration_closes <= start_at", name="closes_in_time"),
        Index("ix_event_start", "start_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(12))
    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The zone the time was set in, named next to it on the pages.
    timezone: Mapped[str] = mapped_column(String(64))
    modality: Mapped[str] = mapped_column(String(12))
    # The video link (https) or the place, as the coordinator wrote it.
    location: Mapped[str] = mapped_column(String(300))
    capacity: Mapped[int]
    seats_taken: Mapped[int] = mapped_column(default=0)
    # How many registrations were ever made: the next one's number.
    joined: Mapped[int] = mapped_column(default=0)
    registration_closes: Mapped[datetime] = mapped_column(UTCDateTime)
    requires_approval: Mapped[bool] = mapped_column(default=False)
    open_to: Mapped[list] = mapped_column(JSON, default=list)
    facilitator_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(12), default="published")
    sequence: Mapped[int] = mapped_column(default=0)
    cancel_reason: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, onupdate=now_utc)

    facilitator: Mapped[User | None] = relationship(foreign_keys=[facilitator_id])


class Registration(db.Model):
    __table_args__ = (
        UniqueConstraint("event_id", "number", name="one_number_per_event"),
        # One registration in the running per person and event (a new one after leaving).
        Index(
            "uq_registration_active",
            "event_id",
            "user_id",
            unique=True,
            sqlite_where=text(_ACTIVE_SQL),
            postgresql_where=text(_ACTIVE_SQL),
        ),
        Index("ix_registration_event_status", "event_id", "status", "number"),
        Index("ix_registration_user", "user_id"),
        Index("ix_registration_offers", "status", "offer_expires"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(255), unique=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20))
    number: Mapped[int]
    # The registration's own calendar entry: SEQUENCE, and when it first had one.
    sequence: Mapped[int] = mapped_column(default=0)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    offer_expires: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attended: Mapped[bool | None]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, onupdate=now_utc)

    event: Mapped[Event] = relationship()
    user: Mapped[User] = relationship()


class EventFeedback(db.Model):
    """A rating after an event; shown only as a summary, never with who gave it."""

    __table_args__ = (
        UniqueConstraint("event_id", "author_id", name="one_event_rating_per_author"),
        CheckConstraint("rating BETWEEN 1 AND 5", name="rating"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    rating: Mapped[int]
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
