"""API: accounts, tokens, profile, availability, time off, export, erasure, calendar feed."""

from __future__ import annotations

from flask import current_app, g

from matching.errors import TooManyAttempts, Unauthenticated
from matching.extensions import db
from matching.schemas import answers, bodies
from matching.security import api_user, client_ip
from matching.services import accounts, availability, notices, profiles

from .blueprint import ApiBlueprint, no_content

public = ApiBlueprint("public", public=True)
anyone = ApiBlueprint("account")
people = ApiBlueprint("people", roles=("practitioner", "listener"))
blueprints = (public, anyone, people)


@public.post("/users")
@public.body(bodies.NewAccount)
@public.response(201, answers.User)
@public.errors(409)
def register(values):
    """Register a practitioner or listener."""
    user = accounts.register(**values)
    db.session.commit()
    return accounts.public_user(user)


@public.post("/tokens")
@public.body(bodies.Credentials)
@public.response(201, answers.Token)
@public.errors(401, 429)
def create_token(values):
    """Sign in: a bearer token for the other calls."""
    outcome = accounts.sign_in(values["email"], values["password"], address=client_ip())
    db.session.commit()  # the audit row of a failure or a refusal is kept too
    if outcome.limited:
        raise TooManyAttempts("Too many attempts. Please wait a little and try again.")
    user = outcome.user
    if user is None:
        raise Unauthenticated("Wrong e-mail or password.", code="invalid_credentials")
    token = accounts.issue_token(user, current_app.config["API_TOKEN_DAYS"])
    db.session.commit()
    return {"token": token}


@anyone.delete("/tokens/current")
@anyone.response(204)
def revoke_current_token():
    """Revoke the token of this request."""
    accounts.revoke_token(g.api_token)
    db.session.commit()
    return no_content()


@anyone.get("/me")
@anyone.response(200, answers.Me)
def me():
    """Who I am, with my profile."""
    user = api_user()
    return accounts.public_user(user) | {"profile": profiles.profile_dict(user)}


@anyone.get("/me/export")
@anyone.response(200, answers.Export)
def export():
    """Everything stored about me."""
    return accounts.export_user(api_user())


@anyone.post("/me/calendar-feed")
@anyone.response(201, answers.FeedUrl)
def rotate_feed():
    """A new private calendar-feed address; the old one stops working."""
    raw = accounts.rotate_feed_token(api_user())
    db.session.commit()
    return {"url": notices.feed_url(raw)}


@anyone.delete("/me/calendar-feed")
@anyone.response(204)
def revoke_feed():
    """Stop my calendar-feed address working."""
    accounts.revoke_feed_token(api_user())
    db.session.commit()
    return no_content()


@people.put("/me/profile")
@people.body_by_role(bodies.PROFILES)
@people.response(200, answers.Profile)
def update_profile(values):
    """Change my profile (the fields of my role); fields left out keep their value."""
    profile = profiles.update_profile(api_user(), values)
    db.session.commit()
    return profile


@people.delete("/me")
@people.body(bodies.PasswordCheck)
@people.response(204)
def erase_me(values):
    """Close my account and erase my data; future conversations are cancelled."""
    accounts.erase_user(api_user(), values["password"])
    db.session.commit()
    return no_content()


@people.put("/me/availability")
@people.body(bodies.Windows)
@people.response(200, answers.Availability)
def set_availability(values):
    """Replace my weekly times (in my zone); overlapping windows are merged."""
    result = availability.set_windows(api_user(), values["windows"])
    db.session.commit()
    return result


@people.get("/me/availability")
@people.response(200, answers.Availability)
def get_availability():
    """My weekly times, in my zone."""
    return availability.availability_dict(api_user())


@people.post("/me/time-off")
@people.body(bodies.NewTimeOff)
@people.response(201, answers.TimeOff)
def add_time_off(values):
    """Add time off."""
    row = availability.add_time_off(api_user(), values["start"], values["end"])
    db.session.commit()
    return availability.time_off_dict(row)


@people.delete("/me/time-off/<int:time_off_id>")
@people.response(204)
def delete_time_off(time_off_id: int):
    """Delete my time off."""
    availability.delete_time_off(api_user(), time_off_id)
    db.session.commit()
    return no_content()
