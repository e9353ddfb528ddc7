"""People, their API tokens and the audit trail."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from matching.extensions import db
from matching.models.base import UTCDateTime, now_utc

ROLES = ("practitioner", "listener", "coordinator")


class User(UserMixin, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20), index=True)
    display_name: Mapped[str] = mapped_column(String(80))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Bumped on password change and erasure so that old sessions stop working.
    session_version: Mapped[int] = mapped_column(default=0)
    feed_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Until the address is confirmed, nothing but the verification mail is sent to it.
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    practitioner_profile: Mapped[PractitionerProfile | None] = relationship(  # noqa: F821
        back_populates="user", cascade="all, delete-orphan", uselist=False
    )
    listener_profile: Mapped[ListenerProfile | None] = relationship(  # noqa: F821
        back_populates="user",
        cascade="all, delete-orphan",
        uselist=False,
        foreign_keys="ListenerProfile.user_id",
    )

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def profile(self):
        if self.role == "practitioner":
            return self.practitioner_profile
        if self.role == "listener":
            return self.listener_profile
        return None


class ApiToken(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class UserSession(db.Model):
    """A signed-in browser: the cookie carries a random key, the database its hash.

    Signing out deletes the row, so a copied or replayed cookie stops working. The row
    also ends after SESSION_IDLE_MINUTES without use and SESSION_MAX_HOURS after sign-in.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    user: Mapped[User] = relationship()


class AuditEvent(db.Model):
    """Append-only: nothing updates or deletes a row (a trigger refuses it, migration 0002)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(64))
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[int | None]
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    summary: Mapped[str] = mapped_column(Text, default="")
    # The client's address as the trusted proxies report it (none from the command line).
    address: Mapped[str | None] = mapped_column(String(64))

    actor: Mapped[User | None] = relationship()


TOKEN_PURPOSES = ("verify", "reset")


class AccountToken(db.Model):
    """A single-use link sent by e-mail (address verification, password reset).

    Only the token's hash is stored; it works once (used_at) and until expires_at.
    """

    __table_args__ = (CheckConstraint("purpose IN ('verify', 'reset')", name="purpose"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(10))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class Consent(db.Model):
    """A person's agreement to one version of the consent text, and when they gave it."""

    __table_args__ = (UniqueConstraint("user_id", "version", name="one_per_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    version: Mapped[str] = mapped_column(String(40))
    accepted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
