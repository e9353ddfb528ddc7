"""Matching rounds: run the engine over open requests, review and decide proposals."""

from __future__ import annotations

from matching.extensions import db
from matching.models import Proposal, SupportRequest, User, now_utc


def _stale(query) -> None:
    for proposal in db.session.scalars(query.where(Proposal.status == "pending")):
        proposal.status = "stale"
        proposal.decided_at = now_utc()
        request = proposal.request
        if request.status == "proposed":
            request.status = "open"


def stale_pending_for_user(user: User) -> None:
    """Withdraw pending proposals that involve this person (paused, erased)."""
    _stale(
        db.select(Proposal)
        .join(SupportRequest, SupportRequest.id == Proposal.request_id)
        .where((Proposal.listener_id == user.id) | (SupportRequest.practitioner_id == user.id))
    )
    db.session.flush()


def stale_pending_for_request(req: SupportRequest) -> None:
    _stale(db.select(Proposal).where(Proposal.request_id == req.id))
    db.session.flush()
