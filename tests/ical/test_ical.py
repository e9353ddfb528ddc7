"""Invites, cancellations and feeds as calendar clients will read them."""

from __future__ import annotations

import ast
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
import vobject

from matching import ical
from matching.ical import DEFAULT_SUMMARY, Attendee, CalendarEvent
from tests.support.calendars import read_three_ways

ORGANIZER = "noreply@alongside.example"
ORGANIZER_NAME = "Alongside"
AWKWARD_NAME = 'Zoë, "Ann"; O\'Brien\\'
PRACTITIONER = Attendee("zoe@clinic.example", AWKWARD_NAME)
LISTENER = Attendee("sam@volunteers.example", "Sam Lee")


def make_event(**changes) -> CalendarEvent:
    event = CalendarEvent(
        uid="meeting-42@alongside.example",
        sequence=0,
        start=datetime(2026, 7, 14, 13, 0, tzinfo=UTC),
        end=datetime(2026, 7, 14, 13, 50, tzinfo=UTC),
        dtstamp=datetime(2026, 7, 1, 8, 30, tzinfo=UTC),
        status="CONFIRMED",
        attendees=(PRACTITIONER, LISTENER),
        summary=DEFAULT_SUMMARY,
        description="A 50-minute conversation. Join link: https://meet.example/abc",
    )
    return replace(event, **changes)


def request(event: CalendarEvent | None = None) -> bytes:
    return ical.invite(
        event or make_event(),
        method="REQUEST",
        organizer_email=ORGANIZER,
        organizer_name=ORGANIZER_NAME,
    )


def cancel(event: CalendarEvent) -> bytes:
    return ical.invite(
        replace(event, sequence=event.sequence + 1, status="CANCELLED"),
        method="CANCEL",
        organizer_email=ORGANIZER,
        organizer_name=ORGANIZER_NAME,
    )


def unfolded_lines(ics: bytes) -> list[str]:
    return ics.decode("utf-8").replace("\r\n ", "").split("\r\n")


def only_vevent(ics: bytes) -> icalendar.Event:
    events = icalendar.Calendar.from_ical(ics).walk("VEVENT")
    assert len(events) == 1
    return events[0]


# --- structure ----------------------------------------------------------------


def test_request_has_the_calendar_header_fields():
    calendar = icalendar.Calendar.from_ical(request())

    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["PRODID"]) == "-//Alongside//Alongside//EN"
    assert str(calendar["CALSCALE"]) == "GREGORIAN"
    assert str(calendar["METHOD"]) == "REQUEST"
    assert calendar.walk("VTIMEZONE") == []


def test_request_event_fields():
    vevent = only_vevent(request())

    assert str(vevent["UID"]) == "meeting-42@alongside.example"
    assert vevent.decoded("SEQUENCE") == 0
    assert vevent.decoded("DTSTAMP") == datetime(2026, 7, 1, 8, 30, tzinfo=UTC)
    assert str(vevent["STATUS"]) == "CONFIRMED"
    assert str(vevent["CLASS"]) == "PRIVATE"
    assert str(vevent["TRANSP"]) == "OPAQUE"
    assert str(vevent["SUMMARY"]) == "Peer conversation — Alongside"
    organizer = vevent["ORGANIZER"]
    assert str(organizer) == f"mailto:{ORGANIZER}"
    assert organizer.params["CN"] == ORGANIZER_NAME


def test_times_are_written_in_utc_z_form():
    lines = unfolded_lines(request())

    assert "DTSTART:20260714T130000Z" in lines
    assert "DTEND:20260714T135000Z" in lines
    assert "DTSTAMP:20260701T083000Z" in lines


def test_times_given_in_another_zone_are_written_in_utc():
    berlin = ZoneInfo("Europe/Berlin")
    event = make_event(
        start=datetime(2026, 7, 14, 15, 0, tzinfo=berlin),
        end=datetime(2026, 7, 14, 15, 50, tzinfo=berlin),
    )

    lines = unfolded_lines(request(event))

    assert "DTSTART:20260714T130000Z" in lines
    assert "DTEND:20260714T135000Z" in lines


def test_each_attendee_is_invited_individually():
    attendees = only_vevent(request())["ATTENDEE"]

    assert [str(a) for a in attendees] == [
        "mailto:zoe@clinic.example",
        "mailto:sam@volunteers.example",
    ]
    for attendee, person in zip(attendees, (PRACTITIONER, LISTENER), strict=True):
        assert attendee.params["CN"] == person.name
        assert attendee.params["ROLE"] == "REQ-PARTICIPANT"
        assert attendee.params["PARTSTAT"] == "NEEDS-ACTION"
        assert attendee.params["RSVP"] == "TRUE"
        assert attendee.params["CUTYPE"] == "INDIVIDUAL"


def test_attendee_role_comes_from_the_caller():
    event = make_event(attendees=(PRACTITIONER, replace(LISTENER, role="OPT-PARTICIPANT")))

    attendees = only_vevent(request(event))["ATTENDEE"]

    assert [a.params["ROLE"] for a in attendees] == ["REQ-PARTICIPANT", "OPT-PARTICIPANT"]


def test_every_name_is_quoted():
    lines = unfolded_lines(request())

    assert f'ORGANIZER;CN="{ORGANIZER_NAME}":mailto:{ORGANIZER}' in lines
    assert any(line.startswith('ATTENDEE;CN="Sam Lee";') for line in lines)


def test_request_reminds_fifteen_minutes_before_in_neutral_words(assert_calendar_neutral):
    ics = request()
    alarms = only_vevent(ics).walk("VALARM")

    assert len(alarms) == 1
    alarm = alarms[0]
    assert str(alarm["ACTION"]) == "DISPLAY"
    assert alarm.decoded("TRIGGER") == timedelta(minutes=-15)
    assert "TRIGGER:-PT15M" in unfolded_lines(ics)
    assert str(alarm["DESCRIPTION"]) == ical.REMINDER_TEXT
    assert_calendar_neutral(ics)


def test_the_alarm_says_what_the_caller_asks_and_a_location_is_written_when_given():
    event = make_event(reminder="Reminder: group session in 15 minutes", location="Room 4")
    vevent = only_vevent(request(event))

    [alarm] = vevent.walk("VALARM")
    assert str(alarm["DESCRIPTION"]) == "Reminder: group session in 15 minutes"
    assert str(vevent["LOCATION"]) == "Room 4"
    assert "LOCATION" not in only_vevent(request())


def test_url_is_written_only_when_given():
    with_url = only_vevent(request(make_event(url="https://alongside.example/meetings/42")))
    without_url = only_vevent(request())

    assert str(with_url["URL"]) == "https://alongside.example/meetings/42"
    assert "URL" not in without_url


def test_cancel_keeps_the_uid_raises_the_sequence_and_drops_the_reminder():
    event = make_event(sequence=3)
    original = only_vevent(request(event))

    ics = cancel(event)
    calendar = icalendar.Calendar.from_ical(ics)
    cancelled = only_vevent(ics)

    assert str(calendar["METHOD"]) == "CANCEL"
    assert str(cancelled["UID"]) == str(original["UID"])
    assert cancelled.decoded("SEQUENCE") == 4 > original.decoded("SEQUENCE")
    assert str(cancelled["STATUS"]) == "CANCELLED"
    assert cancelled.walk("VALARM") == []
    assert "BEGIN:VALARM" not in ics.decode()
    assert [str(a) for a in cancelled["ATTENDEE"]] == [str(a) for a in original["ATTENDEE"]]
    assert cancelled.decoded("DTSTART") == original.decoded("DTSTART")


@pytest.mark.parametrize(
    ("method", "status"),
    [("CANCEL", "CONFIRMED"), ("REQUEST", "CANCELLED"), ("PUBLISH", "CONFIRMED")],
)
def test_method_and_status_must_agree(method, status):
    with pytest.raises(ValueError):
        ical.invite(
            make_event(status=status),
            method=method,
            organizer_email=ORGANIZER,
            organizer_name=ORGANIZER_NAME,
        )


@pytest.mark.parametrize(
    "changes",
    [
        {"start": datetime(2026, 7, 14, 13, 0)},  # naive
        {"end": datetime(2026, 7, 14, 12, 0, tzinfo=UTC)},  # ends before it starts
        {"end": datetime(2026, 7, 14, 13, 0, tzinfo=UTC)},  # no length
        {"sequence": -1},
        {"dtstamp": datetime(2026, 7, 1, 8, 30)},  # naive
    ],
)
def test_invalid_events_are_refused(changes):
    with pytest.raises(ValueError):
        request(make_event(**changes))


def test_output_is_stable_for_the_same_input():
    assert request() == request()


# --- line format: CRLF, folding, escaping -----------------------------------------


def test_every_line_ends_in_crlf():
    ics = request(make_event(description="first line\nsecond line"))

    assert ics.endswith(b"\r\n")
    assert b"\n" not in ics.replace(b"\r\n", b"")
    assert b"\r" not in ics.replace(b"\r\n", b"")


def test_long_lines_fold_at_75_octets_without_splitting_characters():
    description = "Zoë and Sam meet for a conversation. " + "ëé€😀" * 40
    ics = request(make_event(description=description))

    physical = ics.split(b"\r\n")
    assert max(len(line) for line in physical) <= 75
    assert any(line.startswith(b" ") for line in physical)
    for line in physical:
        line.decode("utf-8")  # a split inside a character would not decode
    assert str(only_vevent(ics)["DESCRIPTION"]) == description


def test_text_is_escaped_as_rfc5545_says():
    description = "Room 4, floor 2; bring a pen\\paper\nSee you"
    ics = request(make_event(description=description))

    line = next(x for x in unfolded_lines(ics) if x.startswith("DESCRIPTION:"))
    assert line == r"DESCRIPTION:Room 4\, floor 2\; bring a pen\\paper\nSee you"
    assert str(only_vevent(ics)["DESCRIPTION"]) == description


def test_awkward_names_survive_a_round_trip(icaljs):
    ics = request()

    attendee = only_vevent(ics)["ATTENDEE"][0]
    assert attendee.params["CN"] == AWKWARD_NAME
    [parsed] = icaljs(ics)
    assert parsed["attendees"][0] == {"email": "mailto:zoe@clinic.example", "name": AWKWARD_NAME}
    # RFC 6868: the double quote inside a quoted parameter becomes ^'
    line = next(x for x in unfolded_lines(ics) if "zoe@clinic.example" in x)
    assert line.startswith("ATTENDEE;CN=\"Zoë, ^'Ann^'; O'Brien\\\";")


# --- three independent parsers agree ------------------------------------------------

NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")

# (person's zone, local start, UTC start): DST in July, standard time in January.
MEETINGS = [
    pytest.param(NEW_YORK, datetime(2026, 7, 14, 9, 0), datetime(2026, 7, 14, 13, 0), id="ny-july"),
    pytest.param(NEW_YORK, datetime(2026, 1, 13, 9, 0), datetime(2026, 1, 13, 14, 0), id="ny-jan"),
    pytest.param(BERLIN, datetime(2026, 7, 14, 18, 0), datetime(2026, 7, 14, 16, 0), id="ber-july"),
    pytest.param(BERLIN, datetime(2026, 1, 13, 18, 0), datetime(2026, 1, 13, 17, 0), id="ber-jan"),
]


@pytest.mark.parametrize(("zone", "local_start", "utc_start"), MEETINGS)
def test_parsers_agree_on_the_utc_instant_and_local_hour(icaljs, zone, local_start, utc_start):
    start = local_start.replace(tzinfo=zone)
    event = make_event(start=start, end=start + timedelta(minutes=50))

    [seen] = read_three_ways(icaljs, request(event))

    assert seen["start"] == utc_start.replace(tzinfo=UTC)
    assert seen["end"] == utc_start.replace(tzinfo=UTC) + timedelta(minutes=50)
    assert seen["start"].astimezone(zone).hour == local_start.hour
    assert seen["start"].astimezone(zone).date() == local_start.date()
    assert (seen["uid"], seen["sequence"], seen["status"], seen["method"]) == (
        "meeting-42@alongside.example",
        0,
        "CONFIRMED",
        "REQUEST",
    )


def test_parsers_agree_on_a_cancel(icaljs):
    start = datetime(2026, 1, 13, 9, 0, tzinfo=NEW_YORK)
    event = make_event(start=start, end=start + timedelta(minutes=50), sequence=1)

    [seen] = read_three_ways(icaljs, cancel(event))

    assert seen == {
        "uid": "meeting-42@alongside.example",
        "sequence": 2,
        "start": datetime(2026, 1, 13, 14, 0, tzinfo=UTC),
        "end": datetime(2026, 1, 13, 14, 50, tzinfo=UTC),
        "status": "CANCELLED",
        "method": "CANCEL",
    }
    assert icaljs(cancel(event))[0]["alarms"] == 0


# --- subscription feed -------------------------------------------------------------


def make_feed() -> bytes:
    confirmed = make_event(uid="meeting-1@alongside.example", sequence=0)
    cancelled = make_event(
        uid="meeting-2@alongside.example",
        sequence=2,
        status="CANCELLED",
        start=datetime(2026, 1, 20, 17, 0, tzinfo=UTC),
        end=datetime(2026, 1, 20, 17, 50, tzinfo=UTC),
    )
    return ical.feed(
        [confirmed, cancelled],
        calendar_name="Alongside — Sam",
        organizer_email=ORGANIZER,
        organizer_name=ORGANIZER_NAME,
    )


def test_feed_lists_confirmed_and_cancelled_meetings(icaljs):
    seen = read_three_ways(icaljs, make_feed())

    assert [(e["uid"], e["sequence"], e["status"]) for e in seen] == [
        ("meeting-1@alongside.example", 0, "CONFIRMED"),
        ("meeting-2@alongside.example", 2, "CANCELLED"),
    ]
    assert {e["method"] for e in seen} == {"PUBLISH"}
    assert seen[1]["start"] == datetime(2026, 1, 20, 17, 0, tzinfo=UTC)


def test_feed_tells_clients_its_name_and_refresh_interval():
    ics = make_feed()
    calendar = icalendar.Calendar.from_ical(ics)
    lines = unfolded_lines(ics)

    assert str(calendar["X-WR-CALNAME"]) == "Alongside — Sam"
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT1H" in lines
    assert "X-PUBLISHED-TTL:PT1H" in lines
    assert str(calendar["METHOD"]) == "PUBLISH"


def test_feed_reminds_only_of_confirmed_meetings():
    events = icalendar.Calendar.from_ical(make_feed()).walk("VEVENT")

    assert [len(e.walk("VALARM")) for e in events] == [1, 0]


def test_feed_leaks_no_attendee_address():
    ics = make_feed()

    assert b"ATTENDEE" not in ics
    assert b"zoe@clinic.example" not in ics
    assert b"sam@volunteers.example" not in ics
    for vevent in icalendar.Calendar.from_ical(ics).walk("VEVENT"):
        assert str(vevent["ORGANIZER"]) == f"mailto:{ORGANIZER}"
        assert str(vevent["CLASS"]) == "PRIVATE"


def test_empty_feed_is_a_valid_calendar():
    ics = ical.feed([], calendar_name="Alongside", organizer_email=ORGANIZER, organizer_name="A")

    calendar = icalendar.Calendar.from_ical(ics)
    assert calendar.walk("VEVENT") == []
    assert vobject.readOne(ics.decode()).name == "VCALENDAR"


# --- wording and purity ---------------------------------------------------------------


def test_default_summary_is_neutral(assert_calendar_neutral):
    assert DEFAULT_SUMMARY == "Peer conversation — Alongside"
    assert_calendar_neutral(request())
    assert_calendar_neutral(cancel(make_event()))
    assert_calendar_neutral(make_feed())


@pytest.mark.parametrize(
    "changes",
    [
        {"summary": "Secondary traumatic stress check-in"},
        {"description": "Follow-up on your support request"},
        {"description": "Talking about Burnout"},
        {"summary": "Crisis line debrief"},
    ],
)
def test_neutral_check_catches_sensitive_words(assert_calendar_neutral, changes):
    with pytest.raises(AssertionError, match="sensitive wording"):
        assert_calendar_neutral(request(make_event(**changes)))


def test_ical_module_stays_pure():
    source = Path(ical.__file__).read_text(encoding="utf-8")
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
    roots = {re.split(r"\.", name)[0] for name in imported}

    assert not roots & {"flask", "sqlalchemy", "flask_sqlalchemy"}
    assert not any(name.startswith("matching.models") for name in imported)
