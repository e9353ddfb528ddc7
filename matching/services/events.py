"""Programme events: workshops and seminars with seats, waiting lists and offers.

Every change of seats happens under the event's row lock (``_lock``: SELECT ... FOR
UPDATE on PostgreSQL, the write lock on SQLite), and the database refuses more seats
than the capacity (CHECK on ``event.seats_taken``), so the last seat is never given
twice. A seat is held by a registration that is confirmed, offered or waiting for
approval. People join in order (``Registration.number``); when a seat frees, it is
offered to the first on the waiting list for EVENT_OFFER_HOURS, then passes on (the
worker: ``pass_on_expired_offers``); a declined offer passes on at once; no offers are
made once registration has closed.

Calendar entries go through services/calendar.py: each registration is its own item
(its own UID and SEQUENCE, the registrant the only ATTENDEE), the facilitation another.
A confirmed seat and a facilitation hold the person's time (services/bookings.py).
Services only flush; every coordinator change writes an audit event.
"""

from __future__ import annotations

import calendar as months
import statistics
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from matching.errors import Conflict, Invalid, NotAllowed, NotFound
from matching.extensions import db
from matching.models import (
    ACTIVE_REGISTRATION_STATUSES,
    SEAT_STATUSES,
    Event,
    EventFeedback,
    ListenerProfile,
    Registration,
    User,
    now_utc,
)
from matching.services import audit, bookings, calendar, transactions, validate
from matching.vocabulary import OPEN_TO, RATINGS

MIN_GROUP = 5  # feedback about fewer people is withheld
OFFER_SALT = "event-offer"


# --- reading ------------------------------------------------------------------------


def registration_open(event: Event, now: datetime) -> bool:
    return event.status == "published" and now < event.registration_closes and now < event.start_at


def seats_left(event: Event) -> int:
    return max(event.capacity - event.seats_taken, 0)


def may_see_roster(user: User, event: Event) -> bool:
    return user.role == "coordinator" or user.id == event.facilitator_id


def get_event(viewer: User, event_id: int) -> Event:
    """The event if ``viewer`` may see it; otherwise NotFound.

    Coordinators and the facilitator see it always; others see published events open to
    their role, and any event they registered for.
    """
    event = db.session.get(Event, event_id)
    if event is None or not _visible(viewer, event):
        raise NotFound("No such event.")
    return event


def _visible(viewer: User, event: Event) -> bool:
    if may_see_roster(viewer, event):
        return True
    if event.status == "published" and viewer.role in event.open_to:
        return True
    return latest_registration(viewer, event) is not None


def latest_registration(user: User, event: Event) -> Registration | None:
    return db.session.scalar(
        db.select(Registration)
        .where(Registration.event_id == event.id)
        .where(Registration.user_id == user.id)
        .order_by(Registration.id.desc())
        .limit(1)
    )


def upcoming(viewer: User, *, now: datetime | None = None) -> list[Event]:
    """Published events that have not ended, open to ``viewer`` (or theirs to run), by start."""
    now = now or now_utc()
    query = (
        db.select(Event)
        .where(Event.status == "published")
        .where(Event.end_at > now)
        .order_by(Event.start_at, Event.id)
    )
    return [
        e
        for e in db.session.scalars(query)
        if may_see_roster(viewer, e) or viewer.role in e.open_to
    ]


def list_events(
    viewer: User, *, after: int | None = None, limit: int = 50, now: datetime | None = None
) -> tuple[list[Event], int | None]:
    """One page of the upcoming events ``viewer`` may see, by id."""
    rows = [e for e in upcoming(viewer, now=now) if after is None or e.id > after]
    rows.sort(key=lambda e: e.id)
    next_cursor = rows[limit - 1].id if len(rows) > limit else None
    return rows[:limit], next_cursor


def registrations_of(user: User, events: list[Event]) -> dict[int, Registration]:
    """The latest registration of ``user`` for each of these events, in one query."""
    if not events:
        return {}
    rows = db.session.scalars(
        db.select(Registration)
        .where(Registration.user_id == user.id)
        .where(Registration.event_id.in_([e.id for e in events]))
        .order_by(Registration.id)
    )
    return {r.event_id: r for r in rows}


def registrations_by(user: User) -> list[dict]:
    """Every registration a person made (for their export)."""
    rows = db.session.scalars(
        db.select(Registration).where(Registration.user_id == user.id).order_by(Registration.id)
    )
    return [registration_dict(r) for r in rows]


def position(registration: Registration) -> int | None:
    """Place on the waiting list (1 is next), for a waiting registration."""
    if registration.status != "waitlisted":
        return None
    ahead = db.session.scalar(
        db.select(db.func.count())
        .select_from(Registration)
        .where(Registration.event_id == registration.event_id)
        .where(Registration.status == "waitlisted")
        .where(Registration.number < registration.number)
    )
    return ahead + 1


def positions(registrations: list[Registration]) -> dict[int, int]:
    """Place on the waiting list of each waiting registration, in one query."""
    waiting = [r.id for r in registrations if r.status == "waitlisted"]
    if not waiting:
        return {}
    ahead = db.aliased(Registration)
    rows = db.session.execute(
        db.select(Registration.id, db.func.count(ahead.id))
        .outerjoin(
            ahead,
            (ahead.event_id == Registration.event_id)
            & (ahead.status == "waitlisted")
            & (ahead.number < Registration.number),
        )
        .where(Registration.id.in_(waiting))
        .group_by(Registration.id)
    )
    return {registration_id: count + 1 for registration_id, count in rows}


def registration_dict(registration: Registration, place: int | None = None) -> dict:
    """The registration for the API (``place``: its waiting-list position, if known)."""
    data = {
        "id": registration.id,
        "event_id": registration.event_id,
        "status": registration.status,
    }
    if registration.status == "waitlisted":
        data["position"] = place or position(registration)
    if registration.status == "offered" and registration.offer_expires:
        data["offer_expires"] = registration.offer_expires.isoformat()
    return data


def sees_location(viewer: User, event: Event, registration: Registration | None) -> bool:
    """The link or place: for coordinators, the facilitator and confirmed registrants."""
    if may_see_roster(viewer, event):
        return True
    return registration is not None and registration.status == "confirmed"


def event_dict(
    event: Event,
    viewer: User,
    registration: Registration | None = None,
    place: int | None = None,
) -> dict:
    data = {
        "id": event.id,
        "kind": event.kind,
        "title": event.title,
        "description": event.description,
        "start": event.start_at.isoformat(),
        "end": event.end_at.isoformat(),
        "timezone": event.timezone,
        "modality": event.modality,
        "capacity": event.capacity,
        "seats_left": seats_left(event),
        "status": event.status,
        "registration_closes": event.registration_closes.isoformat(),
        "requires_approval": event.requires_approval,
        "open_to": list(event.open_to),
        "facilitator_id": event.facilitator_id,
    }
    if sees_location(viewer, event, registration):
        data["location"] = event.location
    if registration is not None:
        data["my_registration"] = registration_dict(registration, place)
    return data


def page_state(viewer: User, event: Event, *, now: datetime | None = None) -> dict:
    """What an event's page shows ``viewer``: their place, how to join, what they may do."""
    now = now or now_utc()
    registration = latest_registration(viewer, event)
    staff = may_see_roster(viewer, event)
    confirmed = registration is not None and registration.status == "confirmed"
    ended = event.end_at <= now
    given = confirmed and feedback_given(viewer, event)
    return {
        "registration": registration,
        "position": position(registration) if registration else None,
        "active": registration is not None and registration.status in ACTIVE_REGISTRATION_STATUSES,
        "place": (
            calendar.event_place(event) if sees_location(viewer, event, registration) else None
        ),
        "open": registration_open(event, now),
        "seats_left": seats_left(event),
        "staff": staff,
        "ended": ended,
        "feedback_open": confirmed and ended and not given,
        "feedback_given": given,
        "summary": feedback_summary(viewer, event.id) if staff else None,
    }


# --- the lock and the seats ---------------------------------------------------------


def _lock(event_id: int) -> Event:
    """Take the event's lock until the transaction ends; return the event read after it.

    PostgreSQL: a row lock (SELECT ... FOR UPDATE). SQLite: a no-op write takes the
    database's write lock at once, so deciding about seats happens one at a time.
    """
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(
            db.update(Event)
            .where(Event.id == event_id)
            .values(joined=Event.joined)
            .execution_options(synchronize_session=False)
        )
    else:
        db.session.execute(db.select(Event.id).where(Event.id == event_id).with_for_update())
    event = db.session.get(Event, event_id, populate_existing=True)
    if event is None:
        raise NotFound("No such event.")
    return event


def _fresh(registration_id: int) -> Registration | None:
    return db.session.get(Registration, registration_id, populate_existing=True)


def _take_seat(event: Event) -> bool:
    """Take one seat if one is left; the database's CHECK has the last word."""
    if seats_left(event) <= 0:
        return False
    try:
        with db.session.begin_nested():
            event.seats_taken = Event.seats_taken + 1
            db.session.flush()
    except IntegrityError:
        return False
    return True


def _free_seat(event: Event) -> None:
    event.seats_taken = Event.seats_taken - 1
    db.session.flush()


def _waiting(event: Event) -> list[Registration]:
    return list(
        db.session.scalars(
            db.select(Registration)
            .where(Registration.event_id == event.id)
            .where(Registration.status == "waitlisted")
            .order_by(Registration.number)
            .execution_options(populate_existing=True)
        )
    )


def _fill_free_seats(event: Event, now: datetime) -> None:
    """Offer each free seat to the next on the waiting list, while registration is open."""
    if not registration_open(event, now):
        return
    for registration in _waiting(event):
        if not _take_seat(event):
            return
        registration.status = "offered"
        registration.offer_expires = min(_offer_until(now), event.start_at)
        db.session.flush()
        calendar.send(
            [calendar.registration_entry(registration)],
            "offer",
            now=now,
            accept_url=offer_url(registration),
            expires=registration.offer_expires,
        )


def _offer_until(now: datetime) -> datetime:
    return now + timedelta(hours=current_app.config["EVENT_OFFER_HOURS"])


def _confirm(registration: Registration, now: datetime) -> None:
    """Give a held seat for good: hold the person's time, send the invite."""
    bookings.lock_people([registration.user_id])
    registration.status = "confirmed"
    registration.offer_expires = None
    registration.confirmed_at = registration.confirmed_at or now
    db.session.flush()
    bookings.hold_registration(registration)
    calendar.send([calendar.registration_entry(registration)], "invite", now=now)


def _leave(registration: Registration, status: str, event: Event, now: datetime, reason=""):
    """End a registration; a held seat is freed and a confirmed one's entry cancelled."""
    was = registration.status
    registration.status = status
    registration.offer_expires = None
    if was in SEAT_STATUSES:
        _free_seat(event)
    if was == "confirmed":
        bookings.release_registration(registration)
        registration.sequence += 1
        db.session.flush()
        calendar.send([calendar.registration_entry(registration)], "cancel", now=now, reason=reason)
    db.session.flush()


# --- registrants --------------------------------------------------------------------


def register(actor: User, event_id: int, *, now: datetime | None = None) -> Registration:
    """Register for an event: a seat if one is free (or approval if needed), else the list."""
    now = now or now_utc()
    if actor.role not in OPEN_TO:
        raise NotAllowed("Only practitioners and listeners register for events.")
    event = _lock(event_id)
    if not _visible(actor, event) or actor.role not in event.open_to:
        raise NotFound("No such event.")
    if event.facilitator_id == actor.id:
        raise Conflict("You facilitate this session.", code="facilitator")
    if not registration_open(event, now):
        raise Conflict("Registration for this session has closed.", code="closed")
    active = db.session.scalar(
        db.select(Registration.id)
        .where(Registration.event_id == event.id)
        .where(Registration.user_id == actor.id)
        .where(Registration.status.in_(ACTIVE_REGISTRATION_STATUSES))
    )
    if active is not None:
        raise Conflict("You are already registered for this session.", code="already_registered")
    event.joined += 1
    # Join the waiting list while others wait, so nobody is passed over.
    seat = not _waiting(event) and _take_seat(event)
    registration = Registration(
        event_id=event.id,
        user_id=actor.id,
        number=event.joined,
        status="waitlisted",
        sequence=0,
    )
    calendar.add_item(registration, "registration")
    if seat and event.requires_approval:
        registration.status = "pending_approval"
        calendar.send([calendar.registration_entry(registration)], "pending", now=now)
    elif seat:
        _confirm(registration, now)
    else:
        calendar.send(
            [calendar.registration_entry(registration)],
            "waitlisted",
            now=now,
            position=position(registration),
        )
    db.session.flush()
    return registration


def get_registration(actor: User, registration_id: int) -> Registration:
    """The registration if the actor made it or coordinates; otherwise NotFound."""
    registration = db.session.get(Registration, registration_id)
    if registration is None or not (
        actor.role == "coordinator" or registration.user_id == actor.id
    ):
        raise NotFound("No such registration.")
    return registration


def _own(actor: User, registration_id: int) -> tuple[Registration, Event]:
    """The actor's own registration and its event, locked and read after the lock."""
    registration = db.session.get(Registration, registration_id)
    if registration is None or registration.user_id != actor.id:
        raise NotFound("No such registration.")
    event = _lock(registration.event_id)
    return _fresh(registration_id), event


def withdraw(actor: User, registration_id: int, *, now: datetime | None = None) -> Registration:
    """Leave an event (seat, offer or waiting list); a freed seat goes to the next person."""
    now = now or now_utc()
    registration, event = _own(actor, registration_id)
    if registration.status not in ACTIVE_REGISTRATION_STATUSES:
        raise Conflict("You are no longer registered for this session.", code="not_registered")
    _leave(registration, "withdrawn", event, now)
    _fill_free_seats(event, now)
    return registration


def accept(actor: User, registration_id: int, *, now: datetime | None = None) -> Registration:
    """Take the offered seat (waiting for approval first, if the event asks for it)."""
    now = now or now_utc()
    registration, event = _own(actor, registration_id)
    if registration.status != "offered":
        raise Conflict("There is no seat on offer to you.", code="not_offered")
    if registration.offer_expires <= now:
        raise Conflict("The offer has passed to the next person.", code="offer_expired")
    if event.requires_approval:
        registration.status = "pending_approval"
        registration.offer_expires = None
        calendar.send([calendar.registration_entry(registration)], "pending", now=now)
    else:
        _confirm(registration, now)
    db.session.flush()
    return registration


def decline(actor: User, registration_id: int, *, now: datetime | None = None) -> Registration:
    """Say no to the offered seat; it is offered to the next person at once."""
    now = now or now_utc()
    registration, event = _own(actor, registration_id)
    if registration.status != "offered":
        raise Conflict("There is no seat on offer to you.", code="not_offered")
    _leave(registration, "declined", event, now)
    _fill_free_seats(event, now)
    return registration


def invite_for(actor: User, registration_id: int, *, now: datetime | None = None):
    """The registrant's current invite (REQUEST, or CANCEL once it ended) and its METHOD."""
    registration = db.session.get(Registration, registration_id)
    if registration is None or registration.user_id != actor.id:
        raise NotFound("No such registration.")
    if registration.confirmed_at is None:
        raise Conflict("There is a calendar entry once your seat is confirmed.", code="no_entry")
    return calendar.invite(calendar.registration_entry(registration), now=now)


# --- offers by mail -----------------------------------------------------------------


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=OFFER_SALT)


def offer_url(registration: Registration) -> str:
    """The signed link in the offer mail (it only ever acts for the registrant)."""
    token = _serializer().dumps({"registration": registration.id})
    return f"{current_app.config['BASE_URL'].rstrip('/')}/events/offers/{token}"


def registration_for_offer(actor: User, token: str) -> Registration:
    """The actor's registration that an offer link names; NotFound for anything else.

    The link is signed and lasts as long as an offer; it acts only while the seat is on
    offer, so once answered (or passed on) it can do nothing again.
    """
    max_age = (current_app.config["EVENT_OFFER_HOURS"] + 1) * 3600
    try:
        payload = _serializer().loads(token, max_age=max_age)
    except BadData:
        raise NotFound("This link does not work (any more).") from None
    registration_id = payload.get("registration") if isinstance(payload, dict) else None
    if not isinstance(registration_id, int):
        raise NotFound("This link does not work (any more).")
    return get_registration_of(actor, registration_id)


def get_registration_of(actor: User, registration_id: int) -> Registration:
    registration = db.session.get(Registration, registration_id)
    if registration is None or registration.user_id != actor.id:
        raise NotFound("No such registration.")
    return registration


# --- the worker ---------------------------------------------------------------------


def pass_on_expired_offers(now: datetime | None = None) -> int:
    """Expire offers whose time ran out and offer their seats to the next; return how many."""
    now = now or now_utc()
    event_ids = db.session.scalars(
        db.select(Registration.event_id)
        .where(Registration.status == "offered")
        .where(Registration.offer_expires <= now)
        .distinct()
        .order_by(Registration.event_id)
    ).all()
    count = 0
    for event_id in event_ids:
        event = _lock(event_id)
        expired = db.session.scalars(
            db.select(Registration)
            .where(Registration.event_id == event_id)
            .where(Registration.status == "offered")
            .where(Registration.offer_expires <= now)
            .order_by(Registration.number)
            .execution_options(populate_existing=True)
        ).all()
        for registration in expired:
            _leave(registration, "expired", event, now)
            calendar.send([calendar.registration_entry(registration)], "expired", now=now)
            count += 1
        _fill_free_seats(event, now)
    return count


# --- coordinators -------------------------------------------------------------------


def _facilitator(facilitator_id: int | None) -> User | None:
    if facilitator_id is None:
        return None
    person = db.session.get(User, facilitator_id)
    if person is None or not person.active or person.role not in ("listener", "coordinator"):
        raise Invalid(
            "Choose a listener or a coordinator to facilitate.",
            fields={"facilitator_id": "a listener or a coordinator"},
        )
    return person


def _check_times(start, end, closes, *, now: datetime, moved: bool) -> None:
    if end <= start:
        raise Invalid("The end must come after the start.", fields={"end": "after the start"})
    if closes > start:
        raise Invalid(
            "Registration must close by the start.",
            fields={"registration_closes": "at or before the start"},
        )
    if moved and start <= now:
        raise Invalid("Choose a start in the future.", fields={"start": "in the future"})


def _check_location(modality: str, location: str) -> None:
    if modality == "video":
        validate.https_url(location, "location")


def create_event(actor: User, values: dict, *, now: datetime | None = None) -> Event:
    """Publish an event from loaded values (bodies.NewEvent)."""
    now = now or now_utc()
    _check_times(values["start"], values["end"], values["registration_closes"], now=now, moved=True)
    _check_location(values["modality"], values["location"])
    facilitator = _facilitator(values.get("facilitator_id"))
    event = Event(
        kind=values["kind"],
        title=values["title"],
        description=values["description"],
        start_at=values["start"],
        end_at=values["end"],
        timezone=values.get("timezone") or actor.timezone,
        modality=values["modality"],
        location=values["location"],
        capacity=values["capacity"],
        seats_taken=0,
        joined=0,
        registration_closes=values["registration_closes"],
        requires_approval=values["requires_approval"],
        open_to=list(values["open_to"]),
        facilitator_id=facilitator.id if facilitator else None,
        status="published",
        sequence=0,
        created_by_id=actor.id,
    )
    calendar.add_item(event, "event")
    if facilitator is not None:
        bookings.lock_people([facilitator.id])
        bookings.hold_facilitation(event)
        calendar.send([calendar.facilitator_entry(event)], "invite", now=now)
    audit.record(
        actor,
        "event.created",
        "event",
        event.id,
        "Event published",
        start=event.start_at.isoformat(),
    )
    db.session.flush()
    return event


def update_event(actor: User, event_id: int, values: dict, *, now: datetime | None = None) -> Event:
    """Change an event; a new time or place goes to everyone confirmed (SEQUENCE + 1)."""
    now = now or now_utc()
    event = _lock(event_id)
    if event.status != "published":
        raise Conflict("This event was cancelled.", code="cancelled")
    start = values.get("start", event.start_at)
    end = values.get("end", event.end_at)
    moved = (start, end) != (event.start_at, event.end_at)
    if moved and event.start_at <= now:
        raise Conflict("This event has started; its time cannot change.", code="started")
    closes = values.get("registration_closes", event.registration_closes)
    _check_times(start, end, closes, now=now, moved=moved)
    modality = values.get("modality", event.modality)
    location = values.get("location", event.location)
    _check_location(modality, location)
    replaced = (modality, location) != (event.modality, event.location)
    capacity = values.get("capacity", event.capacity)
    if capacity < event.seats_taken:
        raise Conflict(
            f"{event.seats_taken} seats are taken or on offer; the capacity cannot go below.",
            code="capacity_too_low",
            fields={"capacity": f"at least {event.seats_taken}"},
        )
    old_facilitator = event.facilitator
    new_facilitator = (
        _facilitator(values["facilitator_id"]) if "facilitator_id" in values else old_facilitator
    )
    changed_facilitator = new_facilitator is not old_facilitator
    if new_facilitator is not None and changed_facilitator:
        registered = db.session.scalar(
            db.select(Registration.id)
            .where(Registration.event_id == event.id)
            .where(Registration.user_id == new_facilitator.id)
            .where(Registration.status.in_(ACTIVE_REGISTRATION_STATUSES))
        )
        if registered is not None:
            raise Conflict(
                "That person is registered for this event.", code="facilitator_registered"
            )

    confirmed = _confirmed(event)
    people = [r.user_id for r in confirmed]
    people += [p.id for p in (old_facilitator, new_facilitator) if p is not None]
    bookings.lock_people(people)
    for name, column in (
        ("kind", "kind"),
        ("title", "title"),
        ("description", "description"),
        ("timezone", "timezone"),
        ("requires_approval", "requires_approval"),
        ("open_to", "open_to"),
    ):
        if name in values and values[name] is not None:
            setattr(event, column, values[name])
    event.start_at, event.end_at, event.registration_closes = start, end, closes
    event.modality, event.location, event.capacity = modality, location, capacity
    if moved or replaced or changed_facilitator:
        event.sequence += 1
    db.session.flush()
    if moved:
        bookings.move_event(event)
    if changed_facilitator:
        if old_facilitator is not None:
            bookings.release_facilitation(event)
        event.facilitator = new_facilitator
        db.session.flush()
        if old_facilitator is not None:
            calendar.send([calendar.facilitator_entry(event, old_facilitator)], "cancel", now=now)
        if new_facilitator is not None:
            bookings.hold_facilitation(event)
            calendar.send([calendar.facilitator_entry(event)], "invite", now=now)
    if moved or replaced:
        for registration in confirmed:
            registration.sequence += 1
        db.session.flush()
        entries = [calendar.registration_entry(r) for r in confirmed]
        if event.facilitator_id is not None and not changed_facilitator:
            entries.append(calendar.facilitator_entry(event))
        calendar.send(entries, "update", now=now)
    _fill_free_seats(event, now)
    audit.record(
        actor,
        "event.updated",
        "event",
        event.id,
        "Event changed",
        fields=sorted(values),
        sequence=event.sequence,
    )
    db.session.flush()
    return event


def _confirmed(event: Event) -> list[Registration]:
    return list(
        db.session.scalars(
            db.select(Registration)
            .where(Registration.event_id == event.id)
            .where(Registration.status == "confirmed")
            .order_by(Registration.number)
            .execution_options(populate_existing=True)
        )
    )


def cancel_event(
    actor: User, event_id: int, reason: str = "", *, now: datetime | None = None
) -> Event:
    """Call off an event: every calendar entry of it is cancelled, everyone hears."""
    now = now or now_utc()
    event = _lock(event_id)
    if event.status != "published":
        raise Conflict("This event is already cancelled.", code="cancelled")
    active = list(
        db.session.scalars(
            db.select(Registration)
            .where(Registration.event_id == event.id)
            .where(Registration.status.in_(ACTIVE_REGISTRATION_STATUSES))
            .order_by(Registration.number)
            .execution_options(populate_existing=True)
        )
    )
    bookings.release_event(event)
    event.status = "cancelled"
    event.cancel_reason = reason
    event.sequence += 1
    event.seats_taken = 0
    # Those with a calendar entry get its CANCEL; the others (waiting, offered, waiting
    # for approval: nothing in their calendar) a plain message.
    kinds = {}
    for registration in active:
        kinds[registration.id] = "cancel" if registration.status == "confirmed" else "called_off"
        if registration.status == "confirmed":
            registration.sequence += 1
        registration.status = "cancelled"
        registration.offer_expires = None
    db.session.flush()
    for registration in active:
        entry = calendar.registration_entry(registration)
        kind = kinds[registration.id]
        calendar.send([entry], kind, now=now, reason=reason, event_cancelled=True)
    if event.facilitator is not None:
        entry = calendar.facilitator_entry(event)
        calendar.send([entry], "cancel", now=now, reason=reason, event_cancelled=True)
    audit.record(actor, "event.cancelled", "event", event.id, "Event cancelled", reason=reason)
    db.session.flush()
    return event


def _coordinated(actor: User, registration_id: int) -> tuple[Registration, Event]:
    if actor.role != "coordinator":
        raise NotAllowed("Only coordinators decide on registrations.")
    registration = db.session.get(Registration, registration_id)
    if registration is None:
        raise NotFound("No such registration.")
    event = _lock(registration.event_id)
    return _fresh(registration_id), event


def approve(actor: User, registration_id: int, *, now: datetime | None = None) -> Registration:
    """Confirm a registration waiting for approval: its seat, the time held, the invite."""
    now = now or now_utc()
    registration, event = _coordinated(actor, registration_id)
    if registration.status != "pending_approval" or event.status != "published":
        raise Conflict("This registration is not waiting for approval.", code="not_pending")
    _confirm(registration, now)
    audit.record(
        actor, "registration.approved", "registration", registration.id, "Registration approved"
    )
    db.session.flush()
    return registration


def reject(actor: User, registration_id: int, *, now: datetime | None = None) -> Registration:
    """Turn down a registration waiting for approval; its seat goes to the next person."""
    now = now or now_utc()
    registration, event = _coordinated(actor, registration_id)
    if registration.status != "pending_approval":
        raise Conflict("This registration is not waiting for approval.", code="not_pending")
    _leave(registration, "rejected", event, now)
    calendar.send([calendar.registration_entry(registration)], "rejected", now=now)
    _fill_free_seats(event, now)
    audit.record(
        actor, "registration.rejected", "registration", registration.id, "Registration rejected"
    )
    db.session.flush()
    return registration


def mark_attendance(
    actor: User, registration_id: int, attended: bool, *, now: datetime | None = None
) -> Registration:
    """Record whether a confirmed registrant came (once the event has started)."""
    now = now or now_utc()
    if actor.role != "coordinator":
        raise NotAllowed("Only coordinators mark attendance.")
    registration = db.session.get(Registration, registration_id)
    if registration is None:
        raise NotFound("No such registration.")
    if registration.status != "confirmed" or registration.event.status != "published":
        raise Conflict("Only a confirmed seat has an attendance.", code="not_confirmed")
    if registration.event.start_at > now:
        raise Conflict("Attendance is marked once the session has begun.", code="not_started")
    registration.attended = attended
    audit.record(
        actor,
        "registration.attendance",
        "registration",
        registration.id,
        "Attendance marked",
        attended=attended,
    )
    db.session.flush()
    return registration


def roster(actor: User, event_id: int) -> tuple[Event, list[dict]]:
    """Everyone who registered, for coordinators and the facilitator only (else NotFound).

    Seats first (confirmed, offered, waiting for approval), then the waiting list in
    order, then those who left; e-mail addresses for coordinators only.
    """
    event = db.session.get(Event, event_id)
    if event is None or not may_see_roster(actor, event):
        raise NotFound("No such event.")
    order = {status: i for i, status in enumerate(("confirmed", *SEAT_STATUSES, "waitlisted"))}
    rows = db.session.scalars(
        db.select(Registration)
        .where(Registration.event_id == event.id)
        .order_by(Registration.number)
        .options(selectinload(Registration.user))
    ).all()
    waiting = [r for r in rows if r.status == "waitlisted"]
    places = {r.id: i for i, r in enumerate(waiting, start=1)}
    rows = sorted(rows, key=lambda r: (order.get(r.status, 9), r.number))
    return event, [roster_dict(actor, r, places.get(r.id)) for r in rows]


def roster_dict(actor: User, registration: Registration, place: int | None) -> dict:
    data = {
        "id": registration.id,
        "user_id": registration.user_id,
        "display_name": registration.user.display_name,
        "status": registration.status,
        "number": registration.number,
        "attended": registration.attended,
        "registered_at": registration.created_at.isoformat(),
    }
    if actor.role == "coordinator":
        data["email"] = registration.user.email
    if place is not None:
        data["position"] = place
    return data


# --- feedback -----------------------------------------------------------------------


def add_feedback(
    actor: User, event_id: int, rating: int, comment: str = "", *, now: datetime | None = None
) -> EventFeedback:
    """A confirmed registrant's rating after the end, once; never shown with their name."""
    now = now or now_utc()
    event = get_event(actor, event_id)
    validate.integer(rating, "rating", low=min(RATINGS), high=max(RATINGS))
    seat = db.session.scalar(
        db.select(Registration.id)
        .where(Registration.event_id == event.id)
        .where(Registration.user_id == actor.id)
        .where(Registration.status == "confirmed")
    )
    if seat is None or event.status != "published":
        raise NotAllowed("Feedback comes from the people who had a seat.")
    if event.end_at > now:
        raise Conflict("Feedback opens when the session has ended.", code="not_ended")
    duplicate = Conflict("You have already given feedback on this session.", code="duplicate")
    if feedback_given(actor, event):
        raise duplicate
    row = EventFeedback(event_id=event.id, author_id=actor.id, rating=rating, comment=comment)
    transactions.add_once(row, duplicate)
    return row


def feedback_summary(actor: User, event_id: int) -> dict:
    """Count, mean and comments, with no names; only a count below five responses."""
    event = db.session.get(Event, event_id)
    if event is None or not may_see_roster(actor, event):
        raise NotFound("No such event.")
    rows = db.session.scalars(
        db.select(EventFeedback).where(EventFeedback.event_id == event.id)
    ).all()
    if len(rows) < MIN_GROUP:
        return {"count": len(rows), "withheld": True}
    return {
        "count": len(rows),
        "mean_rating": round(statistics.fmean(r.rating for r in rows), 2),
        # In alphabetical order: the order of writing would hint at who wrote what.
        "comments": sorted(r.comment for r in rows if r.comment),
        "withheld": False,
    }


def feedback_given(actor: User, event: Event) -> bool:
    return (
        db.session.scalar(
            db.select(EventFeedback.id)
            .where(EventFeedback.event_id == event.id)
            .where(EventFeedback.author_id == actor.id)
        )
        is not None
    )


# --- leaving the programme ------------------------------------------------------------


def withdraw_everything_of(user: User, *, now: datetime | None = None) -> None:
    """A person leaves: their registrations end and their facilitations are given up."""
    now = now or now_utc()
    registrations = db.session.scalars(
        db.select(Registration.id)
        .where(Registration.user_id == user.id)
        .where(Registration.status.in_(ACTIVE_REGISTRATION_STATUSES))
        .order_by(Registration.event_id)
    ).all()
    for registration_id in registrations:
        withdraw(user, registration_id, now=now)
    facilitated = db.session.scalars(
        db.select(Event.id).where(Event.facilitator_id == user.id).order_by(Event.id)
    ).all()
    for event_id in facilitated:
        event = _lock(event_id)
        bookings.release_facilitation(event)
        event.facilitator = None
        if event.status == "published":
            event.sequence += 1
            db.session.flush()
            calendar.send([calendar.facilitator_entry(event, user)], "cancel", now=now)
        audit.record(user, "event.facilitator_left", "event", event.id, "Facilitator left")
    db.session.flush()


# --- a monthly series ---------------------------------------------------------------


def facilitator_choices() -> list[User]:
    """Who may facilitate: coordinators and verified listeners, by name."""
    listeners = db.select(ListenerProfile.user_id).where(ListenerProfile.verified_at.is_not(None))
    return list(
        db.session.scalars(
            db.select(User)
            .where(User.active.is_(True))
            .where((User.role == "coordinator") | User.id.in_(listeners))
            .order_by(User.display_name, User.id)
        )
    )


def all_events(*, now: datetime | None = None) -> tuple[list[Event], list[Event]]:
    """Every event for coordinators: those still to end (by start), and the rest (latest first)."""
    now = now or now_utc()
    rows = list(db.session.scalars(db.select(Event).order_by(Event.start_at, Event.id)))
    coming = [e for e in rows if e.end_at > now]
    past = [e for e in reversed(rows) if e.end_at <= now]
    return coming, past


def form_values(event: Event) -> dict:
    """An event's values for its form, with local times in the event's own zone."""
    zone = ZoneInfo(event.timezone)

    def local(value: datetime) -> datetime:
        return value.astimezone(zone).replace(tzinfo=None)

    return {
        "kind": event.kind,
        "title": event.title,
        "description": event.description,
        "timezone": event.timezone,
        "modality": event.modality,
        "location": event.location,
        "capacity": event.capacity,
        "requires_approval": event.requires_approval,
        "open_to": list(event.open_to),
        "facilitator_id": event.facilitator_id,
        "start": local(event.start_at),
        "end": local(event.end_at),
        "registration_closes": local(event.registration_closes),
    }


def next_month(event: Event) -> dict:
    """The same session a month on, for a new event's form: the same weekday of the same
    week of the month (the last such weekday when the month has no fifth one), at the
    same local time; registration closes as long before it as before.
    """
    values = form_values(event)
    start = values["start"]
    nth = (start.day - 1) // 7
    year, month = (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
    days = [w[start.weekday()] for w in months.monthcalendar(year, month) if w[start.weekday()]]
    shift = start.replace(year=year, month=month, day=days[min(nth, len(days) - 1)]) - start
    for name in ("start", "end", "registration_closes"):
        values[name] += shift
    return values
