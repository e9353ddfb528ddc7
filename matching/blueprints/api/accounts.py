"""API: accounts, tokens, profile, availability, time off, export, erasure, calendar feed."""

from __future__ import annotations

from flask import Blueprint, current_app, g

from matching.errors import TooManyAttempts, Unauthenticated
from matching.extensions import db
from matching.security import api_user, client_ip, guard_api
from matching.services import accounts, availability, notices, profiles, validate

from . import json_body

public = Blueprint("public", __name__)
anyone = Blueprint("account", __name__)
people = Blueprint("people", __name__)
guard_api(anyone)
guard_api(people, "practitioner", "listener")
blueprints = (public, anyone, people)


@public.post("/users")
def register():
    body = validate.body_object(json_body())
    validate.only_fields(body, {"email", "password", "role", "display_name", "timezone"})
    user = accounts.register(
        email=body.get("email"),
        password=body.get("password"),
        role=body.get("role"),
        display_name=body.get("display_name"),
        timezone=body.get("timezone"),
    )
    db.session.commit()
    return accounts.public_user(user), 201


@public.post("/tokens")
def create_token():
    body = validate.body_object(json_body())
    outcome = accounts.sign_in(body.get("email"), body.get("password"), address=client_ip())
    db.session.commit()  # the audit row of a failure or a refusal is kept too
    if outcome.limited:
        raise TooManyAttempts("Too many attempts. Please wait a little and try again.")
    user = outcome.user
    if user is None:
        raise Unauthenticated("Wrong e-mail or password.", code="invalid_credentials")
    token = accounts.issue_token(user, current_app.config["API_TOKEN_DAYS"])
    db.session.commit()
    return {"token": token}, 201


@anyone.delete("/tokens/current")
def revoke_current_token():
    accounts.revoke_token(g.api_token)
    db.session.commit()
    return "", 204


@anyone.get("/me")
def me():
    user = api_user()
    return accounts.public_user(user) | {"profile": profiles.profile_dict(user)}


@anyone.get("/me/export")
def export():
    return accounts.export_user(api_user())


@anyone.post("/me/calendar-feed")
def rotate_feed():
    raw = accounts.rotate_feed_token(api_user())
    db.session.commit()
    return {"url": notices.feed_url(raw)}, 201


@anyone.delete("/me/calendar-feed")
def revoke_feed():
    accounts.revoke_feed_token(api_user())
    db.session.commit()
    return "", 204


@people.put("/me/profile")
def update_profile():
    profile = profiles.update_profile(api_user(), json_body())
    db.session.commit()
    return profile


@people.delete("/me")
def erase_me():
    body = validate.body_object(json_body())
    accounts.erase_user(api_user(), body.get("password"))
    db.session.commit()
    return "", 204


@people.put("/me/availability")
def set_availability():
    body = validate.body_object(json_body())
    validate.only_fields(body, {"windows"})
    result = availability.set_windows(api_user(), body.get("windows"))
    db.session.commit()
    return result


@people.get("/me/availability")
def get_availability():
    return availability.availability_dict(api_user())


@people.post("/me/time-off")
def add_time_off():
    body = validate.body_object(json_body())
    validate.only_fields(body, {"start", "end"})
    row = availability.add_time_off(api_user(), body.get("start"), body.get("end"))
    db.session.commit()
    return availability.time_off_dict(row), 201


@people.delete("/me/time-off/<int:time_off_id>")
def delete_time_off(time_off_id: int):
    availability.delete_time_off(api_user(), time_off_id)
    db.session.commit()
    return "", 204
