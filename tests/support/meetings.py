"""Helpers for the meeting and outbox tests: a booked pair and calendar parsing."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import icalendar
import vobject

from matching.extensions import db
from matching.models import MatchingRound, Meeting, Proposal, SupportRequest, User, now_utc

# Every minute of the week (a window ending at 00:00 runs to midnight), so tests that
# book "in 20 hours" do not depend on the hour they run at.
ALL_WEEK = [
    (day, start, end) for day in range(7) for start, end in (("00:00", "12:00"), ("12:00", "00:00"))
]
SENSITIVE = re.compile(
    r"\b(trauma\w*|stress\w*|burn[- ]?out|crisis|ptsd|support|mental[- ]health|distress\w*)\b",
    re.IGNORECASE,
)


@dataclass
class Pair:
    coordinator: int
    practitioner: int
    listener: int
    stranger: int


def make_pair(make_user) -> Pair:
    """A coordinator, a practitioner in Berlin, a listener in New York, and an outsider."""
    return Pair(
        coordinator=make_user("coordinator", email="coord@example.org", name="Cora Ordinator"),
        practitioner=make_user(
            "practitioner",
            email="pia@example.org",
            name="Pia Practitioner",
            timezone="Europe/Berlin",
            windows=ALL_WEEK,
        ),
        listener=make_user(
            "listener",
            email="leo@example.org",
            name="Leo Listener",
            timezone="America/New_York",
            windows=ALL_WEEK,
            max_sessions_per_day=4,
            max_sessions_per_week=10,
        ),
        stranger=make_user("practitioner", email="sam@example.org", windows=ALL_WEEK),
    )


def future_start(days: int = 3, hour: int = 14) -> datetime:
    """A whole hour some days ahead, in UTC."""
    base = now_utc().replace(minute=0, second=0, microsecond=0)
    return base.replace(hour=hour) + timedelta(days=days)


def book(
    app,
    pair: Pair,
    start: datetime,
    *,
    minutes: int = 60,
    commit: bool = True,
    modalities: tuple[str, ...] = ("video",),
    phone: str | None = None,
) -> int:
    """Create request, round, proposal and meeting (through create_meeting); return its id."""
    from matching.services import meetings

    with app.app_context():
        req = SupportRequest(
            practitioner_id=pair.practitioner,
            urgency="routine",
            modalities=list(modalities),
            phone=phone,
        )
        rnd = MatchingRound(started_by_id=pair.coordinator)
        db.session.add_all([req, rnd])
        db.session.flush()
        req.status = "proposed"
        proposal = Proposal(
            round_id=rnd.id,
            request_id=req.id,
            listener_id=pair.listener,
            start_at=start,
            end_at=start + timedelta(minutes=minutes),
            score=50,
            status="approved",
        )
        db.session.add(proposal)
        db.session.flush()
        meeting = meetings.create_meeting(db.session.get(User, pair.coordinator), proposal)
        meeting_id = meeting.id
        if commit:
            db.session.commit()
        return meeting_id


def move_to_past(app, meeting_id: int, *, hours_ago: int = 3) -> None:
    """Put a meeting in the past (tests only: the service never moves one backwards)."""
    with app.app_context():
        meeting = db.session.get(Meeting, meeting_id)
        length = meeting.end_at - meeting.start_at
        meeting.start_at = now_utc() - timedelta(hours=hours_ago)
        meeting.end_at = meeting.start_at + length
        db.session.commit()


def parse_invite(ics: bytes) -> dict:
    """Parse with icalendar and vobject; both must agree. Returns the fields tests compare."""
    cal = icalendar.Calendar.from_ical(ics)
    events = [c for c in cal.walk("VEVENT")]
    parsed = vobject.readOne(ics.decode("utf-8"))
    vevents = parsed.contents.get("vevent", [])
    assert len(events) == len(vevents)
    result = {"method": str(cal.get("METHOD")), "events": []}
    assert parsed.method.value == result["method"]
    for ev, vev in zip(events, vevents, strict=True):
        item = {
            "uid": str(ev["UID"]),
            "sequence": int(ev["SEQUENCE"]),
            "status": str(ev["STATUS"]),
            "start": ev.decoded("DTSTART"),
            "end": ev.decoded("DTEND"),
            "summary": str(ev["SUMMARY"]),
            "description": str(ev["DESCRIPTION"]),
            "attendees": sorted(str(a) for a in _list(ev.get("ATTENDEE"))),
        }
        assert vev.uid.value == item["uid"]
        assert int(vev.sequence.value) == item["sequence"]
        assert vev.status.value == item["status"]
        assert vev.dtstart.value == item["start"]
        assert vev.dtend.value == item["end"]
        for text in (item["summary"], item["description"]):
            assert not SENSITIVE.search(text), text
        result["events"].append(item)
    return result


def _list(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
