"""bookings held by the database, server-side sessions, append-only audit with addresses

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 02:00:00

"""
from datetime import UTC, datetime, timedelta

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

OVERLAP = "booking_no_overlap"
BUFFER_MINUTES = 15  # the default buffer; existing meetings get holds with it

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

SQLITE_AUDIT = """
CREATE TRIGGER audit_event_append_only_{event} BEFORE {event} ON audit_event
BEGIN
  SELECT RAISE(ABORT, 'audit rows are never changed or deleted');
END
"""

POSTGRES_AUDIT = """
CREATE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit rows are never changed or deleted'
    USING ERRCODE = 'insufficient_privilege';
END
$$
"""


def upgrade():
    dialect = op.get_bind().dialect.name

    op.create_table('booking',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('start_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('end_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('blocked_until', sa.DateTime(timezone=True), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('(CASE WHEN meeting_id IS NULL THEN 0 ELSE 1 END) = 1', name=op.f('ck_booking_one_source')),
    sa.CheckConstraint('blocked_until >= end_at', name=op.f('ck_booking_blocked_after_end')),
    sa.CheckConstraint('end_at > start_at', name=op.f('ck_booking_positive')),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], name=op.f('fk_booking_meeting_id_meeting'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_booking_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_booking')),
    sa.UniqueConstraint('meeting_id', 'user_id', name='one_hold_per_attendee')
    )
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.create_index('ix_booking_user_active', ['user_id', 'active', 'start_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_booking_meeting_id'), ['meeting_id'], unique=False)

    _hold_scheduled_meetings()

    if dialect == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        op.execute(
            f"ALTER TABLE booking ADD CONSTRAINT {OVERLAP} EXCLUDE USING gist "
            "(user_id WITH =, tstzrange(start_at, blocked_until) WITH &&) WHERE (active)"
        )
    else:
        for event in ("INSERT", "UPDATE"):
            op.execute(SQLITE_OVERLAP.format(event=event, name=OVERLAP))

    op.create_table('user_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_user_session_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_session')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_user_session_key_hash'))
    )
    with op.batch_alter_table('user_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_session_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('address', sa.String(length=64), nullable=True))

    if dialect == "postgresql":
        op.execute(POSTGRES_AUDIT)
        op.execute(
            "CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event "
            "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()"
        )
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(SQLITE_AUDIT.format(event=event))


def _hold_scheduled_meetings():
    """Give every scheduled meeting a hold per attendee.

    A person who is already double-booked (the schema could not refuse it before) keeps
    the earlier meeting's hold active; the later one's hold is written inactive so the
    constraint can be created, and the meeting is named here for a coordinator to move.
    """
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT id, practitioner_id, listener_id, start_at, end_at FROM meeting "
            "WHERE status = 'scheduled' ORDER BY start_at, id"
        )
    ).all()
    booking = sa.table(
        "booking",
        sa.column("user_id", sa.Integer),
        sa.column("start_at", sa.DateTime(timezone=True)),
        sa.column("end_at", sa.DateTime(timezone=True)),
        sa.column("blocked_until", sa.DateTime(timezone=True)),
        sa.column("meeting_id", sa.Integer),
        sa.column("active", sa.Boolean),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    taken: dict[int, list[tuple]] = {}
    values = []
    now = datetime.now(UTC).replace(tzinfo=None)
    for meeting_id, practitioner_id, listener_id, start, end in rows:
        start, end = _naive_utc(start), _naive_utc(end)
        until = end + timedelta(minutes=BUFFER_MINUTES)
        for user_id in (practitioner_id, listener_id):
            clash = any(s < until and start < u for s, u in taken.get(user_id, []))
            if clash:
                print(f"meeting {meeting_id} overlaps another session of user {user_id}")
            else:
                taken.setdefault(user_id, []).append((start, until))
            values.append(
                {
                    "user_id": user_id,
                    "start_at": start,
                    "end_at": end,
                    "blocked_until": until,
                    "meeting_id": meeting_id,
                    "active": not clash,
                    "created_at": now,
                }
            )
    if values:
        op.bulk_insert(booking, values)


def _naive_utc(value):
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_event_append_only ON audit_event")
        op.execute("DROP FUNCTION IF EXISTS audit_event_append_only()")
    else:
        for event in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS audit_event_append_only_{event.upper()}")
        for event in ("INSERT", "UPDATE"):
            op.execute(f"DROP TRIGGER IF EXISTS booking_no_overlap_{event}")
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_column('address')

    with op.batch_alter_table('user_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_session_user_id'))
    op.drop_table('user_session')

    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_booking_meeting_id'))
        batch_op.drop_index('ix_booking_user_active')
    op.drop_table('booking')
