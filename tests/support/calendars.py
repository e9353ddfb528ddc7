"""Reading calendars as clients do: icalendar, vobject and ical.js (the parser inside
Thunderbird) must agree on what they read. The ical.js reader is the `icaljs` fixture of
tests/ical/conftest.py.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import icalendar
import vobject


def parse_with_icalendar(ics: bytes) -> list[dict]:
    calendar = icalendar.Calendar.from_ical(ics)
    return [
        {
            "uid": str(vevent["UID"]),
            "sequence": vevent.decoded("SEQUENCE"),
            "start": vevent.decoded("DTSTART"),
            "end": vevent.decoded("DTEND"),
            "status": str(vevent["STATUS"]),
            "method": str(calendar["METHOD"]),
        }
        for vevent in calendar.walk("VEVENT")
    ]


def parse_with_vobject(ics: bytes) -> list[dict]:
    calendar = vobject.readOne(io.StringIO(ics.decode("utf-8")))
    return [
        {
            "uid": vevent.uid.value,
            "sequence": int(vevent.sequence.value),
            "start": vevent.dtstart.value,
            "end": vevent.dtend.value,
            "status": vevent.status.value,
            "method": calendar.method.value,
        }
        for vevent in calendar.vevent_list
    ]


def parse_with_icaljs(icaljs, ics: bytes) -> list[dict]:
    return [
        {
            "uid": event["uid"],
            "sequence": event["sequence"],
            "start": datetime.fromisoformat(event["start_utc"]),
            "end": datetime.fromisoformat(event["end_utc"]),
            "status": event["status"],
            "method": event["method"],
        }
        for event in icaljs(ics)
    ]


def read_three_ways(icaljs, ics: bytes) -> list[dict]:
    """Parse with all three parsers, check they agree, return the common reading."""
    readings = {
        "icalendar": parse_with_icalendar(ics),
        "vobject": parse_with_vobject(ics),
        "ical.js": parse_with_icaljs(icaljs, ics),
    }
    for name, events in readings.items():
        for event in events:
            for key in ("start", "end"):
                assert event[key].utcoffset() == timedelta(0), (name, key, event[key])
                event[key] = event[key].astimezone(UTC)
    first = readings["icalendar"]
    assert readings["vobject"] == first
    assert readings["ical.js"] == first
    return first


def attendees_three_ways(icaljs, ics: bytes) -> list[list[str]]:
    """The ATTENDEE addresses of each VEVENT; all three parsers must read the same."""
    calendar = icalendar.Calendar.from_ical(ics)
    readings = {
        "icalendar": [
            [str(a) for a in _as_list(vevent.get("ATTENDEE"))] for vevent in calendar.walk("VEVENT")
        ],
        "vobject": [
            [a.value for a in vevent.contents.get("attendee", [])]
            for vevent in vobject.readOne(io.StringIO(ics.decode("utf-8"))).vevent_list
        ],
        "ical.js": [[a["email"] for a in event["attendees"]] for event in icaljs(ics)],
    }
    first = readings["icalendar"]
    assert readings["vobject"] == first, readings
    assert readings["ical.js"] == first, readings
    return first


def locations_three_ways(icaljs, ics: bytes) -> list[str | None]:
    """The LOCATION of each VEVENT (None without one), read alike by all three parsers."""
    calendar = icalendar.Calendar.from_ical(ics)
    readings = {
        "icalendar": [
            str(vevent["LOCATION"]) if "LOCATION" in vevent else None
            for vevent in calendar.walk("VEVENT")
        ],
        "vobject": [
            vevent.location.value if "location" in vevent.contents else None
            for vevent in vobject.readOne(io.StringIO(ics.decode("utf-8"))).vevent_list
        ],
        "ical.js": [event["location"] for event in icaljs(ics)],
    }
    first = readings["icalendar"]
    assert readings["vobject"] == first, readings
    assert readings["ical.js"] == first, readings
    return first


def _as_list(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
