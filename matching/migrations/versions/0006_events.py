"""how to meet: places on conversations, listeners' links and places, the request's phone

Revision ID: 0006
Revises: 0003
Create Date: 2026-11-30 12:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = "0006"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("listener_profile", schema=None) as batch_op:
        batch_op.add_column(sa.Column("video_url", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("place", sa.String(length=200), nullable=True))
    with op.batch_alter_table("support_request", schema=None) as batch_op:
        batch_op.add_column(sa.Column("phone", sa.String(length=32), nullable=True))
    with op.batch_alter_table("meeting", schema=None) as batch_op:
        batch_op.add_column(sa.Column("modality", sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column("join_url", sa.String(length=400), nullable=True))
        batch_op.add_column(sa.Column("place", sa.String(length=200), nullable=True))


def downgrade():
    with op.batch_alter_table("meeting", schema=None) as batch_op:
        batch_op.drop_column("place")
        batch_op.drop_column("join_url")
        batch_op.drop_column("modality")
    with op.batch_alter_table("support_request", schema=None) as batch_op:
        batch_op.drop_column("phone")
    with op.batch_alter_table("listener_profile", schema=None) as batch_op:
        batch_op.drop_column("place")
        batch_op.drop_column("video_url")
