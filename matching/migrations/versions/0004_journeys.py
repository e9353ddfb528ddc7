"""people's journeys: verified addresses, one-time links, consent, exclusions, debriefs

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 04:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("user") as batch:
        batch.add_column(sa.Column("email_verified_at", sa.DateTime(timezone=True), nullable=True))
    # Accounts made before verification existed were already receiving mail: keep it so.
    op.execute('UPDATE "user" SET email_verified_at = created_at')

    op.create_table(
        "account_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=10), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "purpose IN ('verify', 'reset')", name=op.f("ck_account_token_purpose")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"],
            name=op.f("fk_account_token_user_id_user"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_account_token_token_hash")),
    )
    op.create_index(op.f("ix_account_token_user_id"), "account_token", ["user_id"])

    op.create_table(
        "consent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=40), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_consent_user_id_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent")),
        sa.UniqueConstraint("user_id", "version", name="one_per_version"),
    )
    op.create_index(op.f("ix_consent_user_id"), "consent", ["user_id"])

    op.create_table(
        "request_exclusion",
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("listener_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"], ["support_request.id"],
            name=op.f("fk_request_exclusion_request_id_support_request"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["listener_id"], ["user.id"],
            name=op.f("fk_request_exclusion_listener_id_user"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("request_id", "listener_id", name=op.f("pk_request_exclusion")),
    )

    op.create_table(
        "debrief_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("listener_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("arranged_by_id", sa.Integer(), nullable=True),
        sa.Column("arranged_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('open', 'arranged')", name=op.f("ck_debrief_request_status")
        ),
        sa.ForeignKeyConstraint(
            ["listener_id"], ["user.id"],
            name=op.f("fk_debrief_request_listener_id_user"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["arranged_by_id"], ["user.id"],
            name=op.f("fk_debrief_request_arranged_by_id_user"), ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_debrief_request")),
    )
    op.create_index(op.f("ix_debrief_request_listener_id"), "debrief_request", ["listener_id"])
    op.create_index("ix_debrief_request_status", "debrief_request", ["status", "created_at"])


def downgrade():
    op.drop_index("ix_debrief_request_status", table_name="debrief_request")
    op.drop_index(op.f("ix_debrief_request_listener_id"), table_name="debrief_request")
    op.drop_table("debrief_request")
    op.drop_table("request_exclusion")
    op.drop_index(op.f("ix_consent_user_id"), table_name="consent")
    op.drop_table("consent")
    op.drop_index(op.f("ix_account_token_user_id"), table_name="account_token")
    op.drop_table("account_token")
    with op.batch_alter_table("user") as batch:
        batch.drop_column("email_verified_at")
