"""Practitioner and listener pages: profile, weekly times, time off, requests, pause."""

from __future__ import annotations

import html
from datetime import UTC, datetime, time, timedelta

import pytest

from matching.extensions import db
from matching.models import AvailabilityWindow, SupportRequest, TimeOff, User
from tests.conftest import PASSWORD
from tests.support.accounts import latest_link
from tests.support.meetings import ALL_WEEK

CRISIS_SNIPPET = "call your local emergency number now"


@pytest.fixture
def signed_in(app, client, make_user):
    """signed_in(role, **make_user_kwargs) -> user id, with the client signed in as them."""

    def do(role: str = "practitioner", **kwargs) -> int:
        uid = make_user(role, **kwargs)
        with app.app_context():
            email = db.session.get(User, uid).email
        r = client.post("/login", data={"email": email, "password": PASSWORD})
        assert r.status_code == 302
        return uid

    return do


def text_of(r) -> str:
    return html.unescape(r.get_data(as_text=True))


def load(app, uid: int) -> User:
    with app.app_context():
        user = db.session.get(User, uid)
        _ = user.profile  # load it before the session closes
        return user


def windows_of(app, uid: int) -> list[tuple[int, time, time]]:
    with app.app_context():
        rows = db.session.scalars(
            db.select(AvailabilityWindow)
            .where(AvailabilityWindow.user_id == uid)
            .order_by(AvailabilityWindow.weekday, AvailabilityWindow.start_local)
        )
        return [(w.weekday, w.start_local, w.end_local) for w in rows]


def time_off_of(app, uid: int) -> list[TimeOff]:
    with app.app_context():
        return list(db.session.scalars(db.select(TimeOff).where(TimeOff.user_id == uid)))


def requests_of(app, uid: int) -> list[SupportRequest]:
    with app.app_context():
        return list(
            db.session.scalars(
                db.select(SupportRequest)
                .where(SupportRequest.practitioner_id == uid)
                .order_by(SupportRequest.id)
            )
        )


def windows_form(*rows: tuple[str, str, str]) -> dict:
    data = {"av-submit": "1"}
    for i, (weekday, start, end) in enumerate(rows):
        data |= {
            f"av-windows-{i}-weekday": weekday,
            f"av-windows-{i}-start": start,
            f"av-windows-{i}-end": end,
        }
    return data


# Who may open what --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "path"),
    [
        ("practitioner", "/listener/"),
        ("practitioner", "/listener/profile"),
        ("practitioner", "/coordinator/"),
        ("practitioner", "/coordinator/listeners"),
        ("listener", "/practitioner/"),
        ("listener", "/practitioner/request"),
        ("listener", "/coordinator/"),
        ("coordinator", "/practitioner/profile"),
        ("coordinator", "/listener/availability"),
    ],
)
def test_other_roles_pages_answer_403(client, signed_in, role, path):
    signed_in(role)
    r = client.get(path)
    assert r.status_code == 403
    assert "Not for this account" in r.get_data(as_text=True)


def test_a_post_to_another_roles_page_is_refused_and_changes_nothing(app, client, signed_in):
    uid = signed_in("practitioner")
    r = client.post("/listener/pause", data={"until": "2099-01-01"})
    assert r.status_code == 403
    assert load(app, uid).role == "practitioner"


@pytest.mark.parametrize(
    "path",
    [
        "/practitioner/",
        "/practitioner/profile",
        "/practitioner/availability",
        "/practitioner/request",
        "/listener/",
        "/listener/profile",
        "/listener/availability",
        "/coordinator/",
        "/account/password",
    ],
)
def test_anonymous_visitors_are_sent_to_sign_in_and_back(client, path):
    r = client.get(path)
    assert r.status_code == 302
    assert r.headers["Location"] == "/login?next=" + path.replace("/", "%2F")


def test_anonymous_posts_change_nothing(app, client, make_user):
    uid = make_user("practitioner")
    r = client.post("/practitioner/request", data={"urgency": "urgent", "modalities": "video"})
    assert r.status_code == 302
    assert r.headers["Location"].startswith("/login?next=")
    assert requests_of(app, uid) == []


# Profiles -----------------------------------------------------------------------------


def test_practitioner_profile_saves_and_shows_again(app, client, signed_in):
    uid = signed_in("practitioner", languages=[], modalities=[])

    r = client.post(
        "/practitioner/profile",
        data={
            "organization": "City Hospital",
            "field": "nursing",
            "languages": "en, ES; de",
            "modalities": ["video", "phone"],
            "topics": "night shifts, Loss",
            "listener_gender": "woman",
            "listener_gender_required": "y",
        },
    )

    assert r.status_code == 302
    assert r.headers["Location"] == "/practitioner/"
    prof = load(app, uid).practitioner_profile
    assert prof.organization == "City Hospital"
    assert prof.field == "nursing"
    assert prof.languages == ["en", "es", "de"]
    assert prof.modalities == ["video", "phone"]
    assert prof.topics == ["night shifts", "loss"]
    assert (prof.listener_gender, prof.listener_gender_required) == ("woman", True)
    assert "Your profile is saved." in text_of(client.get("/practitioner/"))
    page = text_of(client.get("/practitioner/profile"))
    assert 'value="en, es, de"' in page
    assert 'value="City Hospital"' in page


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"languages": ""}, "Choose at least one."),
        ({"languages": "english"}, "Use two-letter language codes such as en, es, de."),
        ({"modalities": []}, "Choose at least one."),
        ({"modalities": ["carrier pigeon"]}, "is not a valid choice"),
        ({"field": "astrology"}, "Not a valid choice."),
        ({"topics": "x" * 41}, "Each topic is a short phrase of up to 40 characters."),
        ({"organization": "o" * 121}, "Field cannot be longer than 120 characters."),
    ],
    ids=lambda v: repr(v)[:30],
)
def test_practitioner_profile_shows_errors_and_saves_nothing(
    app, client, signed_in, changes, message
):
    uid = signed_in("practitioner", organization="Before", languages=["fr"])
    data = {
        "organization": "After",
        "field": "psychology",
        "languages": "en",
        "modalities": ["video"],
    } | changes

    r = client.post("/practitioner/profile", data=data)

    assert r.status_code == 200
    assert message in text_of(r)
    prof = load(app, uid).practitioner_profile
    assert (prof.organization, prof.languages) == ("Before", ["fr"])


def test_listener_profile_saves(app, client, signed_in):
    uid = signed_in("listener", languages=[], fields=[])

    r = client.post(
        "/listener/profile",
        data={
            "organization": "Helpline North",
            "fields": ["crisis_line", "social_work"],
            "languages": "pl, en",
            "modalities": "phone",
            "topics": "",
            "gender": "",
            "max_sessions_per_week": "3",
            "max_sessions_per_day": "2",
        },
    )

    assert r.status_code == 302
    assert r.headers["Location"] == "/listener/"
    prof = load(app, uid).listener_profile
    assert prof.organization == "Helpline North"
    assert prof.fields == ["social_work", "crisis_line"]
    assert prof.languages == ["pl", "en"]
    assert prof.modalities == ["phone"]
    assert prof.gender is None
    assert (prof.max_sessions_per_week, prof.max_sessions_per_day) == (3, 2)
    page = client.get("/listener/profile").get_data(as_text=True)
    assert '<option selected value="2">' in page


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"languages": ""}, "Choose at least one."),
        ({"max_sessions_per_week": "0"}, "Number must be between 1 and 10."),
        ({"max_sessions_per_week": "11"}, "Number must be between 1 and 10."),
        ({"max_sessions_per_week": "two"}, "Not a valid integer value."),
        ({"max_sessions_per_day": "5"}, "Not a valid choice."),
        ({"fields": ["astrology"]}, "is not a valid choice"),
    ],
    ids=lambda v: repr(v)[:30],
)
def test_listener_profile_shows_errors_and_saves_nothing(app, client, signed_in, changes, message):
    uid = signed_in("listener", organization="Before")
    data = {
        "organization": "After",
        "fields": ["psychology"],
        "languages": "en",
        "modalities": ["video"],
        "max_sessions_per_week": "2",
        "max_sessions_per_day": "1",
    } | changes

    r = client.post("/listener/profile", data=data)

    assert r.status_code == 200
    assert message in text_of(r)
    assert load(app, uid).listener_profile.organization == "Before"


# Weekly times and time off ------------------------------------------------------------


@pytest.mark.parametrize("role", ["practitioner", "listener"])
def test_weekly_times_save_including_a_night_window(app, client, signed_in, role):
    uid = signed_in(role, timezone="Europe/Berlin")

    r = client.post(
        f"/{role}/availability",
        data=windows_form(("0", "09:00", "12:00"), ("4", "22:00", "02:00"), ("", "", "")),
    )

    assert r.status_code == 302
    assert r.headers["Location"] == f"/{role}/availability"
    assert windows_of(app, uid) == [
        (0, time(9), time(12)),
        (4, time(22), time(2)),
    ]
    page = client.get(f"/{role}/availability").get_data(as_text=True)
    assert "Your weekly times are saved." in page
    assert "Europe/Berlin" in page
    assert 'value="22:00"' in page
    assert 'value="02:00"' in page


def test_weekly_times_merge_overlaps(app, client, signed_in):
    uid = signed_in("listener")
    client.post(
        "/listener/availability",
        data=windows_form(("2", "09:00", "11:00"), ("2", "10:00", "13:00")),
    )
    assert windows_of(app, uid) == [(2, time(9), time(13))]


def test_saving_no_rows_clears_the_weekly_times(app, client, signed_in):
    uid = signed_in("listener", windows=[(1, "09:00", "12:00")])
    assert client.post("/listener/availability", data=windows_form()).status_code == 302
    assert windows_of(app, uid) == []


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ((("0", "09:00", "12:00"), ("1", "10:00", "10:00")), "row 2: The end must differ"),
        ((("1", "25:00", "10:00"),), "row 1: Use a 24-hour time such as 09:30."),
        ((("1", "", "10:00"),), "row 1: Use a 24-hour time"),
        ((("", "09:00", "10:00"),), "row 1: Must be between 0 and 6."),
        ((("9", "09:00", "10:00"),), "row 1: Not a valid choice."),
        ((("", "", ""), ("", "", ""), ("5", "10:00", "10:00")), "row 3: The end must differ"),
    ],
    ids=["equal", "hour-25", "no-start", "no-day", "day-9", "after-empty-rows"],
)
def test_bad_weekly_times_show_a_message_and_keep_the_old_ones(
    app, client, signed_in, rows, message
):
    uid = signed_in("practitioner", windows=[(3, "08:00", "09:00")])

    r = client.post("/practitioner/availability", data=windows_form(*rows))

    assert r.status_code == 200
    assert message in text_of(r)
    assert windows_of(app, uid) == [(3, time(8), time(9))]


def test_time_off_is_added_in_my_zone_and_removed(app, client, signed_in):
    uid = signed_in("listener", timezone="America/New_York")

    r = client.post(
        "/listener/time-off",
        data={"off-start": "2030-07-01T09:00", "off-end": "2030-07-03T18:00"},
    )

    assert r.status_code == 302
    [item] = time_off_of(app, uid)
    assert item.start_at == datetime(2030, 7, 1, 13, 0, tzinfo=UTC)  # EDT is UTC-4
    assert item.end_at == datetime(2030, 7, 3, 22, 0, tzinfo=UTC)
    page = client.get("/listener/availability").get_data(as_text=True)
    assert "Mon 01 Jul 2030 09:00" in page

    r = client.post(f"/listener/time-off/{item.id}/delete")

    assert r.status_code == 302
    assert time_off_of(app, uid) == []
    assert "Time off removed." in client.get("/listener/availability").get_data(as_text=True)


def test_time_off_that_ends_before_it_starts_is_refused(app, client, signed_in):
    uid = signed_in("practitioner")
    r = client.post(
        "/practitioner/time-off",
        data={"off-start": "2030-07-03T09:00", "off-end": "2030-07-01T09:00"},
    )
    assert r.status_code == 200
    assert 'class="error"' in r.get_data(as_text=True)
    assert time_off_of(app, uid) == []


def test_someone_elses_time_off_cannot_be_removed(app, client, signed_in, make_user):
    other = make_user("listener")
    with app.app_context():
        db.session.add(
            TimeOff(
                user_id=other,
                start_at=datetime(2030, 1, 1, tzinfo=UTC),
                end_at=datetime(2030, 1, 2, tzinfo=UTC),
            )
        )
        db.session.commit()
    [theirs] = time_off_of(app, other)
    signed_in("listener")

    r = client.post(f"/listener/time-off/{theirs.id}/delete")

    assert r.status_code == 404
    assert len(time_off_of(app, other)) == 1


# Asking for a listener ----------------------------------------------------------------


def test_a_routine_request_is_saved_and_shown_without_crisis_text(app, client, signed_in):
    uid = signed_in("practitioner", modalities=["phone"], windows=ALL_WEEK)
    form = client.get("/practitioner/request").get_data(as_text=True)
    assert 'checked id="modalities-1"' in form or 'id="modalities-1" checked' in form

    r = client.post(
        "/practitioner/request",
        data={
            "urgency": "routine",
            "modalities": "phone",
            "topics": "moral injury",
            "note": "hi",
            "phone": "+44 20 7946 0000",  # a phone-only request needs a number
        },
        follow_redirects=True,
    )

    assert r.status_code == 200
    assert r.request.path == "/practitioner/"
    page = text_of(r)
    assert "We will look for a listener" in page
    assert "looking for a listener" in page
    # Crisis lines sit quietly in every page's footer; a routine request adds no banner.
    assert 'class="flash crisis"' not in r.get_data(as_text=True)
    [req] = requests_of(app, uid)
    assert (req.status, req.urgency, req.topics, req.note) == (
        "open",
        "routine",
        ["moral injury"],
        "hi",
    )


def test_an_urgent_request_shows_crisis_resources(app, client, signed_in):
    uid = signed_in("practitioner", windows=ALL_WEEK)

    r = client.post(
        "/practitioner/request",
        data={"urgency": "urgent", "modalities": "video"},
        follow_redirects=True,
    )

    page = text_of(r)
    assert CRISIS_SNIPPET in page
    assert "116 123" in page
    assert 'class="flash crisis"' in r.get_data(as_text=True)
    assert [r.urgency for r in requests_of(app, uid)] == ["urgent"]


def test_a_second_request_gets_a_message_not_an_error_page(app, client, signed_in):
    uid = signed_in("practitioner", windows=ALL_WEEK)
    client.post("/practitioner/request", data={"urgency": "routine", "modalities": "video"})

    r = client.post("/practitioner/request", data={"urgency": "soon", "modalities": "video"})

    assert r.status_code == 200
    assert "You already have a request in progress" in text_of(r)
    assert [q.urgency for q in requests_of(app, uid)] == ["routine"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"urgency": "whenever", "modalities": "video"}, "Not a valid choice."),
        ({"urgency": "soon", "modalities": "fax"}, "is not a valid choice"),
        ({"urgency": "soon"}, "Choose at least one."),
        ({"urgency": "soon", "modalities": "video", "note": "n" * 2001}, "2000 characters"),
    ],
    ids=["urgency", "modality", "no-modality", "long-note"],
)
def test_a_bad_request_shows_a_message_and_saves_nothing(app, client, signed_in, data, message):
    uid = signed_in("practitioner", windows=ALL_WEEK)
    r = client.post("/practitioner/request", data=data)
    assert r.status_code == 200
    assert message in text_of(r)
    assert requests_of(app, uid) == []


def test_withdrawing_lets_me_ask_again(app, client, signed_in):
    uid = signed_in("practitioner", windows=ALL_WEEK)
    client.post("/practitioner/request", data={"urgency": "routine", "modalities": "video"})
    [req] = requests_of(app, uid)

    r = client.post(f"/practitioner/request/{req.id}/withdraw", follow_redirects=True)

    assert "Your request is withdrawn." in text_of(r)
    assert "Ask for a listener" in text_of(r)
    assert [q.status for q in requests_of(app, uid)] == ["withdrawn"]
    r = client.post("/practitioner/request", data={"urgency": "soon", "modalities": "video"})
    assert r.status_code == 302
    assert [q.status for q in requests_of(app, uid)] == ["withdrawn", "open"]


def test_someone_elses_request_cannot_be_withdrawn(app, client, signed_in, make_user):
    other = make_user("practitioner")
    with app.app_context():
        db.session.add(SupportRequest(practitioner_id=other, status="open", urgency="routine"))
        db.session.commit()
    [theirs] = requests_of(app, other)
    signed_in("practitioner")

    r = client.post(f"/practitioner/request/{theirs.id}/withdraw")

    assert r.status_code == 404
    assert [q.status for q in requests_of(app, other)] == ["open"]


# A listener's pause -------------------------------------------------------------------


def test_a_listener_pauses_and_resumes(app, client, signed_in):
    uid = signed_in("listener", timezone="Asia/Tokyo")
    until = datetime.now(UTC).date() + timedelta(days=10)

    r = client.post("/listener/pause", data={"until": until.isoformat()}, follow_redirects=True)

    assert "You are paused" in text_of(r)
    assert "Resume now" in text_of(r)
    paused_until = load(app, uid).listener_profile.paused_until
    # Inclusive of the chosen day: midnight after it, in the listener's zone (UTC+9).
    assert paused_until == datetime.combine(until + timedelta(days=1), time(0), tzinfo=UTC) - (
        timedelta(hours=9)
    )

    r = client.post("/listener/resume", follow_redirects=True)

    assert "Welcome back" in text_of(r)
    assert "Resume now" not in text_of(r)
    assert load(app, uid).listener_profile.paused_until is None


@pytest.mark.parametrize(
    ("until", "message"),
    [("2000-01-01", "Choose a time in the future."), ("", "Choose a date to pause until.")],
)
def test_a_pause_in_the_past_or_without_a_date_is_refused(app, client, signed_in, until, message):
    uid = signed_in("listener")
    r = client.post("/listener/pause", data={"until": until}, follow_redirects=True)
    assert message in text_of(r)
    assert load(app, uid).listener_profile.paused_until is None


# Output escaping ----------------------------------------------------------------------


SCRIPT = "<script>alert(1)</script>"


def test_a_display_name_with_markup_is_shown_as_text(app, client, signed_in):
    r = client.post(
        "/register",
        data={
            "role": "listener",
            "display_name": SCRIPT,
            "email": "x@example.org",
            "timezone": "UTC",
            "password": "long enough password",
            "consent_version": "y",
        },
        follow_redirects=True,
    )
    assert r.status_code == 200
    path, _ = latest_link(app, "x@example.org", "verification")
    assert client.post(path, follow_redirects=True).status_code == 200
    for path in ("/listener/", "/listener/profile"):
        page = client.get(path).get_data(as_text=True)
        assert SCRIPT not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in client.get("/listener/").get_data(
        as_text=True
    )

    client.post("/logout")
    signed_in("coordinator")
    page = client.get("/coordinator/listeners").get_data(as_text=True)
    assert SCRIPT not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_markup_in_profile_fields_is_escaped(app, client, signed_in):
    signed_in("practitioner")
    client.post(
        "/practitioner/profile",
        data={
            "organization": '"><img src=x onerror=alert(1)>',
            "field": "other",
            "languages": "en",
            "modalities": "video",
        },
    )
    page = client.get("/practitioner/profile").get_data(as_text=True)
    assert "<img src=x" not in page
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in page
