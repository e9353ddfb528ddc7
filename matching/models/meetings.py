"""Scheduled conversations and what people said about them afterwards."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from matching.extensions import db
from matching.models.accounts import User
from matching.models.base import UTCDateTime, now_utc
from matching.models.requests import SupportRequest

MEETING_STATUSES = ("scheduled", "cancelled", "completed", "no_show")


class Meeting(db.Model):
    __table_args__ = (
        Index("ix_meeting_listener_start", "listener_id", "start_at"),
        Index("ix_meeting_practitioner_start", "practitioner_id", "start_at"),
        Index("ix_meeting_start_at", "start_at"),
        Index("ix_meeting_request", "request_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("support_request.id", ondelete="CASCADE"))
    proposal_id: Mapped[int | None] = mapped_column(ForeignKey("proposal.id", ondelete="SET NULL"))
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    listener_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(12), default="scheduled")
    uid: Mapped[str] = mapped_column(String(255), unique=True)
    sequence: Mapped[int] = mapped_column(default=0)
    cancel_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, onupdate=now_utc)
    reminder_queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # How to meet, fixed when the conversation is booked (services/meetings.py): the
    # way (a word of vocabulary.MODALITIES), the video link, or the place. A phone
    # conversation uses the number on the request.
    modality: Mapped[str | None] = mapped_column(String(12))
    join_url: Mapped[str | None] = mapped_column(String(400))
    place: Mapped[str | None] = mapped_column(String(200))

    request: Mapped[SupportRequest] = relationship()
    practitioner: Mapped[User] = relationship(foreign_keys=[practitioner_id])
    listener: Mapped[User] = relationship(foreign_keys=[listener_id])


class Feedback(db.Model):
    __table_args__ = (
        UniqueConstraint("meeting_id", "author_id", name="one_per_author"),
        Index("ix_feedback_meeting", "meeting_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    rating: Mapped[int]
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
