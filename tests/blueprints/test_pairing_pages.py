"""The coordinator's "Pair by hand" page: choose a listener, a time, set a rule aside."""

from __future__ import annotations

import re
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest

from matching.extensions import db
from matching.models import (
    AuditEvent,
    ListenerProfile,
    Meeting,
    SupportRequest,
    TimeOff,
    now_utc,
)
from tests.support.meetings import ALL_WEEK

TOKYO = ZoneInfo("Asia/Tokyo")


@pytest.fixture
def setup(app, make_user, login):
    ids = {
        "coordinator": make_user("coordinator", email="cora@example.org", timezone="Asia/Tokyo"),
        "lena": make_user("listener", name="Lena Listener", windows=ALL_WEEK),
        "pola": make_user("listener", name="Pola Polska", languages=["pl"], windows=ALL_WEEK),
        "walt": make_user("listener", name="Walt Waiting", verified=False, windows=ALL_WEEK),
        "pia": make_user("practitioner", name="Pia Practitioner", windows=ALL_WEEK),
    }
    with app.app_context():
        req = SupportRequest(practitioner_id=ids["pia"], modalities=["video"])
        db.session.add(req)
        db.session.commit()
        ids["request"] = req.id
    assert login("cora@example.org").status_code == 302
    return ids


def url(ids, **args) -> str:
    query = "&".join(f"{k}={v}" for k, v in args.items())
    return f"/coordinator/requests/{ids['request']}/pair" + (f"?{query}" if query else "")


def meetings_of(app, request_id: int) -> list[Meeting]:
    with app.app_context():
        rows = db.session.scalars(db.select(Meeting).where(Meeting.request_id == request_id)).all()
        db.session.expunge_all()
        return list(rows)


def typed(moment) -> dict:
    local = moment.astimezone(TOKYO)
    return {"date": local.strftime("%Y-%m-%d"), "time": local.strftime("%H:%M")}


def test_the_page_lists_who_fits_and_says_why_others_do_not(client, setup):
    page = client.get(url(setup)).text
    assert "1 listener fit this request" in page
    assert "Choose Lena Listener" in page
    # The others only in the details, each with its reasons.
    assert "Why 2 other listeners do not fit" in page
    assert "Pola Polska: no shared language" in page
    assert "Choose anyway: Pola Polska" in page  # only an overridable rule stands in the way
    assert "Walt Waiting: the listener is not verified or not active" in page
    assert "Choose anyway: Walt Waiting" not in page
    searched = client.get(url(setup, q="pol")).text
    assert "0 listeners fit" in searched
    assert "Pola Polska" in searched and "Lena Listener" not in searched


def test_the_request_queue_and_round_link_to_the_page(client, setup):
    link = f'href="/coordinator/requests/{setup["request"]}/pair"'
    assert link in client.get(f"/coordinator/requests/{setup['request']}").text
    assert link in client.get("/coordinator/queue").text


def test_a_free_time_books_at_once(app, client, setup):
    page = client.get(url(setup, listener=setup["lena"])).text
    assert "2. Choose a time with Lena Listener" in page
    starts = re.findall(r'name="start" value="([^"]+)"', page)
    assert len(starts) == 8
    r = client.post(url(setup), data={"listener_id": setup["lena"], "start": starts[0]})
    assert r.status_code == 302
    [meeting] = meetings_of(app, setup["request"])
    assert r.headers["Location"].endswith(
        f"/coordinator/requests/{setup['request']}#meeting-{meeting.id}"
    )
    assert meeting.listener_id == setup["lena"]
    assert meeting.start_at.isoformat() == starts[0]
    with app.app_context():
        assert db.session.get(SupportRequest, setup["request"]).status == "scheduled"
    page = client.get(url(setup)).text
    assert "cannot be paired now" in page


def test_a_typed_time_names_the_rule_it_breaks_and_an_override_needs_a_note(app, client, setup):
    when = (now_utc() + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    page = client.get(url(setup, listener=setup["pola"], **typed(when))).text
    assert "This time breaks a rule" in page
    assert "No shared language" in page
    boxes = re.findall(r'name="override" value="([a-z_]+)"', page)
    assert boxes == ["language"]
    form = {"listener_id": setup["pola"], "start": when.isoformat(), "override": "language"}
    refused = client.post(url(setup), data=form | {"note": "  "})
    assert refused.status_code == 200
    assert "Write a note saying why the rule is set aside." in refused.text
    assert 'name="override" value="language" checked' in refused.text
    assert meetings_of(app, setup["request"]) == []
    unticked = client.post(url(setup), data={**form, "override": [], "note": "Because."})
    assert "This time breaks a rule: no shared language." in unticked.text
    assert meetings_of(app, setup["request"]) == []
    note = "Pola speaks English well enough; both agreed."
    r = client.post(url(setup), data=form | {"note": note})
    assert r.status_code == 302
    [meeting] = meetings_of(app, setup["request"])
    assert meeting.listener_id == setup["pola"]
    with app.app_context():
        event = db.session.scalar(
            db.select(AuditEvent).where(AuditEvent.action == "request.paired")
        )
        assert event.data["overridden"] == ["language"]
        assert event.data["note"] == note


def test_a_rule_never_set_aside_offers_no_box(app, client, setup):
    when = (now_utc() + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    with app.app_context():
        db.session.add(
            TimeOff(
                user_id=setup["lena"],
                start_at=when - timedelta(hours=1),
                end_at=when + timedelta(hours=3),
            )
        )
        db.session.commit()
    page = client.get(url(setup, listener=setup["lena"], **typed(when))).text
    assert "The listener has time off then — this rule is never set aside." in page
    assert 'name="override"' not in page
    # Sent anyway, the service refuses it.
    form = {
        "listener_id": setup["lena"],
        "start": when.isoformat(),
        "override": "listener_time_off",
        "note": "Please.",
    }
    r = client.post(url(setup), data=form)
    assert r.status_code == 200
    assert "This time breaks a rule: the listener has time off then." in r.text
    assert 'name="override"' not in r.text
    assert meetings_of(app, setup["request"]) == []


def test_a_time_in_a_clock_change_gap_is_a_form_error(app, client, setup, make_user, login):
    make_user("coordinator", email="bea@example.org", timezone="Europe/Berlin")
    assert login("bea@example.org").status_code == 302
    # The last Sunday of March next year: in Berlin the clocks jump from 02:00 to 03:00.
    day = date(now_utc().year + 1, 3, 31)
    day -= timedelta(days=(day.weekday() + 1) % 7)
    page = client.get(url(setup, listener=setup["lena"], date=day.isoformat(), time="02:30"))
    assert page.status_code == 200
    assert "02:30 does not exist" in page.text
    assert "clocks jump from 02:00 to 03:00" in page.text
    assert "This time breaks" not in page.text


@pytest.mark.parametrize(
    "form",
    [
        {"listener_id": "abc", "start": "2030-01-01T10:00:00+00:00"},
        {"listener_id": "1", "start": "soon"},
        {"listener_id": "1", "start": ""},
        {"start": "2030-01-01T10:00:00+00:00"},
        {"listener_id": "1", "start": "2030-01-01T10:00:00+00:00", "override": "nonsense"},
    ],
)
def test_bad_forms_answer_with_form_errors_not_500(app, client, setup, form):
    r = client.post(url(setup), data=form)
    assert r.status_code in (200, 404)
    assert 'role="alert"' in r.text or r.status_code == 404
    assert meetings_of(app, setup["request"]) == []


def test_bad_query_values_do_not_break_the_page(client, setup):
    for args in ({"listener": "x"}, {"listener": setup["lena"], "date": "no", "time": "25:00"}):
        assert client.get(url(setup, **args)).status_code == 200
    assert client.get(url(setup, listener=999_999)).status_code == 404
    assert client.get("/coordinator/requests/999999/pair").status_code == 404


def test_only_coordinators_see_the_page(client, setup, make_user, login):
    make_user("listener", email="lou@example.org")
    assert login("lou@example.org").status_code == 302
    assert client.get(url(setup)).status_code in (403, 404)
    assert client.post(url(setup), data={}).status_code in (403, 404)


def test_the_page_costs_the_same_queries_for_few_or_many_listeners(
    app, client, setup, make_user, count_queries
):
    def queries(path: str) -> int:
        client.get(path)
        with count_queries() as counted:
            r = client.get(path)
        assert r.status_code == 200
        return counted["n"]

    def paths():
        return [url(setup), url(setup, listener=setup["lena"]), url(setup, q="a")]

    few = [queries(p) for p in paths()]
    for i in range(25):
        languages = ["en"] if i % 2 else ["pl"]
        make_user("listener", name=f"Extra {i}", languages=languages, windows=ALL_WEEK)
    with app.app_context():
        db.session.get(ListenerProfile, setup["lena"]).max_sessions_per_week = 5
        db.session.commit()
    many = [queries(p) for p in paths()]
    assert client.get(url(setup)).text.count('aria-label="Choose ') >= 20
    assert few == many
