"""Turn plain meeting data into iCalendar bytes: invites, cancellations and feeds.

Times are written in UTC (``DTSTART:20260701T130000Z``) rather than with a
VTIMEZONE: every calendar client reads a UTC instant the same way, while
generated time-zone definitions are read differently from one client to the
next. Each person's e-mail shows the time in their own zone instead.

This module takes dataclasses and returns bytes; it knows nothing of Flask,
the database or the models.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from icalendar import Alarm, Calendar, Event, vCalAddress, vDuration
from icalendar.parser import Parameters

DEFAULT_PRODID = "-//Alongside//Alongside//EN"
DEFAULT_SUMMARY = "Peer conversation — Alongside"
REMINDER_TEXT = "Reminder: peer conversation in 15 minutes"
REMINDER_BEFORE = timedelta(minutes=15)
FEED_REFRESH = timedelta(hours=1)

Method = Literal["REQUEST", "CANCEL"]
Status = Literal["CONFIRMED", "CANCELLED"]


@dataclass(frozen=True, slots=True)
class Attendee:
    """One person invited to a calendar item."""

    email: str
    name: str
    role: str = "REQ-PARTICIPANT"


@dataclass(frozen=True, slots=True)
class CalendarEvent:
    """One calendar item as a calendar sees it; all datetimes are timezone-aware."""

    uid: str
    sequence: int
    start: datetime
    end: datetime
    dtstamp: datetime
    status: Status
    attendees: tuple[Attendee, ...]
    summary: str
    description: str
    url: str | None = None
    # Where or how to join (a link, a place, a phone arrangement); worded neutrally.
    location: str | None = None
    # What the alarm before the start says.
    reminder: str = REMINDER_TEXT


class _QuotedNameParameters(Parameters):
    """Parameters that always put CN in double quotes.

    Quoting is optional for plain names, but some clients mis-read an unquoted
    CN that later gains a comma; quoting every name keeps the output uniform.
    """

    always_quoted = (*Parameters.always_quoted, "CN")


def invite(
    event: CalendarEvent,
    *,
    method: Method,
    organizer_email: str,
    organizer_name: str,
    prodid: str = DEFAULT_PRODID,
) -> bytes:
    """Return a METHOD:REQUEST or METHOD:CANCEL calendar for one meeting.

    The caller fixes the UID and passes a SEQUENCE that only ever increases;
    a cancellation carries the same UID and a higher SEQUENCE.
    """
    if method not in ("REQUEST", "CANCEL"):
        raise ValueError(f"unsupported iTIP method: {method!r}")
    cancelled = method == "CANCEL"
    if cancelled and event.status != "CANCELLED":
        raise ValueError("a CANCEL invite needs an event with status CANCELLED")
    if not cancelled and event.status != "CONFIRMED":
        raise ValueError("a REQUEST invite needs an event with status CONFIRMED")

    calendar = _calendar(prodid)
    calendar.add("method", method)
    vevent = _vevent(
        event,
        organizer_email=organizer_email,
        organizer_name=organizer_name,
        with_attendees=True,
    )
    if not cancelled:
        vevent.add_component(_reminder(event.reminder))
    calendar.add_component(vevent)
    return calendar.to_ical()


def feed(
    events: Iterable[CalendarEvent],
    *,
    calendar_name: str,
    organizer_email: str,
    organizer_name: str,
    prodid: str = DEFAULT_PRODID,
) -> bytes:
    """Return a METHOD:PUBLISH subscription feed with one VEVENT per meeting.

    The feed is read by one person but may be synced to shared devices, so it
    names the organizer only and lists no attendee addresses.
    """
    calendar = _calendar(prodid)
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", calendar_name)
    # icalendar does not know these two properties; without vDuration they become text.
    calendar.add("refresh-interval", vDuration(FEED_REFRESH), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(FEED_REFRESH))
    for event in events:
        vevent = _vevent(
            event,
            organizer_email=organizer_email,
            organizer_name=organizer_name,
            with_attendees=False,
        )
        if event.status == "CONFIRMED":
            vevent.add_component(_reminder(event.reminder))
        calendar.add_component(vevent)
    return calendar.to_ical()


def _calendar(prodid: str) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", prodid)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    return calendar


def _vevent(
    event: CalendarEvent,
    *,
    organizer_email: str,
    organizer_name: str,
    with_attendees: bool,
) -> Event:
    if event.status not in ("CONFIRMED", "CANCELLED"):
        raise ValueError(f"unsupported event status: {event.status!r}")
    if event.sequence < 0:
        raise ValueError("SEQUENCE cannot be negative")
    start = _utc(event.start, "start")
    end = _utc(event.end, "end")
    if end <= start:
        raise ValueError("an event must end after it starts")

    vevent = Event()
    vevent.add("uid", event.uid)
    vevent.add("sequence", event.sequence)
    vevent.add("dtstamp", _utc(event.dtstamp, "dtstamp"))
    vevent.add("dtstart", start)
    vevent.add("dtend", end)
    vevent.add("summary", event.summary)
    vevent.add("description", event.description)
    if event.location:
        vevent.add("location", event.location)
    if event.url:
        vevent.add("url", event.url)
    vevent.add("organizer", _address(organizer_email, organizer_name))
    if with_attendees:
        for attendee in event.attendees:
            address = _address(attendee.email, attendee.name)
            address.params["ROLE"] = attendee.role
            address.params["PARTSTAT"] = "NEEDS-ACTION"
            address.params["RSVP"] = "TRUE"
            address.params["CUTYPE"] = "INDIVIDUAL"
            vevent.add("attendee", address)
    vevent.add("status", event.status)
    vevent.add("class", "PRIVATE")
    vevent.add("transp", "OPAQUE")
    return vevent


def _address(email: str, name: str) -> vCalAddress:
    address = vCalAddress(f"mailto:{email}")
    params = _QuotedNameParameters()
    params["CN"] = name
    address.params = params
    return address


def _reminder(text: str) -> Alarm:
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("trigger", -REMINDER_BEFORE)
    alarm.add("description", text)
    return alarm


def _utc(value: datetime, field: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{field} must be timezone-aware")
    return value.astimezone(UTC)
