"""Practitioner and listener profiles, and a listener's pause."""

from __future__ import annotations

from datetime import datetime

from matching.errors import Invalid, NotAllowed
from matching.extensions import db
from matching.models import User, now_utc
from matching.services import rounds, validate
from matching.vocabulary import FIELDS, MODALITIES

COMMON = {"languages", "modalities", "organization", "topics"}
PRACTITIONER_FIELDS = COMMON | {
    "field",
    "listener_gender",
    "listener_gender_required",
    "do_not_match",
}
LISTENER_FIELDS = COMMON | {
    "fields",
    "gender",
    "max_sessions_per_week",
    "max_sessions_per_day",
    "do_not_match",
}


def _common(body: dict) -> dict:
    checks = {
        "languages": lambda v: validate.languages(v),
        "modalities": lambda v: validate.choices(v, "modalities", MODALITIES, min_items=1),
        "organization": lambda v: validate.text(v, "organization", max_len=120),
        "topics": lambda v: validate.topics(v),
    }
    return checks


def _clean(body: dict, checks: dict) -> dict:
    values, errors = {}, {}
    for name, value in body.items():
        try:
            values[name] = checks[name](value)
        except Invalid as err:
            errors.update(err.fields)
    if errors:
        raise Invalid("Some values are not valid.", fields=errors)
    return values


def _gender(value, field: str):
    if value is None:
        return None
    value = validate.text(value, field, max_len=40)
    return value or None


def update_profile(user: User, body: dict) -> dict:
    """Apply the fields given (only the role's own fields are accepted)."""
    body = validate.body_object(body)
    if user.role == "practitioner":
        validate.only_fields(body, PRACTITIONER_FIELDS)
        checks = _common(body) | {
            "field": lambda v: _one_of(v, "field", FIELDS),
            "listener_gender": lambda v: _gender(v, "listener_gender"),
            "listener_gender_required": lambda v: validate.boolean(v, "listener_gender_required"),
            "do_not_match": lambda v: validate.user_ids(v, "do_not_match"),
        }
        profile = user.practitioner_profile
    elif user.role == "listener":
        validate.only_fields(body, LISTENER_FIELDS)
        checks = _common(body) | {
            "fields": lambda v: validate.choices(v, "fields", FIELDS),
            "gender": lambda v: _gender(v, "gender"),
            "max_sessions_per_week": lambda v: validate.integer(
                v, "max_sessions_per_week", low=1, high=10
            ),
            "max_sessions_per_day": lambda v: validate.integer(
                v, "max_sessions_per_day", low=1, high=4
            ),
            "do_not_match": lambda v: validate.user_ids(v, "do_not_match"),
        }
        profile = user.listener_profile
    else:
        raise NotAllowed("Coordinators have no profile to edit.")
    values = _clean(body, checks)
    for name, value in values.items():
        setattr(profile, name, value)
    if not profile.languages:
        raise Invalid("Add at least one language.", fields={"languages": "Choose at least one."})
    if not profile.modalities:
        raise Invalid(
            "Add at least one way to meet.", fields={"modalities": "Choose at least one."}
        )
    db.session.flush()
    return profile_dict(user)


def _one_of(value, field: str, allowed) -> str:
    if value not in allowed:
        raise validate.invalid(field, "Choose from: " + ", ".join(allowed) + ".")
    return value


def profile_dict(user: User) -> dict | None:
    profile = user.profile
    if profile is None:
        return None
    common = {
        "languages": list(profile.languages),
        "modalities": list(profile.modalities),
        "organization": profile.organization,
        "topics": list(profile.topics),
    }
    if user.role == "practitioner":
        return common | {
            "field": profile.field,
            "listener_gender": profile.listener_gender,
            "listener_gender_required": profile.listener_gender_required,
            "do_not_match": list(profile.do_not_match),
        }
    return common | {
        "fields": list(profile.fields),
        "gender": profile.gender,
        "max_sessions_per_week": profile.max_sessions_per_week,
        "max_sessions_per_day": profile.max_sessions_per_day,
        "do_not_match": list(profile.do_not_match),
        "verified": profile.verified,
        "training_valid_until": (
            profile.training_valid_until.isoformat() if profile.training_valid_until else None
        ),
        "paused_until": profile.paused_until.isoformat() if profile.paused_until else None,
    }


def pause_listener(user: User, until: datetime | None) -> None:
    """Pause a listener until an instant (None resumes); no new proposals meanwhile."""
    if user.role != "listener":
        raise NotAllowed("Only listeners can pause.")
    if until is not None and until <= now_utc():
        raise Invalid(
            "Choose a time in the future.", fields={"paused_until": "must be in the future"}
        )
    user.listener_profile.paused_until = until
    if until is not None:
        rounds.stale_pending_for_user(user)
    db.session.flush()


def is_paused(user: User) -> bool:
    lp = user.listener_profile
    return bool(lp and lp.paused_until and lp.paused_until > now_utc())
