"""What practitioners and listeners tell us about themselves and their time."""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, String, Time
from sqlalchemy.orm import Mapped, mapped_column, relationship

from matching.extensions import db
from matching.models.accounts import User
from matching.models.base import UTCDateTime


class PractitionerProfile(db.Model):
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), primary_key=True
    )
    organization: Mapped[str] = mapped_column(String(120), default="")
    field: Mapped[str] = mapped_column(String(20), default="other")
    languages: Mapped[list] = mapped_column(JSON, default=list)
    modalities: Mapped[list] = mapped_column(JSON, default=list)
    topics: Mapped[list] = mapped_column(JSON, default=list)
    listener_gender: Mapped[str | None] = mapped_column(String(40))
    listener_gender_required: Mapped[bool] = mapped_column(default=False)
    do_not_match: Mapped[list] = mapped_column(JSON, default=list)

    user: Mapped[User] = relationship(back_populates="practitioner_profile")


class ListenerProfile(db.Model):
    __table_args__ = (
        CheckConstraint("max_sessions_per_week BETWEEN 1 AND 10", name="week_cap"),
        CheckConstraint("max_sessions_per_day BETWEEN 1 AND 4", name="day_cap"),
    )

    user_id: Mapped[int] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), primary_key=True
    )
    organization: Mapped[str] = mapped_column(String(120), default="")
    fields: Mapped[list] = mapped_column(JSON, default=list)
    languages: Mapped[list] = mapped_column(JSON, default=list)
    modalities: Mapped[list] = mapped_column(JSON, default=list)
    topics: Mapped[list] = mapped_column(JSON, default=list)
    gender: Mapped[str | None] = mapped_column(String(40))
    max_sessions_per_week: Mapped[int] = mapped_column(default=2)
    max_sessions_per_day: Mapped[int] = mapped_column(default=1)
    do_not_match: Mapped[list] = mapped_column(JSON, default=list)
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    training_valid_until: Mapped[date | None] = mapped_column(Date)
    paused_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # How to meet: the listener's own video room (https) and where they meet in person.
    video_url: Mapped[str | None] = mapped_column(String(300))
    place: Mapped[str | None] = mapped_column(String(200))

    user: Mapped[User] = relationship(back_populates="listener_profile", foreign_keys=[user_id])
    verified_by: Mapped[User | None] = relationship(foreign_keys=[verified_by_id])

    @property
    def verified(self) -> bool:
        return self.verified_at is not None


class AvailabilityWindow(db.Model):
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday"),
        CheckConstraint("start_local <> end_local", name="not_empty"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    weekday: Mapped[int]
    start_local: Mapped[time] = mapped_column(Time)
    end_local: Mapped[time] = mapped_column(Time)


class TimeOff(db.Model):
    __table_args__ = (CheckConstraint("end_at > start_at", name="positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime)
