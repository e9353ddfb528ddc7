"""coordination at scale: one running round at a time, indexes for the queue and reports

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 01:50:00

"""
from alembic import op
import sqlalchemy as sa


revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "round_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("started_by_id", sa.Integer(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["started_by_id"], ["user.id"],
            name=op.f("fk_round_run_started_by_id_user"), ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["round_id"], ["matching_round.id"],
            name=op.f("fk_round_run_round_id_matching_round"), ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_round_run")),
    )
    # At most one running round, whatever the number of workers or hosts.
    op.create_index(
        "uq_round_run_running",
        "round_run",
        ["status"],
        unique=True,
        sqlite_where=sa.text("status = 'running'"),
        postgresql_where=sa.text("status = 'running'"),
    )
    op.create_index("ix_proposal_round_status", "proposal", ["round_id", "status"])
    op.create_index("ix_support_request_created_at", "support_request", ["created_at"])
    op.create_index("ix_meeting_start_at", "meeting", ["start_at"])
    op.create_index("ix_meeting_request", "meeting", ["request_id"])
    op.create_index("ix_feedback_meeting", "feedback", ["meeting_id"])


def downgrade():
    op.drop_index("ix_feedback_meeting", table_name="feedback")
    op.drop_index("ix_meeting_request", table_name="meeting")
    op.drop_index("ix_meeting_start_at", table_name="meeting")
    op.drop_index("ix_support_request_created_at", table_name="support_request")
    op.drop_index("ix_proposal_round_status", table_name="proposal")
    op.drop_index("uq_round_run_running", table_name="round_run")
    op.drop_table("round_run")
