"""API: programme events (workshops and seminars), registrations, rosters, feedback."""

from __future__ import annotations

from matching.blueprints.feed import invite_response
from matching.extensions import db
from matching.schemas import answers, bodies
from matching.security import api_user
from matching.services import events

from .blueprint import ApiBlueprint, listing

coordinators = ApiBlueprint("event_admin", roles=("coordinator",))
anyone = ApiBlueprint("events")
registrants = ApiBlueprint("registrants", roles=("practitioner", "listener"))
blueprints = (coordinators, anyone, registrants)


def _event(event, viewer):
    return events.event_dict(event, viewer, events.latest_registration(viewer, event))


@coordinators.post("/events")
@coordinators.body(bodies.NewEvent)
@coordinators.response(201, answers.Event)
@coordinators.errors(409)
def create(values):
    """Publish a workshop or seminar."""
    viewer = api_user()
    event = events.create_event(viewer, values)
    db.session.commit()
    return events.event_dict(event, viewer)


@anyone.get("/events")
@anyone.query(bodies.Listing)
@anyone.response(200, answers.EventPage)
def index(query):
    """Upcoming events open to me (a coordinator's: all), by id."""
    viewer = api_user()
    rows, next_cursor = events.list_events(viewer, after=query.get("cursor"))
    mine = events.registrations_of(viewer, rows)
    places = events.positions(list(mine.values()))
    items = []
    for event in rows:
        registration = mine.get(event.id)
        place = places.get(registration.id) if registration else None
        items.append(events.event_dict(event, viewer, registration, place))
    return listing(items, next_cursor)


@anyone.get("/events/<int:event_id>")
@anyone.response(200, answers.Event)
def show(event_id: int):
    """One event, with my registration."""
    viewer = api_user()
    return _event(events.get_event(viewer, event_id), viewer)


@coordinators.patch("/events/<int:event_id>")
@coordinators.body(bodies.EventChange)
@coordinators.response(200, answers.Event)
@coordinators.errors(409)
def update(values, event_id: int):
    """Change an event; a new time or place updates every confirmed registrant's invite."""
    viewer = api_user()
    event = events.update_event(viewer, event_id, values)
    db.session.commit()
    return events.event_dict(event, viewer)


@coordinators.post("/events/<int:event_id>/cancel")
@coordinators.body(bodies.Cancellation, required=False)
@coordinators.response(200, answers.Event)
@coordinators.errors(409)
def cancel(values, event_id: int):
    """Cancel an event; every calendar entry of it is cancelled."""
    viewer = api_user()
    event = events.cancel_event(viewer, event_id, values["reason"])
    db.session.commit()
    return events.event_dict(event, viewer)


@registrants.post("/events/<int:event_id>/registrations")
@registrants.body(bodies.Nothing, required=False)
@registrants.response(201, answers.Registration)
@registrants.errors(409)
def register(_, event_id: int):
    """Register: a seat if one is free, otherwise a place on the waiting list."""
    registration = events.register(api_user(), event_id)
    db.session.commit()
    return events.registration_dict(registration)


@anyone.get("/events/<int:event_id>/registrations")
@anyone.response(200, answers.RosterEntryPage)
def roster(event_id: int):
    """Who registered, seats first (coordinators and the facilitator only), on one page."""
    _, rows = events.roster(api_user(), event_id)
    return listing(rows, None)


@anyone.get("/registrations/<int:registration_id>")
@anyone.response(200, answers.Registration)
def registration(registration_id: int):
    """One registration (mine, or any for a coordinator)."""
    return events.registration_dict(events.get_registration(api_user(), registration_id))


def _act(action, registration_id: int):
    registration = action(api_user(), registration_id)
    db.session.commit()
    return events.registration_dict(registration)


@registrants.post("/registrations/<int:registration_id>/withdraw")
@registrants.body(bodies.Nothing, required=False)
@registrants.response(200, answers.Registration)
@registrants.errors(409)
def withdraw(_, registration_id: int):
    """Leave the event (seat, offer or waiting list); the seat goes to the next person."""
    return _act(events.withdraw, registration_id)


@registrants.post("/registrations/<int:registration_id>/accept")
@registrants.body(bodies.Nothing, required=False)
@registrants.response(200, answers.Registration)
@registrants.errors(409)
def accept(_, registration_id: int):
    """Take the seat on offer to me."""
    return _act(events.accept, registration_id)


@registrants.post("/registrations/<int:registration_id>/decline")
@registrants.body(bodies.Nothing, required=False)
@registrants.response(200, answers.Registration)
@registrants.errors(409)
def decline(_, registration_id: int):
    """Let the seat on offer go to the next person at once."""
    return _act(events.decline, registration_id)


@coordinators.post("/registrations/<int:registration_id>/approve")
@coordinators.body(bodies.Nothing, required=False)
@coordinators.response(200, answers.Registration)
@coordinators.errors(409)
def approve(_, registration_id: int):
    """Confirm a registration waiting for approval."""
    return _act(events.approve, registration_id)


@coordinators.post("/registrations/<int:registration_id>/reject")
@coordinators.body(bodies.Nothing, required=False)
@coordinators.response(200, answers.Registration)
@coordinators.errors(409)
def reject(_, registration_id: int):
    """Turn down a registration waiting for approval; its seat goes to the next person."""
    return _act(events.reject, registration_id)


@registrants.get("/registrations/<int:registration_id>/invite.ics")
@registrants.response(
    200,
    {"description": "an iCalendar file (RFC 5545)"},
    content_type="text/calendar",
    description="My entry: REQUEST, or CANCEL once it ended; I am its only ATTENDEE",
)
@registrants.errors(409)
def invite(registration_id: int):
    """The calendar invite of my seat."""
    data, method = events.invite_for(api_user(), registration_id)
    return invite_response(data, method)


@registrants.post("/events/<int:event_id>/feedback")
@registrants.body(bodies.NewFeedback)
@registrants.response(201, answers.EventRating)
@registrants.errors(403, 409)
def give_feedback(values, event_id: int):
    """Rate a session I had a seat at, after its end, once."""
    row = events.add_feedback(api_user(), event_id, values["rating"], values["comment"])
    db.session.commit()
    return {
        "id": row.id,
        "event_id": row.event_id,
        "rating": row.rating,
        "comment": row.comment,
        "created_at": row.created_at.isoformat(),
    }


@anyone.get("/events/<int:event_id>/feedback")
@anyone.response(200, answers.EventFeedback)
def feedback(event_id: int):
    """What people said, without names (coordinators and the facilitator only)."""
    return events.feedback_summary(api_user(), event_id)
