"""The words of every meeting e-mail and calendar entry.

Calendar entries land on work calendars that colleagues can see, so their text
is neutral: it says a conversation happens, never what it is about. The e-mail
shows each person the time in their own zone, with the zone named, and the
other person's first name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.utils import parseaddr
from zoneinfo import ZoneInfo

from flask import current_app, render_template

from matching import ical
from matching.models import Meeting, User

KINDS = ("invite", "update", "cancel", "reminder")
SUBJECT_PREFIX = {
    "invite": "Invitation",
    "update": "Updated invitation",
    "cancel": "Cancelled",
    "reminder": "Reminder",
}
DESCRIPTION = (
    "A conversation arranged through {service}. "
    "The link below shows the time and lets you move or cancel it."
)


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


def meeting_url(meeting: Meeting) -> str:
    return f"{current_app.config['BASE_URL'].rstrip('/')}/meetings/{meeting.id}"


def feed_url(raw_token: str) -> str:
    """The private calendar-feed address, built from BASE_URL (never the Host header)."""
    return f"{current_app.config['BASE_URL'].rstrip('/')}/calendar/{raw_token}.ics"


def organizer() -> tuple[str, str]:
    """Return the service's (address, name) from MAIL_DEFAULT_SENDER."""
    cfg = current_app.config
    name, address = parseaddr(cfg["MAIL_DEFAULT_SENDER"])
    return address or f"no-reply@{cfg['SERVICE_HOST']}", name or cfg["SERVICE_NAME"]


def calendar_event(meeting: Meeting, *, now: datetime) -> ical.CalendarEvent:
    """Return the meeting as a calendar sees it, with neutral wording."""
    cfg = current_app.config
    attendees = tuple(
        ical.Attendee(email=person.email, name=person.display_name)
        for person in (meeting.practitioner, meeting.listener)
        if person.active
    )
    return ical.CalendarEvent(
        uid=meeting.uid,
        sequence=meeting.sequence,
        start=meeting.start_at,
        end=meeting.end_at,
        dtstamp=now,
        status="CANCELLED" if meeting.status == "cancelled" else "CONFIRMED",
        attendees=attendees,
        summary=cfg["CALENDAR_SUMMARY"],
        description=DESCRIPTION.format(service=cfg["SERVICE_NAME"]),
        url=meeting_url(meeting),
    )


def invite_method(meeting: Meeting) -> ical.Method:
    return "CANCEL" if meeting.status == "cancelled" else "REQUEST"


def invite_ics(meeting: Meeting, *, now: datetime) -> tuple[bytes, ical.Method]:
    """Return the current invite for the meeting and its METHOD."""
    method = invite_method(meeting)
    address, name = organizer()
    data = ical.invite(
        calendar_event(meeting, now=now),
        method=method,
        organizer_email=address,
        organizer_name=name,
    )
    return data, method


def feed_ics(user: User, meetings: list[Meeting], *, now: datetime) -> bytes:
    """Return the private subscription feed of one person's meetings."""
    address, name = organizer()
    return ical.feed(
        [calendar_event(m, now=now) for m in meetings],
        calendar_name=current_app.config["SERVICE_NAME"],
        organizer_email=address,
        organizer_name=name,
    )


def meeting_notice(
    kind: str, meeting: Meeting, recipient: User, other: User, *, reason: str = ""
) -> Notice:
    """Return the e-mail one attendee gets when a meeting is booked, moved, cancelled or near."""
    if kind not in KINDS:
        raise ValueError(f"unknown notice kind: {kind!r}")
    cfg = current_app.config
    when = local_time(meeting.start_at, recipient.timezone)
    ends = local_time(meeting.end_at, recipient.timezone, "%H:%M")
    summary = cfg["CALENDAR_SUMMARY"].split(" — ")[0]
    context = {
        "kind": kind,
        "name": first_name(recipient),
        "other": first_name(other),
        "when": when,
        "ends": ends,
        "reason": reason,
        "url": meeting_url(meeting),
        "service": cfg["SERVICE_NAME"],
        "calendar_url": f"{cfg['BASE_URL'].rstrip('/')}/meetings/calendar",
    }
    subject = f"{SUBJECT_PREFIX[kind]}: {summary}, {when}"
    return Notice(
        subject=subject[:200],
        text=render_template(f"emails/meeting_{kind}.txt", **context),
        html=render_template(f"emails/meeting_{kind}.html", **context),
    )
