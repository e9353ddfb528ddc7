"""Consent: who agreed to which version of the text (matching/consent_text.py), and when.

Practitioners and listeners agree before they use the service and again whenever the
text's version changes; coordinators are staff and give no consent here.
"""

from __future__ import annotations

from datetime import datetime

from flask import g, has_app_context
from sqlalchemy import ColumnElement
from sqlalchemy.exc import IntegrityError

from matching import consent_text
from matching.errors import Invalid
from matching.extensions import db
from matching.models import Consent, User, now_utc
from matching.services import transactions

CONSENTING_ROLES = ("practitioner", "listener")
OUTDATED = "Please read and accept the current text."


def current_version() -> str:
    return consent_text.VERSION


def consent_dict() -> dict:
    """The current text and its version (GET /api/v1/consent)."""
    return {"version": current_version(), "text": consent_text.text()}


def check_version(version: str, field: str = "version") -> str:
    """Refuse anything but the current version (an older page or client is asked again)."""
    if version != current_version():
        raise Invalid(OUTDATED, fields={field: OUTDATED})
    return version


def accepted_current(user_id, version: str | None = None) -> ColumnElement[bool]:
    """A SQL condition: this user (an id or an id column) accepted the current version."""
    return (
        db.select(Consent.id)
        .where(Consent.user_id == user_id)
        .where(Consent.version == (version or current_version()))
        .exists()
    )


def remember_accepted(user_id: int, accepted: bool) -> None:
    """Keep, for this request only, what the sign-in's own query found (saves a query)."""
    g.consent_found = (user_id, current_version(), accepted)


def needs_consent(user: User) -> bool:
    """True while a practitioner or listener has not accepted the current version."""
    if user.role not in CONSENTING_ROLES:
        return False
    found = g.get("consent_found") if has_app_context() else None
    if found is not None and found[:2] == (user.id, current_version()):
        return not found[2]
    return not db.session.scalar(db.select(accepted_current(user.id)))


def accept(user: User, version: str, *, now: datetime | None = None) -> Consent:
    """Record that the person agreed to this (current) version; agreeing twice changes nothing."""
    check_version(version)
    if has_app_context():
        g.pop("consent_found", None)
    existing = db.session.scalar(
        db.select(Consent).where(Consent.user_id == user.id).where(Consent.version == version)
    )
    if existing is not None:
        return existing
    row = Consent(user_id=user.id, version=version, accepted_at=now or now_utc())
    try:
        with transactions.savepoint():
            db.session.add(row)
    except IntegrityError:
        # The same person agreed twice at once; the unique index kept one.
        return db.session.scalar(
            db.select(Consent).where(Consent.user_id == user.id).where(Consent.version == version)
        )
    return row


def consents_of(user: User) -> list[dict]:
    """Every version this person agreed to, for their export."""
    rows = db.session.scalars(
        db.select(Consent).where(Consent.user_id == user.id).order_by(Consent.accepted_at)
    )
    return [{"version": c.version, "accepted_at": c.accepted_at.isoformat()} for c in rows]


def consent_answer(row: Consent) -> dict:
    return {"version": row.version, "accepted_at": row.accepted_at.isoformat()}
