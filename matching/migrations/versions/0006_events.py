"""programme events with seats and waiting lists; holds from every calendar item; how to meet

Revision ID: 0006
Revises: 0004
Create Date: 2026-11-30 12:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None

OVERLAP = "booking_no_overlap"
SQLITE_OVERLAP = """
CREATE TRIGGER booking_no_overlap_{event} BEFORE {event} ON booking
WHEN NEW.active
BEGIN
  SELECT RAISE(ABORT, '{name}') WHERE EXISTS (
    SELECT 1 FROM booking AS other
    WHERE other.user_id = NEW.user_id
      AND other.active
      AND other.id IS NOT NEW.id
      AND other.start_at < NEW.blocked_until
      AND NEW.start_at < other.blocked_until
  );
END
"""
ONE_MEETING = "(CASE WHEN meeting_id IS NULL THEN 0 ELSE 1 END) = 1"
ONE_SOURCE = (
    "(CASE WHEN meeting_id IS NULL THEN 0 ELSE 1 END)"
    " + (CASE WHEN registration_id IS NULL THEN 0 ELSE 1 END)"
    " + (CASE WHEN event_id IS NULL THEN 0 ELSE 1 END) = 1"
)
ACTIVE = "status IN ('pending_approval', 'confirmed', 'offered', 'waitlisted')"


def upgrade():
    _events()
    _holds_from_every_item()
    _how_to_meet()


def _events():
    op.create_table(
        "event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("modality", sa.String(length=12), nullable=False),
        sa.Column("location", sa.String(length=300), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("seats_taken", sa.Integer(), nullable=False),
        sa.Column("joined", sa.Integer(), nullable=False),
        sa.Column("registration_closes", sa.DateTime(timezone=True), nullable=False),
        sa.Column("requires_approval", sa.Boolean(), nullable=False),
        sa.Column("open_to", sa.JSON(), nullable=False),
        sa.Column("facilitator_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("cancel_reason", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("end_at > start_at", name=op.f("ck_event_positive")),
        sa.CheckConstraint("capacity >= 1", name=op.f("ck_event_capacity")),
        # The last seat is never given twice: the database refuses more than capacity.
        sa.CheckConstraint(
            "seats_taken >= 0 AND seats_taken <= capacity", name=op.f("ck_event_seats")
        ),
        sa.CheckConstraint(
            "registration_closes <= start_at", name=op.f("ck_event_closes_in_time")
        ),
        sa.ForeignKeyConstraint(
            ["facilitator_id"], ["user.id"],
            name=op.f("fk_event_facilitator_id_user"), ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user.id"],
            name=op.f("fk_event_created_by_id_user"), ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event")),
        sa.UniqueConstraint("uid", name=op.f("uq_event_uid")),
    )
    op.create_index("ix_event_start", "event", ["start_at"])
    op.create_index(op.f("ix_event_facilitator_id"), "event", ["facilitator_id"])

    op.create_table(
        "registration",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=255), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("offer_expires", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attended", sa.Boolean(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["event.id"],
            name=op.f("fk_registration_event_id_event"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"],
            name=op.f("fk_registration_user_id_user"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registration")),
        sa.UniqueConstraint("uid", name=op.f("uq_registration_uid")),
        sa.UniqueConstraint("event_id", "number", name="one_number_per_event"),
    )
    op.create_index(
        "uq_registration_active", "registration", ["event_id", "user_id"], unique=True,
        sqlite_where=sa.text(ACTIVE), postgresql_where=sa.text(ACTIVE),
    )
    op.create_index(
        "ix_registration_event_status", "registration", ["event_id", "status", "number"]
    )
    op.create_index("ix_registration_user", "registration", ["user_id"])
    op.create_index("ix_registration_offers", "registration", ["status", "offer_expires"])

    op.create_table(
        "event_feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("rating BETWEEN 1 AND 5", name=op.f("ck_event_feedback_rating")),
        sa.ForeignKeyConstraint(
            ["event_id"], ["event.id"],
            name=op.f("fk_event_feedback_event_id_event"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["author_id"], ["user.id"],
            name=op.f("fk_event_feedback_author_id_user"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_feedback")),
        sa.UniqueConstraint("event_id", "author_id", name="one_event_rating_per_author"),
    )
    op.create_index(op.f("ix_event_feedback_event_id"), "event_feedback", ["event_id"])


def _holds_from_every_item():
    """A hold's source: a meeting, a registration or an event's facilitation (one each).

    SQLite rebuilds the table to change its CHECK, which drops its triggers: they are
    made again, so overlapping holds stay refused (the exclusion constraint of
    PostgreSQL stays as it is).
    """
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table("booking", schema=None) as batch_op:
        batch_op.add_column(sa.Column("registration_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("event_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_booking_registration_id_registration"), "registration",
            ["registration_id"], ["id"], ondelete="CASCADE",
        )
        batch_op.create_foreign_key(
            op.f("fk_booking_event_id_event"), "event", ["event_id"], ["id"], ondelete="CASCADE"
        )
        batch_op.drop_constraint(op.f("ck_booking_one_source"), type_="check")
        batch_op.create_check_constraint(op.f("ck_booking_one_source"), sa.text(ONE_SOURCE))
        batch_op.create_unique_constraint("one_hold_per_registration", ["registration_id"])
        batch_op.create_unique_constraint("one_hold_per_facilitation", ["event_id", "user_id"])
        batch_op.create_index(op.f("ix_booking_registration_id"), ["registration_id"])
        batch_op.create_index(op.f("ix_booking_event_id"), ["event_id"])
    if sqlite:
        for event in ("INSERT", "UPDATE"):
            op.execute(f"DROP TRIGGER IF EXISTS booking_no_overlap_{event}")
            op.execute(SQLITE_OVERLAP.format(event=event, name=OVERLAP))


def _how_to_meet():
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
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.execute("DELETE FROM booking WHERE meeting_id IS NULL")
    with op.batch_alter_table("booking", schema=None) as batch_op:
        batch_op.drop_index(op.f("ix_booking_event_id"))
        batch_op.drop_index(op.f("ix_booking_registration_id"))
        batch_op.drop_constraint("one_hold_per_facilitation", type_="unique")
        batch_op.drop_constraint("one_hold_per_registration", type_="unique")
        batch_op.drop_constraint(op.f("ck_booking_one_source"), type_="check")
        batch_op.create_check_constraint(op.f("ck_booking_one_source"), sa.text(ONE_MEETING))
        batch_op.drop_constraint(op.f("fk_booking_event_id_event"), type_="foreignkey")
        batch_op.drop_constraint(
            op.f("fk_booking_registration_id_registration"), type_="foreignkey"
        )
        batch_op.drop_column("event_id")
        batch_op.drop_column("registration_id")
    if sqlite:
        for event in ("INSERT", "UPDATE"):
            op.execute(f"DROP TRIGGER IF EXISTS booking_no_overlap_{event}")
            op.execute(SQLITE_OVERLAP.format(event=event, name=OVERLAP))
    op.drop_table("event_feedback")
    op.drop_table("registration")
    op.drop_table("event")
    with op.batch_alter_table("meeting", schema=None) as batch_op:
        batch_op.drop_column("place")
        batch_op.drop_column("join_url")
        batch_op.drop_column("modality")
    with op.batch_alter_table("support_request", schema=None) as batch_op:
        batch_op.drop_column("phone")
    with op.batch_alter_table("listener_profile", schema=None) as batch_op:
        batch_op.drop_column("place")
        batch_op.drop_column("video_url")
