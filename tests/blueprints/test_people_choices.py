"""Choices without explanations, care for listeners, requests that can be matched,
and the weekly-times editor: pages, API and services."""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from matching import engine
from matching.extensions import db
from matching.models import (
    AuditEvent,
    AvailabilityWindow,
    DebriefRequest,
    Feedback,
    Meeting,
    OutboxMessage,
    RequestExclusion,
    SupportRequest,
    User,
    now_utc,
)
from matching.services import care, engine_input, meetings, rounds
from tests.conftest import PASSWORD
from tests.support.meetings import ALL_WEEK, Pair, book, future_start, make_pair, move_to_past


@pytest.fixture
def pair(make_user):
    return make_pair(make_user)


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def signed_in(app, uid: int):
    client = app.test_client()
    with app.app_context():
        email = db.session.get(User, uid).email
    assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
    return client


# Free times to move to ------------------------------------------------------------------


def test_free_times_pass_every_rule_for_both_and_skip_the_current_one(app, api, pair):
    meeting_id = book(app, pair, future_start(days=3))
    r = api(pair.practitioner).get(f"/api/v1/meetings/{meeting_id}/free-times")
    assert r.status_code == 200
    starts = [datetime.fromisoformat(s) for s in r.json["items"]]
    assert 1 <= len(starts) <= 10
    assert starts == sorted(starts)
    with app.app_context():
        meeting = db.session.get(Meeting, meeting_id)
        assert meeting.start_at not in starts
        now = now_utc()
        req, listener = engine_input.pair_inputs(
            meeting.request, meeting.listener, now, skip_meeting=meeting.id
        )
        params = engine_input.params(now)
        for start in starts:
            assert start > now
            assert engine.check_slot(req, listener, start, params, enforce_horizon=False) == ()
    assert api(pair.listener).get(f"/api/v1/meetings/{meeting_id}/free-times").status_code == 200
    assert api(pair.coordinator).get(f"/api/v1/meetings/{meeting_id}/free-times").status_code == 200
    assert api(pair.stranger).get(f"/api/v1/meetings/{meeting_id}/free-times").status_code == 404


def test_free_times_leave_out_the_other_persons_busy_time(app, api, pair, make_user):
    first = book(app, pair, future_start(days=3, hour=10))
    offered = api(pair.practitioner).get(f"/api/v1/meetings/{first}/free-times").json["items"]
    taken = datetime.fromisoformat(offered[0])
    # Another practitioner books the listener at the first time offered.
    other = Pair(pair.coordinator, make_user("practitioner", windows=ALL_WEEK), pair.listener, 0)
    book(app, other, taken)
    again = api(pair.practitioner).get(f"/api/v1/meetings/{first}/free-times").json["items"]
    assert offered[0] not in again


def test_a_meeting_that_cannot_move_offers_no_times(app, api, pair):
    meeting_id = book(app, pair, future_start())
    move_to_past(app, meeting_id)
    r = api(pair.practitioner).get(f"/api/v1/meetings/{meeting_id}/free-times")
    assert r.json == {"items": []}


def test_the_meeting_page_offers_the_times_in_my_zone_and_moves_in_one_click(app, pair):
    meeting_id = book(app, pair, future_start(days=3))
    client = signed_in(app, pair.practitioner)  # in Europe/Berlin
    with app.app_context():
        starts = meetings.free_times(db.session.get(User, pair.practitioner), meeting_id)
    page = text(client.get(f"/meetings/{meeting_id}"))
    berlin = starts[0].astimezone(ZoneInfo("Europe/Berlin")).strftime("%a %d %b, %H:%M")
    assert f">{berlin}</button>" in page
    assert f'name="choice" value="{starts[0].isoformat()}"' in page
    r = client.post(f"/meetings/{meeting_id}/reschedule", data={"choice": starts[0].isoformat()})
    assert r.status_code == 302
    with app.app_context():
        meeting = db.session.get(Meeting, meeting_id)
        assert (meeting.start_at, meeting.sequence) == (starts[0], 1)
    odd = client.post(
        f"/meetings/{meeting_id}/reschedule", data={"choice": "soon"}, follow_redirects=True
    )
    assert "ISO 8601" in text(odd)


# Cancelling asks first; a different listener ----------------------------------------------


def test_cancelling_goes_through_a_confirmation_page(app, pair):
    meeting_id = book(app, pair, future_start(days=3))
    client = signed_in(app, pair.listener)
    page = text(client.get(f"/meetings/{meeting_id}"))
    assert f'action="/meetings/{meeting_id}/cancel"' not in page  # no one-click cancel
    assert f'href="/meetings/{meeting_id}/cancel"' in page
    assert "I would like a different listener" not in page  # the practitioner's choice only
    confirm = text(client.get(f"/meetings/{meeting_id}/cancel"))
    assert "Cancel this conversation?" in confirm and "Keep it" in confirm
    assert f'action="/meetings/{meeting_id}/cancel"' in confirm
    assert 'name="another_listener"' not in confirm
    with app.app_context():
        assert db.session.get(Meeting, meeting_id).status == "scheduled"


def test_a_different_listener_reopens_the_request_and_never_proposes_them_again(app, api, pair):
    meeting_id = book(app, pair, future_start(days=3))
    client = signed_in(app, pair.practitioner)
    page = text(client.get(f"/meetings/{meeting_id}/cancel?another=1"))
    assert "A different listener" in page and "is not told" in page
    r = client.post(f"/meetings/{meeting_id}/cancel", data={"another_listener": "y", "reason": ""})
    assert r.status_code == 302
    with app.app_context():
        meeting = db.session.get(Meeting, meeting_id)
        assert meeting.status == "cancelled"
        assert meeting.request.status == "open"
        assert db.session.get(RequestExclusion, (meeting.request_id, pair.listener)) is not None
        told = db.session.scalar(
            db.select(OutboxMessage)
            .where(OutboxMessage.meeting_id == meeting_id)
            .where(OutboxMessage.recipient == "leo@example.org")
            .where(OutboxMessage.kind == "cancel")
        )
        assert "listener" not in told.text_body.lower()  # no reason passed on
        result = rounds.run_round(db.session.get(User, pair.coordinator))
        db.session.commit()
        assert result.proposals == []
        [unmatched] = result.unmatched
        assert unmatched["request_id"] == meeting.request_id
        assert unmatched["reasons"] == ["the only listeners who fit are excluded for this request"]


def test_only_the_practitioner_asks_for_a_different_listener(app, api, pair):
    meeting_id = book(app, pair, future_start(days=3))
    r = api(pair.listener).post(
        f"/api/v1/meetings/{meeting_id}/cancel", json={"another_listener": True}
    )
    assert (r.status_code, set(r.json["error"]["fields"])) == (422, {"another_listener"})
    with app.app_context():
        assert db.session.get(Meeting, meeting_id).status == "scheduled"
    r = api(pair.practitioner).post(
        f"/api/v1/meetings/{meeting_id}/cancel", json={"another_listener": True}
    )
    assert r.status_code == 200 and r.json["status"] == "cancelled"
    with app.app_context():
        meeting = db.session.get(Meeting, meeting_id)
        assert engine_input.pair_inputs(meeting.request, meeting.listener, now_utc())[
            0
        ].excluded_listeners == frozenset({pair.listener})
        assert db.session.scalar(
            db.select(AuditEvent.data).where(AuditEvent.action == "meeting.cancelled")
        )["another_listener"]


# Requests that can be matched -----------------------------------------------------------


def test_a_request_waits_for_languages_ways_and_times(app, api, make_user):
    uid = make_user("practitioner", languages=[], modalities=[])
    r = api(uid).post("/api/v1/requests", json={"urgency": "urgent", "modalities": ["video"]})
    assert (r.status_code, r.json["error"]["code"]) == (409, "profile_incomplete")
    assert set(r.json["error"]["fields"]) == {"languages", "modalities", "availability"}
    assert "weekly times" in r.json["error"]["message"]
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(SupportRequest)) == 0


def test_the_home_page_says_what_is_missing_with_links(app, make_user):
    uid = make_user("practitioner", windows=[])
    client = signed_in(app, uid)
    home = text(client.get("/practitioner/"))
    assert 'href="/practitioner/availability">Add your weekly times' in home
    assert "Add the languages you speak" not in home
    assert "/practitioner/request" not in home  # nothing to ask with yet
    page = text(client.get("/practitioner/request"))
    assert "Send my request" not in page and "Add your weekly times" in page
    refused = client.post(
        "/practitioner/request", data={"urgency": "urgent", "modalities": "video"}
    )
    assert "Thank you" not in text(refused)
    assert "please add your weekly times" in text(refused)
    listener = signed_in(app, make_user("listener", languages=[]))
    assert "Add the languages you speak" in text(listener.get("/listener/"))


# Care for listeners ---------------------------------------------------------------------


def _held(app, pair, *, days_ago: int, count: int = 1, first_day: int = 2) -> list[int]:
    """Conversations that took place ``days_ago`` (booked on free days, then put there)."""
    ids = []
    for n in range(count):
        meeting_id = book(app, pair, future_start(days=first_day + n, hour=10))
        with app.app_context():
            meeting = db.session.get(Meeting, meeting_id)
            meeting.start_at = now_utc() - timedelta(days=days_ago, hours=n * 2 + 2)
            meeting.end_at = meeting.start_at + timedelta(hours=1)
            db.session.commit()
        ids.append(meeting_id)
    return ids


def test_the_week_is_counted_in_the_listeners_zone(app, make_user, pair):
    with app.app_context():
        listener = db.session.get(User, pair.listener)  # America/New_York
        now = datetime(2026, 3, 4, 12, tzinfo=UTC)  # Wednesday
        for start, status in (
            (datetime(2026, 3, 2, 4, tzinfo=UTC), "completed"),  # Sunday 23:00 in New York
            (datetime(2026, 3, 2, 15, tzinfo=UTC), "completed"),  # Monday
            (datetime(2026, 3, 5, 15, tzinfo=UTC), "scheduled"),  # Thursday
            (datetime(2026, 3, 5, 18, tzinfo=UTC), "cancelled"),  # not counted
        ):
            db.session.add(
                Meeting(
                    request_id=_request(pair),
                    practitioner_id=pair.practitioner,
                    listener_id=pair.listener,
                    start_at=start,
                    end_at=start + timedelta(hours=1),
                    status=status,
                    uid=f"m-{start.isoformat()}",
                )
            )
        db.session.flush()
        load = care.week_load(listener, now=now)
    assert load["total"] == 2
    assert [d["count"] for d in load["days"]] == [1, 0, 0, 1, 0, 0, 0]
    assert load["days"][0]["date"].isoformat() == "2026-03-02"
    assert (load["weekly_limit"], load["daily_limit"]) == (10, 4)


def _request(pair) -> int:
    req = SupportRequest(practitioner_id=pair.practitioner, modalities=["video"], status="closed")
    db.session.add(req)
    db.session.flush()
    return req.id


def test_the_listener_home_shows_the_week_against_the_limits(app, pair):
    book(app, pair, future_start(days=1))
    client = signed_in(app, pair.listener)
    page = text(client.get("/listener/"))
    assert "This week" in page
    assert "of your 10 conversations a week, at most 4 a day" in page


@pytest.mark.parametrize("app_config", [{"DEBRIEF_AFTER_SESSIONS": 3, "DEBRIEF_WITHIN_DAYS": 7}])
def test_a_heavy_stretch_offers_a_debrief_that_reaches_the_coordinators(app, pair):
    _held(app, pair, days_ago=1, count=2)
    client = signed_in(app, pair.listener)
    assert "Yes, I would like a debrief" not in text(client.get("/listener/"))
    _held(app, pair, days_ago=2, first_day=5)
    _held(app, pair, days_ago=9, first_day=6)  # outside the period: not counted
    page = text(client.get("/listener/"))
    assert "You have listened in 3 conversations in the last 7 days" in page
    r = client.post("/listener/debrief", follow_redirects=True)
    assert "A coordinator will get in touch" in text(r)
    assert "Yes, I would like a debrief" not in text(r)

    coordinator = signed_in(app, pair.coordinator)
    overview = text(coordinator.get("/coordinator/"))
    assert "Debrief requests" in overview and "Leo Listener" in overview
    with app.app_context():
        debrief_id = db.session.scalar(db.select(DebriefRequest.id))
    coordinator.post(f"/coordinator/debriefs/{debrief_id}/arranged")
    assert "Debrief requests" not in text(coordinator.get("/coordinator/"))
    with app.app_context():
        assert db.session.get(DebriefRequest, debrief_id).status == "arranged"
        assert db.session.scalar(
            db.select(AuditEvent.id).where(AuditEvent.action == "debrief.arranged")
        )
    # Asked within the period: not offered again straight away.
    assert "Yes, I would like a debrief" not in text(client.get("/listener/"))


def test_the_pause_names_its_last_day_to_the_listener_and_the_coordinator(app, make_user):
    uid = make_user("listener", timezone="Asia/Tokyo", name="Kei")
    client = signed_in(app, uid)
    last = (now_utc().astimezone(ZoneInfo("Asia/Tokyo")) + timedelta(days=5)).date()
    r = client.post("/listener/pause", data={"until": last.isoformat()}, follow_redirects=True)
    words = f"paused to and including {last:%a %-d %b}"
    assert f"You are {words}." in text(r)
    coordinator = signed_in(app, make_user("coordinator"))
    assert words in text(coordinator.get("/coordinator/listeners"))


# Feedback asked for ---------------------------------------------------------------------


def test_both_are_asked_for_feedback_after_the_end_until_they_give_it(app, pair):
    meeting_id = book(app, pair, future_start())
    practitioner, listener = signed_in(app, pair.practitioner), signed_in(app, pair.listener)
    assert "How did it go?" not in text(practitioner.get("/practitioner/"))
    move_to_past(app, meeting_id)
    for client, home in ((practitioner, "/practitioner/"), (listener, "/listener/")):
        page = text(client.get(home))
        assert "How did it go?" in page
        assert f'href="/meetings/{meeting_id}#feedback"' in page
    practitioner.post(f"/meetings/{meeting_id}/feedback", data={"rating": "5", "comment": ""})
    assert "How did it go?" not in text(practitioner.get("/practitioner/"))
    assert "How did it go?" in text(listener.get("/listener/"))
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Feedback)) == 1


# The weekly-times editor ------------------------------------------------------------------


def test_times_are_typed_as_24_hour_text_whatever_the_browser(app, make_user):
    client = signed_in(app, make_user("listener"))
    page = text(client.get("/listener/availability"))
    assert 'type="time"' not in page
    assert 'pattern="([01][0-9]|2[0-3]):[0-5][0-9]"' in page
    assert 'inputmode="numeric"' in page


def test_copy_to_weekdays_works_without_script_and_saves_nothing_yet(app, make_user):
    uid = make_user("practitioner")
    client = signed_in(app, uid)
    data = {
        "av-windows-0-weekday": "0",
        "av-windows-0-start": "08:30",
        "av-windows-0-end": "12:00",
        "copy": "0",
    }
    page = text(client.post("/practitioner/availability", data=data))
    assert "Copied to Monday to Friday" in page
    for day in range(5):
        assert f'<option selected value="{day}">' in page
    assert page.count('value="08:30"') == 5
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(AvailabilityWindow)) == 0
    empty = text(client.post("/practitioner/availability", data={"copy": "3"}))
    assert "Fill in that row's times first" in empty


def test_the_homes_ask_for_feedback_without_a_query_per_conversation(app, make_user, count_queries):
    listener = make_user("listener", windows=ALL_WEEK, max_sessions_per_day=4)
    coordinator = make_user("coordinator")

    def ended(count: int) -> None:
        for _ in range(count):
            practitioner = make_user("practitioner", windows=ALL_WEEK)
            pair = Pair(coordinator, practitioner, listener, 0)
            with app.app_context():
                taken = db.session.scalar(db.select(db.func.count()).select_from(Meeting))
            move_to_past(app, book(app, pair, future_start(days=2 + taken)), hours_ago=3 + taken)

    client = signed_in(app, listener)

    def queries() -> int:
        client.get("/listener/")
        with count_queries() as counted:
            page = text(client.get("/listener/"))
        assert page.count("Tell us how it went") == prompts
        return counted["n"]

    prompts = 2
    ended(2)
    few = queries()
    prompts = 6
    ended(4)
    assert queries() == few
