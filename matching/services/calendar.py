"""The calendar side, written once for every kind of item that occupies people's time.

A calendar item is a one-to-one conversation (a meeting) or, for a programme event, one
registrant's seat (a registration) or the facilitation of the event. Every mechanism
that puts items in people's calendars works on the same unit, an ``Entry``: one item
as one person sees it (its UID and SEQUENCE, its time, its status, who is invited, how
to join, the page that shows it).

Producers, one per kind of item, are the only code that knows an item's shape:

- ``conversation_entries(meeting)``: one entry per attendee, both named as ATTENDEE;
- ``registration_entry(registration)``: the registrant's own entry, the registrant the
  only ATTENDEE, under the registration's own UID and SEQUENCE;
- ``facilitator_entry(event)``: the facilitator's entry, the facilitator the only ATTENDEE.

Consumers, each written once, take entries of any kind:

- ``send(entries, kind)``: one outbox message per entry (with the .ics for invite,
  update and cancel), in the caller's transaction;
- ``queue_reminders(now)``: reminders of items starting within REMINDER_LEAD, once per
  (item, SEQUENCE, person);
- ``feed_entries(user, since)``: the private subscription feed;
- ``invite(entry)``: the .ics a person downloads.

notices.py holds the words, ical.py the bytes, outbox.py the queue.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from flask import current_app

from matching import ical
from matching.extensions import db
from matching.models import Event, Meeting, OutboxMessage, Registration, User, now_utc
from matching.services import notices, outbox

REMINDER_LEAD = timedelta(hours=24)
# The .ics a message carries, by kind of message; the other kinds carry none.
ICS_KINDS = {"invite": "REQUEST", "update": "REQUEST", "cancel": "CANCEL"}

ItemKind = Literal["meeting", "registration", "event"]


def add_item(row: Meeting | Registration | Event, kind: ItemKind) -> None:
    """Add a new item's row and give it its UID, "<kind>-<id>@SERVICE_HOST", for good.

    The UID names the row's id, so the row is flushed once to learn it.
    """
    row.uid = "pending"
    db.session.add(row)
    db.session.flush()
    row.uid = f"{kind}-{row.id}@{current_app.config['SERVICE_HOST']}"


@dataclass(frozen=True, slots=True)
class Source:
    """The row an entry comes from: a meeting, a registration or an event."""

    kind: ItemKind
    id: int

    @property
    def key(self) -> str:
        """A short name for dedupe keys (a meeting keeps the bare id it always had)."""
        return str(self.id) if self.kind == "meeting" else f"{self.kind}-{self.id}"

    @property
    def item(self) -> str:
        """Which family of words (notices.py) and pages the entry belongs to."""
        return "meeting" if self.kind == "meeting" else "event"


@dataclass(frozen=True, slots=True)
class Place:
    """How to meet, as one person may see it: a link, a phone arrangement or a place.

    ``note`` says who calls whom (phone), in words for this person.
    """

    modality: str
    url: str | None = None
    phone: str | None = None
    place: str | None = None
    note: str | None = None

    def as_dict(self) -> dict:
        """The API's `location`: the modality and the parts that are set."""
        parts = {"url": self.url, "phone": self.phone, "place": self.place, "note": self.note}
        return {"modality": self.modality} | {k: v for k, v in parts.items() if v}


@dataclass(frozen=True, slots=True)
class Entry:
    """One calendar item as one person sees it; all instants are aware UTC datetimes."""

    uid: str
    sequence: int
    start: datetime
    end: datetime
    status: ical.Status
    recipient: User
    attendees: tuple[ical.Attendee, ...]
    summary: str
    url: str
    source: Source
    place: Place | None = None
    # Words for the e-mail only, never the calendar: the other person's first name
    # (a conversation) or the event's title (a registration or facilitation).
    other: str = ""
    title: str = ""

    @property
    def method(self) -> ical.Method:
        return "CANCEL" if self.status == "CANCELLED" else "REQUEST"


# --- producers ----------------------------------------------------------------------


def conversation_place(meeting: Meeting, viewer: User) -> Place | None:
    """How the two meet, as ``viewer`` (an attendee or a coordinator) may see it.

    None once cancelled, and for conversations booked before places were arranged. The
    practitioner's number reaches the listener only here, on a booked conversation.
    """
    if meeting.modality is None or meeting.status == "cancelled":
        return None
    if meeting.modality == "video":
        return Place("video", url=meeting.join_url)
    if meeting.modality == "in_person":
        return Place("in_person", place=meeting.place)
    if viewer.id == meeting.practitioner_id:
        note = notices.phone_note("practitioner", notices.first_name(meeting.listener))
    elif viewer.id == meeting.listener_id:
        note = notices.phone_note("listener", notices.first_name(meeting.practitioner))
    else:
        note = notices.phone_note("coordinator", "")
    return Place("phone", phone=meeting.request.phone, note=note)


def conversation_entry(meeting: Meeting, viewer: User) -> Entry:
    """The meeting as ``viewer`` sees it (an attendee, or a coordinator looking at it)."""
    attendees = tuple(
        ical.Attendee(email=person.email, name=person.display_name)
        for person in (meeting.practitioner, meeting.listener)
        if person.active
    )
    if viewer.id == meeting.practitioner_id:
        other = notices.first_name(meeting.listener)
    elif viewer.id == meeting.listener_id:
        other = notices.first_name(meeting.practitioner)
    else:
        other = ""
    return Entry(
        uid=meeting.uid,
        sequence=meeting.sequence,
        start=meeting.start_at,
        end=meeting.end_at,
        status="CANCELLED" if meeting.status == "cancelled" else "CONFIRMED",
        recipient=viewer,
        attendees=attendees,
        summary=notices.summary("meeting"),
        url=notices.meeting_url(meeting),
        source=Source("meeting", meeting.id),
        place=conversation_place(meeting, viewer),
        other=other,
    )


def conversation_entries(meeting: Meeting) -> tuple[Entry, ...]:
    """One entry per attendee who still has an account."""
    return tuple(
        conversation_entry(meeting, person)
        for person in (meeting.practitioner, meeting.listener)
        if person.active
    )


def event_place(event: Event) -> Place:
    """Where a group session meets: its video link or its place."""
    if event.modality == "video":
        return Place("video", url=event.location)
    return Place("in_person", place=event.location)


def registration_entry(registration: Registration) -> Entry:
    """The registrant's own entry: their seat, with nobody else named.

    CONFIRMED while the seat is confirmed and the event goes ahead, CANCELLED after
    (withdrawn, or the event cancelled). The registrant is the only ATTENDEE.
    """
    event = registration.event
    confirmed = registration.status == "confirmed" and event.status == "published"
    return _event_entry(event, registration.user, registration, "registration", confirmed)


def facilitator_entry(event: Event, person: User | None = None) -> Entry:
    """The facilitator's entry (``person``: a former facilitator, whose entry is cancelled).

    The facilitator is the only ATTENDEE; the UID and SEQUENCE are the event's.
    """
    person = person or event.facilitator
    current = person.id == event.facilitator_id and event.status == "published"
    return _event_entry(event, person, event, "event", current)


def _event_entry(
    event: Event, person: User, item: Registration | Event, kind: ItemKind, confirmed: bool
) -> Entry:
    """An entry of the event for one person, its only ATTENDEE, under the item's UID."""
    return Entry(
        uid=item.uid,
        sequence=item.sequence,
        start=event.start_at,
        end=event.end_at,
        status="CONFIRMED" if confirmed else "CANCELLED",
        recipient=person,
        attendees=(ical.Attendee(email=person.email, name=person.display_name),),
        summary=notices.summary("event"),
        url=notices.event_url(event),
        source=Source(kind, item.id),
        place=event_place(event),
        title=event.title,
    )


# --- consumers ----------------------------------------------------------------------


def send(
    entries: Iterable[Entry],
    kind: str,
    *,
    now: datetime | None = None,
    reason: str = "",
    dedupe_key: str | None = None,
    **words,
) -> list[OutboxMessage]:
    """Queue one message per entry in the caller's transaction; return the rows.

    Invites, updates and cancellations carry the entry's .ics (REQUEST or CANCEL);
    other kinds (reminders, offers ...) are plain mail. ``words`` go to the e-mail.
    """
    now = now or now_utc()
    rows = []
    for entry in entries:
        notice = notices.notice(entry, kind, reason=reason, **words)
        ics, method = (None, None)
        if kind in ICS_KINDS:
            ics, method = notices.invite_ics(entry, now=now)
            if method != ICS_KINDS[kind]:
                raise ValueError(f"a {kind} message needs a {ICS_KINDS[kind]} entry")
        rows.append(
            outbox.queue(
                recipient=entry.recipient.email,
                user_id=entry.recipient.id,
                meeting_id=entry.source.id if entry.source.kind == "meeting" else None,
                subject=notice.subject,
                text=notice.text,
                html=notice.html,
                ics=ics,
                ics_method=method,
                kind=kind,
                dedupe_key=dedupe_key,
            )
        )
    return rows


def reminder_key(entry: Entry) -> str:
    """One reminder per (item, SEQUENCE, person): a moved item is reminded of again."""
    return f"reminder-{entry.source.key}-{entry.sequence}-{entry.recipient.id}"


def due_entries(now: datetime, lead: timedelta = REMINDER_LEAD) -> list[Entry]:
    """Confirmed entries of every kind starting within ``lead`` from ``now``, one query a kind."""
    meetings = db.session.scalars(
        db.select(Meeting)
        .where(Meeting.status == "scheduled")
        .where(Meeting.start_at > now)
        .where(Meeting.start_at <= now + lead)
        .order_by(Meeting.start_at, Meeting.id)
    )
    seats = db.session.scalars(
        db.select(Registration)
        .join(Event, Event.id == Registration.event_id)
        .where(Registration.status == "confirmed")
        .where(Event.status == "published")
        .where(Event.start_at > now)
        .where(Event.start_at <= now + lead)
        .order_by(Event.start_at, Registration.id)
    )
    facilitated = db.session.scalars(
        db.select(Event)
        .where(Event.status == "published")
        .where(Event.facilitator_id.is_not(None))
        .where(Event.start_at > now)
        .where(Event.start_at <= now + lead)
        .order_by(Event.start_at, Event.id)
    )
    return [
        *(entry for meeting in meetings for entry in conversation_entries(meeting)),
        *(registration_entry(seat) for seat in seats),
        *(facilitator_entry(event) for event in facilitated),
    ]


def queue_reminders(now: datetime | None = None) -> int:
    """Queue one reminder per person for items starting within a day; return how many.

    Running this any number of times queues each reminder once (the dedupe key).
    """
    # A local import: services/meetings.py imports this module to send its invites.
    from matching.services import meetings

    now = now or now_utc()
    wanted = {reminder_key(entry): entry for entry in due_entries(now)}
    if not wanted:
        return 0
    existing = set(
        db.session.scalars(
            db.select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.in_(list(wanted)))
        )
    )
    fresh = [entry for key, entry in wanted.items() if key not in existing]
    for entry in fresh:
        send([entry], "reminder", now=now, dedupe_key=reminder_key(entry))
    meetings.note_reminded([e.source.id for e in fresh if e.source.kind == "meeting"], now)
    return len(fresh)


def feed_entries(user: User, since: datetime) -> list[Entry]:
    """Every entry of this person's items that ends after ``since``, by start."""
    rows = db.session.scalars(
        db.select(Meeting)
        .where((Meeting.practitioner_id == user.id) | (Meeting.listener_id == user.id))
        .where(Meeting.end_at > since)
        .order_by(Meeting.start_at, Meeting.id)
    )
    entries = [conversation_entry(meeting, user) for meeting in rows]
    # Seats the person had (cancelled ones stay, marked cancelled), and what they facilitate.
    seats = db.session.scalars(
        db.select(Registration)
        .join(Event, Event.id == Registration.event_id)
        .where(Registration.user_id == user.id)
        .where(Registration.confirmed_at.is_not(None))
        .where(Event.end_at > since)
    )
    entries += [registration_entry(seat) for seat in seats]
    facilitated = db.session.scalars(
        db.select(Event).where(Event.facilitator_id == user.id).where(Event.end_at > since)
    )
    entries += [facilitator_entry(event) for event in facilitated]
    return sorted(entries, key=lambda e: (e.start, e.uid))


def feed(user: User, since: datetime, *, now: datetime | None = None) -> bytes:
    """The private subscription feed of one person's items."""
    return notices.feed_ics(feed_entries(user, since), now=now or now_utc())


def invite(entry: Entry, *, now: datetime | None = None) -> tuple[bytes, str]:
    """The entry's current invite (REQUEST, or CANCEL once cancelled) and its METHOD."""
    return notices.invite_ics(entry, now=now or now_utc())
