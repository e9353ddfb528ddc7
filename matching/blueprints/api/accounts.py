"""API: accounts, tokens, consent, profile, availability, time off, export, erasure, feed."""

from __future__ import annotations

from flask import current_app, g

from matching.errors import NotAllowed, TooManyAttempts, Unauthenticated
from matching.extensions import db
from matching.schemas import answers, bodies
from matching.security import api_user, client_ip
from matching.services import accounts, availability, consent, notices, profiles

from .blueprint import ApiBlueprint, no_content

public = ApiBlueprint("public", public=True)
anyone = ApiBlueprint("account")
people = ApiBlueprint("people", roles=("practitioner", "listener"))
# What a person may do before agreeing to the consent text: read it, agree, see and take
# their data, leave.
before_consent = ApiBlueprint("before_consent", consent_needed=False)
people_before_consent = ApiBlueprint(
    "people_before_consent", roles=("practitioner", "listener"), consent_needed=False
)
blueprints = (public, anyone, people, before_consent, people_before_consent)
CHECK_EMAIL = {"status": "check_email"}


@public.post("/users")
@public.body(bodies.NewAccount)
@public.response(202, answers.CheckEmail)
def register(values):
    """Sign up as a practitioner or listener; the next step comes by e-mail.

    The answer is the same for a new address and for one that already has an account
    (its owner gets a mail saying so). Nothing but the verification mail is sent to an
    address until it is confirmed with POST /api/v1/users/verify.
    """
    accounts.sign_up(**values)
    db.session.commit()
    return CHECK_EMAIL


@public.post("/users/verify")
@public.body(bodies.LinkToken)
@public.response(200, answers.User)
@public.errors(410)
def verify(values):
    """Confirm my e-mail address with the token from the verification mail.

    400 `invalid_token` for a token that is unknown or used; 410 `token_expired`.
    """
    user = accounts.verify_email(values["token"])
    db.session.commit()
    return accounts.public_user(user)


@public.get("/consent")
@public.response(200, answers.ConsentText)
def consent_text():
    """What practitioners and listeners agree to, and its version."""
    return consent.consent_dict()


@public.post("/password-resets")
@public.body(bodies.ResetRequest)
@public.response(202, answers.CheckEmail)
def request_reset(values):
    """Ask for a password-reset link by e-mail (the same answer whether or not there is an account)."""
    accounts.request_password_reset(values["email"])
    db.session.commit()
    return CHECK_EMAIL


@public.post("/password-resets/confirm")
@public.body(bodies.ResetConfirmation)
@public.response(204)
@public.errors(410)
def confirm_reset(values):
    """Set a new password with the token from the reset mail.

    Every session, API token and calendar-feed address of the account stops working.
    400 `invalid_token` for a token that is unknown or used; 410 `token_expired`.
    """
    accounts.reset_password(values["token"], values["password"])
    db.session.commit()
    return no_content()


@public.post("/tokens")
@public.body(bodies.Credentials)
@public.response(201, answers.Token)
@public.errors(401, 403, 429)
def create_token(values):
    """Sign in: a bearer token for the other calls.

    403 `email_unverified` (only after a right password) until the address is confirmed;
    a new verification mail is then on its way.
    """
    outcome = accounts.sign_in(values["email"], values["password"], address=client_ip())
    db.session.commit()  # the audit row of a failure or a refusal is kept too
    if outcome.limited:
        raise TooManyAttempts("Too many attempts. Please wait a little and try again.")
    if outcome.unverified:
        raise NotAllowed(
            "Please confirm your e-mail address first: we have sent you a link.",
            code="email_unverified",
        )
    user = outcome.user
    if user is None:
        raise Unauthenticated("Wrong e-mail or password.", code="invalid_credentials")
    token = accounts.issue_token(user, current_app.config["API_TOKEN_DAYS"])
    db.session.commit()
    return {"token": token}


@before_consent.delete("/tokens/current")
@before_consent.response(204)
def revoke_current_token():
    """Revoke the token of this request."""
    accounts.revoke_token(g.api_token)
    db.session.commit()
    return no_content()


@before_consent.get("/me")
@before_consent.response(200, answers.Me)
def me():
    """Who I am, with my profile."""
    user = api_user()
    return accounts.public_user(user) | {"profile": profiles.profile_dict(user)}


@anyone.patch("/me")
@anyone.body(bodies.MeUpdate)
@anyone.response(200, answers.Me)
def update_me(values):
    """Change my name or time zone; my weekly times keep their hours in the new zone."""
    user = api_user()
    answer = accounts.update_me(user, values)
    db.session.commit()
    return answer | {"profile": profiles.profile_dict(user)}


@before_consent.get("/me/export")
@before_consent.response(200, answers.Export)
def export():
    """Everything stored about me."""
    return accounts.export_user(api_user())


@people_before_consent.post("/me/consent")
@people_before_consent.body(bodies.ConsentGiven)
@people_before_consent.response(201, answers.ConsentRecord)
def give_consent(values):
    """Agree to the current consent text (GET /api/v1/consent); needed before other calls."""
    row = consent.accept(api_user(), values["version"])
    db.session.commit()
    return consent.consent_answer(row)


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


@people_before_consent.delete("/me")
@people_before_consent.body(bodies.PasswordCheck)
@people_before_consent.response(204)
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
