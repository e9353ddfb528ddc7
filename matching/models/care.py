"""Care for listeners: a listener's request to talk a heavy stretch through."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from matching.extensions import db
from matching.models.accounts import User
from matching.models.base import UTCDateTime, now_utc

DEBRIEF_STATUSES = ("open", "arranged")


class DebriefRequest(db.Model):
    """A listener asked for a debrief with a coordinator; open until one arranges it."""

    __table_args__ = (
        CheckConstraint("status IN ('open', 'arranged')", name="status"),
        Index("ix_debrief_request_status", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    listener_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(10), default="open")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    arranged_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    arranged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    listener: Mapped[User] = relationship(foreign_keys=[listener_id])
