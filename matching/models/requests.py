"""A practitioner's request for a peer listener."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from matching.extensions import db
from matching.models.accounts import User
from matching.models.base import UTCDateTime, now_utc

REQUEST_STATUSES = ("open", "proposed", "scheduled", "closed", "withdrawn")
ACTIVE_REQUEST_STATUSES = ("open", "proposed", "scheduled")


class SupportRequest(db.Model):
    __table_args__ = (
        Index("ix_support_request_status", "status"),
        Index("ix_support_request_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    practitioner_id: Mapped[int] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), index=True
    )
    urgency: Mapped[str] = mapped_column(String(10), default="routine")
    topics: Mapped[list] = mapped_column(JSON, default=list)
    modalities: Mapped[list] = mapped_column(JSON, default=list)
    note: Mapped[str] = mapped_column(Text, default="")
    # The number for a phone conversation; the listener sees it once a conversation is booked.
    phone: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(12), default="open")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, onupdate=now_utc)

    practitioner: Mapped[User] = relationship()


class RequestExclusion(db.Model):
    """A listener never to be proposed for this request (the practitioner asked for another)."""

    request_id: Mapped[int] = mapped_column(
        ForeignKey("support_request.id", ondelete="CASCADE"), primary_key=True
    )
    listener_id: Mapped[int] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
