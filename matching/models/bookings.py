"""Holds on people's time: one row per person per booked span, backed by the database."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from matching.extensions import db
from matching.models.base import UTCDateTime, now_utc

# The name the database gives a refused overlap: the PostgreSQL exclusion constraint,
# and the message of the SQLite triggers that stand in for it.
OVERLAP = "booking_no_overlap"
ONE_SOURCE = (
    "(CASE WHEN meeting_id IS NULL THEN 0 ELSE 1 END)"
    " + (CASE WHEN registration_id IS NULL THEN 0 ELSE 1 END)"
    " + (CASE WHEN event_id IS NULL THEN 0 ELSE 1 END) = 1"
)


class Booking(db.Model):
    """One person's hold on [start_at, end_at), keeping them clear until blocked_until.

    blocked_until is end_at plus the buffer in force when the time was booked, so two
    holds of one person keep the buffer between them exactly when their
    [start_at, blocked_until) ranges do not overlap. The database refuses overlapping
    active holds of one person (migration 0002): an exclusion constraint on PostgreSQL,
    triggers on SQLite. Each hold belongs to exactly one source: a meeting (a
    conversation: it counts against a listener's limits), a registration (a seat at a
    programme event) or an event (its facilitation); the last two only block time.
    """

    __table_args__ = (
        CheckConstraint("end_at > start_at", name="positive"),
        CheckConstraint("blocked_until >= end_at", name="blocked_after_end"),
        CheckConstraint(ONE_SOURCE, name="one_source"),
        UniqueConstraint("meeting_id", "user_id", name="one_hold_per_attendee"),
        UniqueConstraint("registration_id", name="one_hold_per_registration"),
        UniqueConstraint("event_id", "user_id", name="one_hold_per_facilitation"),
        Index("ix_booking_user_active", "user_id", "active", "start_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime)
    blocked_until: Mapped[datetime] = mapped_column(UTCDateTime)
    meeting_id: Mapped[int | None] = mapped_column(
        ForeignKey("meeting.id", ondelete="CASCADE"), index=True
    )
    registration_id: Mapped[int | None] = mapped_column(
        ForeignKey("registration.id", ondelete="CASCADE"), index=True
    )
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("event.id", ondelete="CASCADE"), index=True
    )
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
