"""The audit trail: who did what to which object, when, and from which address.

Rows are only ever added (no code updates or deletes one; the database refuses it).
They never hold passwords, tokens or the text of a private note.
"""

from __future__ import annotations

from contextvars import ContextVar

from matching.extensions import db
from matching.models import AuditEvent, User, now_utc

# The client address of the request being served, set by the web layer for the length
# of each request (security.register) so that services need not read the request.
_address: ContextVar[str | None] = ContextVar("audit_address", default=None)


def set_client_address(address: str | None):
    """Start recording ``address`` (returns the token that reset_client_address takes)."""
    return _address.set(address)


def reset_client_address(token) -> None:
    _address.reset(token)


def record(
    actor: User | None,
    action: str,
    subject_type: str,
    subject_id: int | None,
    summary: str = "",
    **data,
) -> AuditEvent:
    """Write one audit event in the current transaction."""
    event = AuditEvent(
        actor_id=actor.id if actor else None,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        summary=summary,
        data=data,
        address=_address.get(),
    )
    db.session.add(event)
    return event


def record_each(
    actor: User | None, action: str, subject_type: str, subject_ids: list[int], summary: str = ""
) -> None:
    """Write one audit event per subject, in a single statement (a page may show many)."""
    if not subject_ids:
        return
    address = _address.get()
    now = now_utc()
    # The table's own insert: the ORM's bulk path costs more than the rows themselves.
    db.session.execute(
        AuditEvent.__table__.insert(),
        [
            {
                "created_at": now,
                "actor_id": actor.id if actor else None,
                "action": action,
                "subject_type": subject_type,
                "subject_id": subject_id,
                "summary": summary,
                "data": {},
                "address": address,
            }
            for subject_id in subject_ids
        ],
    )
