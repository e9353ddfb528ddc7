"""Practitioner and listener profiles, and a listener's pause."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam

from matching.errors import Invalid, NotAllowed
from matching.extensions import db
from matching.models import AvailabilityWindow, User, now_utc
from matching.services import rounds

# What a person must tell us before a request of theirs can ever be matched, and the
# words a page uses for each missing piece.
MATCHING_NEEDS = {
    "languages": "the languages you speak",
    "modalities": "the ways you can meet",
    "availability": "your weekly times",
}


def update_profile(user: User, values: dict) -> dict:
    """Apply loaded profile values (the role's schema in matching/schemas/bodies.py).

    A profile keeps at least one language and one way to meet.
    """
    profile = user.profile
    if user.role not in ("practitioner", "listener") or profile is None:
        raise NotAllowed("Coordinators have no profile to edit.")
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
        "video_url": profile.video_url,
        "place": profile.place,
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


# Built once: every home runs it.
_HAS_TIMES = (
    db.select(AvailabilityWindow.id)
    .where(AvailabilityWindow.user_id == bindparam("user_id"))
    .limit(1)
)


def missing_for_matching(user: User) -> list[str]:
    """What this person still has to fill in to be matched (keys of MATCHING_NEEDS)."""
    profile = user.profile
    missing = []
    if profile is None or not profile.languages:
        missing.append("languages")
    if profile is None or not profile.modalities:
        missing.append("modalities")
    has_times = db.session.scalar(_HAS_TIMES, {"user_id": user.id})
    if has_times is None:
        missing.append("availability")
    return missing


def pause_last_day(paused_until: datetime | None, zone: str) -> date | None:
    """The last local day of a pause: it runs to the first instant of the day after."""
    if paused_until is None:
        return None
    return (paused_until.astimezone(ZoneInfo(zone)) - timedelta(microseconds=1)).date()
