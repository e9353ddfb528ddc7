"""The audit trail of coordinators' and people's state changes."""

from __future__ import annotations

from matching.extensions import db
from matching.models import AuditEvent, User


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
    )
    db.session.add(event)
    return event
