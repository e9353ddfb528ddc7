"""The words of every calendar entry and of the e-mail that carries it.

Calendar entries land on work calendars that colleagues can see, so their text is
neutral: it says a conversation or a group session happens, never what it is about
(an event's title stays in the e-mail). The e-mail shows each person the time in their
own zone, with the zone named, and, for a conversation, the other person's first name.

Entries come from services/calendar.py; this module turns one into an iCalendar event
(ical.py makes the bytes) and into an e-mail's subject and bodies.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.utils import parseaddr
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from flask import current_app, render_template

from matching import ical
from matching.models import Event, Meeting, User

if TYPE_CHECKING:  # services/calendar.py imports this module to word its entries
    from matching.services.calendar import Entry, Place

# The messages of each family of items (templates/emails/<item>_<kind>.txt and .html).
KINDS = {
    "meeting": ("invite", "update", "cancel", "reminder"),
    "event": (
        "invite",
        "update",
        "cancel",
        "reminder",
        "offer",
        "waitlisted",
        "pending",
        "rejected",
        "expired",
        "called_off",
    ),
}
SUBJECT_PREFIX = {
    "invite": "Invitation",
    "update": "Updated invitation",
    "cancel": "Cancelled",
    "reminder": "Reminder",
    "offer": "A seat is free for you",
    "waitlisted": "On the waiting list",
    "pending": "Registration received",
    "rejected": "No seat this time",
    "expired": "Your offer has passed",
    "called_off": "Cancelled",
}
DESCRIPTION = {
    "meeting": (
        "A conversation arranged through {service}. "
        "The link below shows the time and lets you move or cancel it."
    ),
    "event": "A group session arranged through {service}. The link below shows the details.",
}
# What the calendar's alarm says before each family of items.
ALARM = {"meeting": ical.REMINDER_TEXT, "event": "Reminder: group session in 15 minutes"}
# The configured calendar title of each family of items.
SUMMARY_SETTING = {"meeting": "CALENDAR_SUMMARY", "event": "EVENT_CALENDAR_SUMMARY"}


@dataclass(frozen=True, slots=True)
class Notice:
    """One e-mail's subject and bodies."""

    subject: str
    text: str
    html: str


def local_time(value: datetime, zone: str, fmt: str = "%a %d %b %H:%M") -> str:
    """Return ``value`` in ``zone`` with the zone named: "Tue 10 Mar 10:00 (Europe/Berlin)"."""
    return f"{value.astimezone(ZoneInfo(zone)).strftime(fmt)} ({zone.replace('_', ' ')})"


def first_name(user: User) -> str:
    name = (user.display_name or "").strip()
    return name.split()[0] if name else "your conversation partner"


def base_url() -> str:
    return current_app.config["BASE_URL"].rstrip("/")


def meeting_url(meeting: Meeting) -> str:
    return f"{base_url()}/meetings/{meeting.id}"


def event_url(event: Event) -> str:
    return f"{base_url()}/events/{event.id}"


def feed_url(raw_token: str) -> str:
    """The private calendar-feed address, built from BASE_URL (never the Host header)."""
    return f"{base_url()}/calendar/{raw_token}.ics"


def summary(item: str) -> str:
    """The neutral calendar title of a family of items ("Peer conversation — Alongside")."""
    return current_app.config[SUMMARY_SETTING[item]]


def organizer() -> tuple[str, str]:
    """Return the service's (address, name) from MAIL_DEFAULT_SENDER."""
    cfg = current_app.config
    name, address = parseaddr(cfg["MAIL_DEFAULT_SENDER"])
    return address or f"no-reply@{cfg['SERVICE_HOST']}", name or cfg["SERVICE_NAME"]


# --- how to meet --------------------------------------------------------------------


# Who calls whom on a phone conversation: the listener calls the practitioner.
PHONE_NOTES = {
    "practitioner": "{other} will call you on this number.",
    "listener": "Please call {other} on this number.",
    "coordinator": "The listener calls the practitioner on this number.",
}


def phone_note(viewer: str, other: str) -> str:
    """Who calls whom, in words for the practitioner, the listener or a coordinator."""
    return PHONE_NOTES[viewer].format(other=other)


def place_lines(place: Place | None) -> list[str]:
    """How to join, in short neutral sentences (for the calendar and the e-mail)."""
    if place is None:
        return []
    lines = []
    if place.modality == "video":
        lines.append(f"Join by video: {place.url}" if place.url else "By video.")
    elif place.modality == "phone":
        lines.append(f"By phone: {place.phone}" if place.phone else "By phone.")
    elif place.modality == "in_person":
        lines.append(f"In person: {place.place}" if place.place else "In person.")
    if place.note:
        lines.append(place.note)
    return lines


def place_location(place: Place | None) -> str | None:
    """The calendar's LOCATION: the link, the number or the place."""
    if place is None:
        return None
    if place.modality == "video":
        return place.url or "Video"
    if place.modality == "phone":
        return f"Phone: {place.phone}" if place.phone else "Phone"
    return place.place or "In person"


# --- calendar -----------------------------------------------------------------------


def calendar_event(entry: Entry, *, now: datetime) -> ical.CalendarEvent:
    """Return the entry as a calendar sees it, with neutral wording."""
    cfg = current_app.config
    item = entry.source.item
    lines = [DESCRIPTION[item].format(service=cfg["SERVICE_NAME"])]
    if entry.status == "CONFIRMED":
        lines += place_lines(entry.place)
    return ical.CalendarEvent(
        uid=entry.uid,
        sequence=entry.sequence,
        start=entry.start,
        end=entry.end,
        dtstamp=now,
        status=entry.status,
        attendees=entry.attendees,
        summary=entry.summary,
        description="\n".join(lines),
        url=entry.url,
        location=place_location(entry.place) if entry.status == "CONFIRMED" else None,
        reminder=ALARM[item],
    )


def invite_ics(entry: Entry, *, now: datetime) -> tuple[bytes, ical.Method]:
    """Return the entry's current invite and its METHOD (REQUEST, or CANCEL once cancelled)."""
    address, name = organizer()
    data = ical.invite(
        calendar_event(entry, now=now),
        method=entry.method,
        organizer_email=address,
        organizer_name=name,
    )
    return data, entry.method


def feed_ics(entries: list[Entry], *, now: datetime) -> bytes:
    """Return a private subscription feed of one person's entries."""
    address, name = organizer()
    return ical.feed(
        [calendar_event(entry, now=now) for entry in entries],
        calendar_name=current_app.config["SERVICE_NAME"],
        organizer_email=address,
        organizer_name=name,
    )


# --- e-mail -------------------------------------------------------------------------


def notice(entry: Entry, kind: str, *, reason: str = "", **words) -> Notice:
    """Return the e-mail one person gets about an entry: booked, moved, cancelled, near ..."""
    item = entry.source.item
    if kind not in KINDS[item]:
        raise ValueError(f"unknown notice kind for a {item}: {kind!r}")
    cfg = current_app.config
    recipient = entry.recipient
    when = local_time(entry.start, recipient.timezone)
    ends = local_time(entry.end, recipient.timezone, "%H:%M")
    short = entry.summary.split(" — ")[0]
    confirmed = entry.status == "CONFIRMED"
    context = {
        "kind": kind,
        "name": first_name(recipient),
        "other": entry.other,
        "title": entry.title,
        "when": when,
        "ends": ends,
        "reason": reason,
        "url": entry.url,
        "item": "conversation" if item == "meeting" else "group session",
        "facilitating": entry.source.kind == "event",
        "place": place_lines(entry.place) if confirmed and kind != "cancel" else [],
        "service": cfg["SERVICE_NAME"],
        "calendar_url": f"{base_url()}/meetings/calendar",
    } | {
        # Instants among the extra words are shown in the recipient's zone too.
        name: local_time(value, recipient.timezone) if isinstance(value, datetime) else value
        for name, value in words.items()
    }
    subject = f"{SUBJECT_PREFIX[kind]}: {short}, {when}"
    return Notice(
        subject=subject[:200],
        text=render_template(f"emails/{item}_{kind}.txt", **context),
        html=render_template(f"emails/{item}_{kind}.html", **context),
    )
