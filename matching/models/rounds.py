"""Matching rounds and the proposals they make."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from matching.extensions import db
from matching.models.accounts import User
from matching.models.base import UTCDateTime, now_utc
from matching.models.requests import SupportRequest

PROPOSAL_STATUSES = ("pending", "approved", "rejected", "stale")
ROUND_RUN_STATUSES = ("running", "finished", "failed")


class MatchingRound(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    parameters: Mapped[dict] = mapped_column(JSON, default=dict)
    statistics: Mapped[dict] = mapped_column(JSON, default=dict)
    # [{"request_id": int, "reasons": [str]}] for the requests left unmatched.
    unmatched: Mapped[list] = mapped_column(JSON, default=list)

    started_by: Mapped[User | None] = relationship()
    proposals: Mapped[list[Proposal]] = relationship(back_populates="round", order_by="Proposal.id")


class Proposal(db.Model):
    __table_args__ = (
        Index("ix_proposal_listener_status", "listener_id", "status"),
        Index("ix_proposal_request", "request_id"),
        Index("ix_proposal_round_status", "round_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("matching_round.id", ondelete="CASCADE"))
    request_id: Mapped[int] = mapped_column(ForeignKey("support_request.id", ondelete="CASCADE"))
    listener_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime)
    score: Mapped[int]
    parts: Mapped[dict] = mapped_column(JSON, default=dict)
    reasons: Mapped[list] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    never_again: Mapped[bool] = mapped_column(default=False)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    round: Mapped[MatchingRound] = relationship(back_populates="proposals")
    request: Mapped[SupportRequest] = relationship()
    listener: Mapped[User] = relationship(foreign_keys=[listener_id])


class RoundRun(db.Model):
    """One attempt to run a round; the database lets only one be running at a time.

    The row is written and committed on its own connection before the engine starts,
    so every worker and host sees it; the partial unique index refuses a second
    running row. Finishing marks it in the round's own transaction.
    """

    __table_args__ = (
        Index(
            "uq_round_run_running",
            "status",
            unique=True,
            sqlite_where=text("status = 'running'"),
            postgresql_where=text("status = 'running'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(10), default="running")
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # How many open requests the round covers, known before the engine starts.
    requests: Mapped[int] = mapped_column(default=0)
    round_id: Mapped[int | None] = mapped_column(
        ForeignKey("matching_round.id", ondelete="SET NULL")
    )

    started_by: Mapped[User | None] = relationship()
