"""Holds on people's time: the one lock, the one writer, the database as backstop.

Every path that books a person's time follows the same three steps:

1. ``lock_people(ids)`` for everyone whose time it books (before it reads anything
   it decides on), so decisions about the same people happen one after another;
2. re-check every hard rule on data read after the lock (engine.check_slot through
   services/engine_input.py, whose busy times come from the active holds here);
3. write inside ``attempt()``: a SAVEPOINT, so that when the database still refuses an
   overlapping hold (the exclusion constraint on PostgreSQL, the triggers on SQLite)
   everything written inside it is undone, the transaction stays usable, and the
   caller gets Conflict ``slot_taken`` — never a 500. A caller that decides many
   bookings in one transaction (bulk approval) wraps each one in its own attempt().

Only this module writes Booking rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy.exc import IntegrityError

from matching.errors import Conflict
from matching.extensions import db
from matching.models import OVERLAP, Booking, Event, Meeting, Registration, User
from matching.services import transactions

SLOT_TAKEN = "slot_taken"


def lock_people(user_ids: Iterable[int]) -> None:
    """Serialise booking decisions about these people until this transaction ends.

    PostgreSQL: row locks on the users, taken in id order so two bookings cannot
    deadlock (FOR NO KEY UPDATE, so foreign-key checks of other writes do not wait).
    SQLite: a no-op write takes the database's write lock, which the driver otherwise
    would only take at the first real write, after the re-check.
    """
    ids = sorted(set(user_ids))
    if not ids:
        return
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(
            db.update(User)
            .where(User.id.in_(ids))
            .values(session_version=User.session_version)
            .execution_options(synchronize_session=False)
        )
    else:
        db.session.execute(
            db.select(User.id)
            .where(User.id.in_(ids))
            .order_by(User.id)
            .with_for_update(key_share=True)
        )


def slot_taken(message: str = "That time was just taken. Please choose another.") -> Conflict:
    return Conflict(message, code=SLOT_TAKEN)


def is_overlap(err: IntegrityError) -> bool:
    """Tell whether the database refused a hold because it overlaps another one."""
    orig = err.orig
    diag = getattr(orig, "diag", None)
    if diag is not None and getattr(diag, "constraint_name", None) == OVERLAP:
        return True
    return OVERLAP in str(orig)


@contextmanager
def attempt() -> Iterator[None]:
    """Run one booking's writes in a SAVEPOINT; an overlap undoes them and raises slot_taken.

    Any other error raised inside also undoes the writes made inside, and propagates.
    """
    try:
        with transactions.savepoint():
            yield
    except IntegrityError as err:
        if not is_overlap(err):
            raise
        raise slot_taken() from None


def blocked_until(end: datetime) -> datetime:
    """The end of a hold: the session's end plus the buffer in force now."""
    return end + timedelta(minutes=current_app.config["MATCH_BUFFER_MINUTES"])


def hold_meeting(meeting: Meeting) -> list[Booking]:
    """Hold the meeting's time for both attendees (raises slot_taken on overlap)."""
    holds = [
        _hold(user_id, meeting.start_at, meeting.end_at, meeting_id=meeting.id)
        for user_id in (meeting.practitioner_id, meeting.listener_id)
    ]
    with attempt():
        db.session.add_all(holds)
    return holds


def move_meeting(meeting: Meeting) -> None:
    """Move the meeting's active holds to its current start and end (raises slot_taken)."""
    _move(Booking.meeting_id == meeting.id, meeting.start_at, meeting.end_at)


def release_meeting(meeting: Meeting) -> None:
    """Free the time the meeting held (it was cancelled, took place or was missed)."""
    _release(Booking.meeting_id == meeting.id)


def hold_registration(registration: Registration) -> Booking:
    """Hold the registrant's time for the event's session (raises slot_taken on overlap)."""
    event = registration.event
    hold = _hold(
        registration.user_id, event.start_at, event.end_at, registration_id=registration.id
    )
    with attempt():
        db.session.add(hold)
    return hold


def release_registration(registration: Registration) -> None:
    """Free the time a seat held (withdrawn, or the event was cancelled)."""
    _release(Booking.registration_id == registration.id)


def hold_facilitation(event: Event) -> None:
    """Hold the facilitator's time for the event (raises slot_taken on overlap).

    A person who facilitated the event before has their old hold made active again.
    """
    with attempt():
        db.session.execute(
            db.delete(Booking)
            .where(Booking.event_id == event.id)
            .where(Booking.user_id == event.facilitator_id)
            .where(Booking.active.is_(False))
        )
        db.session.add(_hold(event.facilitator_id, event.start_at, event.end_at, event_id=event.id))


def release_facilitation(event: Event) -> None:
    """Free the time of whoever facilitated the event."""
    _release(Booking.event_id == event.id)


def move_event(event: Event) -> None:
    """Move every active hold of the event (seats and facilitation) to its current times.

    Raises slot_taken, moving nothing, when one of those people is busy at the new time.
    """
    _move(_of_event(event), event.start_at, event.end_at)


def release_event(event: Event) -> None:
    """Free every hold of a cancelled event: its seats and its facilitation."""
    _release(_of_event(event))


def _of_event(event: Event):
    """The holds of an event: its seats and its facilitation."""
    seats = db.select(Registration.id).where(Registration.event_id == event.id)
    return (Booking.event_id == event.id) | Booking.registration_id.in_(seats)


def _hold(user_id: int, start: datetime, end: datetime, **item: int) -> Booking:
    """A new active hold of a person's time for one item (meeting_id=, registration_id=, ...)."""
    return Booking(
        user_id=user_id,
        start_at=start,
        end_at=end,
        blocked_until=blocked_until(end),
        active=True,
        **item,
    )


def _move(which, start: datetime, end: datetime) -> None:
    """Move the active holds ``which`` selects to new times (raises slot_taken on overlap)."""
    with attempt():
        db.session.execute(
            db.update(Booking)
            .where(which)
            .where(Booking.active.is_(True))
            .values(start_at=start, end_at=end, blocked_until=blocked_until(end))
            .execution_options(synchronize_session=False)
        )


def _release(which) -> None:
    db.session.execute(
        db.update(Booking)
        .where(which)
        .where(Booking.active.is_(True))
        .values(active=False)
        .execution_options(synchronize_session=False)
    )


def busy_times(
    user_ids: Iterable[int], since: datetime, *, skip_meeting: int | None = None
) -> list[tuple[int, datetime, datetime]]:
    """(user_id, start, end) of these people's active conversation holds ending after ``since``.

    These block time and count against a listener's limits; held_times gives the rest.
    """
    query = _active_holds(user_ids, since).where(Booking.meeting_id.is_not(None))
    if skip_meeting is not None:
        query = query.where(Booking.meeting_id != skip_meeting)
    return [tuple(row) for row in db.session.execute(query)]


def held_times(user_ids: Iterable[int], since: datetime) -> list[tuple[int, datetime, datetime]]:
    """(user_id, start, end) of these people's other active holds (workshop seats ...).

    These block time like a conversation but count against no limit.
    """
    query = _active_holds(user_ids, since).where(Booking.meeting_id.is_(None))
    return [tuple(row) for row in db.session.execute(query)]


def _active_holds(user_ids: Iterable[int], since: datetime):
    return (
        db.select(Booking.user_id, Booking.start_at, Booking.end_at)
        .where(Booking.user_id.in_(sorted(set(user_ids))))
        .where(Booking.active.is_(True))
        .where(Booking.end_at > since)
    )


def overlapping_holds() -> list[tuple[int, int]]:
    """Pairs of active hold ids of one person that overlap (always empty: for checks)."""
    other = db.aliased(Booking)
    rows = db.session.execute(
        db.select(Booking.id, other.id)
        .join(other, other.user_id == Booking.user_id)
        .where(Booking.id < other.id)
        .where(Booking.active.is_(True))
        .where(other.active.is_(True))
        .where(Booking.start_at < other.blocked_until)
        .where(other.start_at < Booking.blocked_until)
    )
    return [tuple(row) for row in rows]
