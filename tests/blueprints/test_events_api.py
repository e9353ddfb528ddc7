"""The programme-events API: who may do what, the answers' shapes and codes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from matching.extensions import db
from matching.models import Event
from tests.support.events import ROOM, move_event_to_past, new_event
from tests.support.meetings import future_start


@pytest.fixture
def people(make_user):
    return {
        "coordinator": make_user("coordinator", email="cora@example.org"),
        "facilitator": make_user("listener", email="fay@example.org"),
        "listener": make_user("listener", email="lee@example.org"),
        "practitioners": [make_user("practitioner", email=f"p{i}@example.org") for i in range(3)],
    }


def _body(**changes) -> dict:
    start = future_start(days=7, hour=16)
    return {
        "kind": "seminar",
        "title": "Sleep after nights",
        "description": "",
        "start": start.isoformat(),
        "end": (start + timedelta(hours=1)).isoformat(),
        "modality": "video",
        "location": ROOM,
        "capacity": 1,
        "registration_closes": start.isoformat(),
        "requires_approval": False,
        "open_to": ["practitioner"],
    } | changes


def test_only_coordinators_publish_and_bad_values_are_422(api, people):
    coordinator = api(people["coordinator"])
    assert api(people["practitioners"][0]).post("/api/v1/events", json=_body()).status_code == 403
    r = coordinator.post("/api/v1/events", json=_body())
    assert r.status_code == 201, r.json
    assert r.json["seats_left"] == 1 and r.json["location"] == ROOM
    assert r.json["timezone"] == "UTC"  # the coordinator's own zone by default
    start = future_start(days=7, hour=16)
    for bad, field in (
        ({"end": start.isoformat()}, "end"),
        ({"registration_closes": (start + timedelta(minutes=1)).isoformat()}, "registration_closes"),
        ({"location": "http://meet.example.org/x"}, "location"),
        ({"capacity": 0}, "capacity"),
        ({"open_to": []}, "open_to"),
        ({"kind": "party"}, "kind"),
        ({"facilitator_id": people["practitioners"][0]}, "facilitator_id"),
        ({"start": "2020-01-01T10:00:00+00:00", "end": "2020-01-01T11:00:00+00:00",
          "registration_closes": "2020-01-01T09:00:00+00:00"}, "start"),
    ):  # fmt: skip
        r = coordinator.post("/api/v1/events", json=_body(**bad))
        assert r.status_code == 422, (bad, r.json)
        assert field in r.json["error"]["fields"], (bad, r.json)


def test_the_location_is_for_seats_the_facilitator_and_coordinators(app, api, people):
    eid = new_event(app, people["coordinator"], capacity=1, facilitator=people["facilitator"])
    first, second, _ = (api(p) for p in people["practitioners"])
    listed = first.get("/api/v1/events").json["items"]
    assert [e["id"] for e in listed] == [eid]
    assert "location" not in listed[0] and "my_registration" not in listed[0]
    seat = first.post(f"/api/v1/events/{eid}/registrations", json={}).json
    waiting = second.post(f"/api/v1/events/{eid}/registrations").json
    assert seat["status"] == "confirmed" and waiting == {
        "id": waiting["id"],
        "event_id": eid,
        "status": "waitlisted",
        "position": 1,
    }
    assert first.get(f"/api/v1/events/{eid}").json["location"] == ROOM
    assert first.get(f"/api/v1/events/{eid}").json["my_registration"]["status"] == "confirmed"
    assert "location" not in second.get(f"/api/v1/events/{eid}").json
    assert api(people["facilitator"]).get(f"/api/v1/events/{eid}").json["location"] == ROOM
    # Not open to listeners: nothing to see for one who does not facilitate it.
    assert api(people["listener"]).get(f"/api/v1/events/{eid}").status_code == 404
    assert api(people["listener"]).get("/api/v1/events").json["items"] == []


def test_registration_codes(app, api, people):
    eid = new_event(app, people["coordinator"], capacity=1)
    first, second, _ = (api(p) for p in people["practitioners"])
    url = f"/api/v1/events/{eid}/registrations"
    seat = first.post(url).json
    r = first.post(url)
    assert (r.status_code, r.json["error"]["code"]) == (409, "already_registered")
    assert api(people["coordinator"]).post(url).status_code == 403
    assert api(people["listener"]).post(url).status_code == 404
    assert first.post("/api/v1/events/999999/registrations").status_code == 404
    # Someone else's registration is not found; a coordinator may read it.
    assert second.get(f"/api/v1/registrations/{seat['id']}").status_code == 404
    assert api(people["coordinator"]).get(f"/api/v1/registrations/{seat['id']}").status_code == 200
    assert second.post(f"/api/v1/registrations/{seat['id']}/withdraw").status_code == 404
    r = first.post(f"/api/v1/registrations/{seat['id']}/accept")
    assert (r.status_code, r.json["error"]["code"]) == (409, "not_offered")
    with app.app_context():
        event = db.session.get(Event, eid)
        event.registration_closes = event.start_at - timedelta(days=30)
        db.session.commit()
    r = second.post(url)
    assert (r.status_code, r.json["error"]["code"]) == (409, "closed")


def test_withdraw_and_invite_download(app, api, people):
    eid = new_event(app, people["coordinator"], capacity=1)
    first, second, _ = (api(p) for p in people["practitioners"])
    seat = first.post(f"/api/v1/events/{eid}/registrations").json
    waiting = second.post(f"/api/v1/events/{eid}/registrations").json
    r = second.get(f"/api/v1/registrations/{waiting['id']}/invite.ics")
    assert (r.status_code, r.json["error"]["code"]) == (409, "no_entry")
    r = first.get(f"/api/v1/registrations/{seat['id']}/invite.ics")
    assert r.headers["Content-Type"].endswith("method=REQUEST")
    assert r.data.count(b"ATTENDEE") == 1
    assert first.post(f"/api/v1/registrations/{seat['id']}/withdraw").json["status"] == "withdrawn"
    r = first.get(f"/api/v1/registrations/{seat['id']}/invite.ics")
    assert r.headers["Content-Type"].endswith("method=CANCEL")
    r = first.post(f"/api/v1/registrations/{seat['id']}/withdraw")
    assert (r.status_code, r.json["error"]["code"]) == (409, "not_registered")
    offer = second.get(f"/api/v1/registrations/{waiting['id']}").json
    assert offer["status"] == "offered" and "offer_expires" in offer
    assert second.get(f"/api/v1/registrations/{waiting['id']}/invite.ics").status_code == 409


def test_changing_an_event(app, api, people):
    eid = new_event(app, people["coordinator"], capacity=2)
    coordinator = api(people["coordinator"])
    for p in people["practitioners"][:2]:
        api(p).post(f"/api/v1/events/{eid}/registrations")
    url = f"/api/v1/events/{eid}"
    r = coordinator.patch(url, json={"capacity": 1})
    assert (r.status_code, r.json["error"]["code"]) == (409, "capacity_too_low")
    r = coordinator.patch(url, json={"title": "A calmer title", "capacity": 3})
    assert r.status_code == 200 and r.json["title"] == "A calmer title"
    assert r.json["seats_left"] == 1
    assert coordinator.patch(url, json={"capacity": "lots"}).status_code == 422
    assert coordinator.patch(url, json={"colour": "blue"}).status_code == 422
    assert api(people["practitioners"][0]).patch(url, json={"title": "x"}).status_code == 403
    assert coordinator.patch("/api/v1/events/999999", json={"title": "x"}).status_code == 404
    r = coordinator.post(f"{url}/cancel", json={"reason": "Sorry."})
    assert r.status_code == 200 and r.json["status"] == "cancelled"
    r = coordinator.patch(url, json={"title": "again"})
    assert (r.status_code, r.json["error"]["code"]) == (409, "cancelled")
    assert coordinator.post(f"{url}/cancel").status_code == 409
    mine = api(people["practitioners"][0]).get(url).json["my_registration"]
    assert mine["status"] == "cancelled"


def test_the_roster_and_feedback_are_for_coordinators_and_the_facilitator(app, api, people):
    eid = new_event(app, people["coordinator"], capacity=5, facilitator=people["facilitator"])
    for p in people["practitioners"]:
        api(p).post(f"/api/v1/events/{eid}/registrations")
    url = f"/api/v1/events/{eid}"
    roster = api(people["facilitator"]).get(f"{url}/registrations").json
    assert len(roster["items"]) == 3 and "email" not in roster["items"][0]
    full = api(people["coordinator"]).get(f"{url}/registrations").json["items"]
    assert {item["email"] for item in full} == {
        "p0@example.org",
        "p1@example.org",
        "p2@example.org",
    }
    for who in (people["practitioners"][0], people["listener"]):
        assert api(who).get(f"{url}/registrations").status_code == 404
        assert api(who).get(f"{url}/feedback").status_code == 404
    first = api(people["practitioners"][0])
    r = first.post(f"{url}/feedback", json={"rating": 5})
    assert (r.status_code, r.json["error"]["code"]) == (409, "not_ended")
    move_event_to_past(app, eid)
    assert first.post(f"{url}/feedback", json={"rating": 9}).status_code == 422
    assert first.post(f"{url}/feedback", json={"rating": 5, "comment": "Kind."}).status_code == 201
    assert first.post(f"{url}/feedback", json={"rating": 4}).status_code == 409
    assert api(people["listener"]).post(f"{url}/feedback", json={"rating": 4}).status_code == 404
    answer = api(people["facilitator"]).get(f"{url}/feedback").json
    assert answer == {"count": 1, "withheld": True}


def test_the_list_costs_the_same_few_queries_however_many_events(app, api, people, count_queries):
    first = api(people["practitioners"][0])
    filler = api(people["practitioners"][1])
    added: list[int] = []

    def add(n: int) -> None:
        for _ in range(n):
            days = 3 + len(added)
            added.append(
                new_event(app, people["coordinator"], capacity=1, start=future_start(days))
            )
            eid = added[-1]
            filler.post(f"/api/v1/events/{eid}/registrations")
            first.post(f"/api/v1/events/{eid}/registrations")  # waits: a position to find

    def cost() -> int:
        with count_queries() as counted:
            r = first.get("/api/v1/events")
        assert r.status_code == 200
        assert {e["my_registration"]["position"] for e in r.json["items"]} == {1}
        return counted["n"]

    add(2)
    few = cost()
    add(8)
    assert cost() == few
