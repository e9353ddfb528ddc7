"""The value parsers: one small function per kind of value that comes from people.

The schemas' fields (matching/schemas/fields.py) call these for API bodies, pages and
commands alike. Every function takes the raw value and the field's name, returns the
clean value and raises Invalid with that field name and a sentence for a person.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from functools import cache
from zoneinfo import available_timezones

from email_validator import EmailNotValidError, validate_email

from matching.errors import Invalid

MIN_PASSWORD = 12
LANGUAGE = re.compile(r"^[a-z]{2}$")
HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def invalid(field: str, message: str) -> Invalid:
    return Invalid(message, fields={field: message})


def text(value, field: str, *, max_len: int, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise invalid(field, "Must be text.")
    value = value.strip()
    if required and not value:
        raise invalid(field, "Please fill this in.")
    if len(value) > max_len:
        raise invalid(field, f"Keep it under {max_len} characters.")
    return value


def boolean(value, field: str) -> bool:
    if not isinstance(value, bool):
        raise invalid(field, "Must be true or false.")
    return value


def integer(value, field: str, *, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(field, "Must be a whole number.")
    if not low <= value <= high:
        raise invalid(field, f"Must be between {low} and {high}.")
    return value


def email(value, field: str = "email") -> str:
    value = text(value, field, max_len=254, required=True)
    try:
        result = validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        raise invalid(field, "That does not look like an e-mail address.") from None
    return result.normalized.lower()


def password(value, field: str = "password") -> str:
    if not isinstance(value, str):
        raise invalid(field, "Must be text.")
    if len(value) < MIN_PASSWORD:
        raise invalid(field, f"Use at least {MIN_PASSWORD} characters.")
    if len(value) > 1024:
        raise invalid(field, "That password is too long.")
    return value


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones()) - {"localtime", "Factory"}


def timezone(value, field: str = "timezone") -> str:
    if not isinstance(value, str) or value not in _zones():
        raise invalid(field, "Choose a time zone such as Europe/Berlin or America/New_York.")
    return value


def zone_names() -> list[str]:
    return sorted(_zones())


def one_of(value, field: str, allowed) -> str:
    """One value from allowed."""
    if not isinstance(value, str) or value not in allowed:
        names = list(allowed)
        raise invalid(field, f"Choose {', '.join(names[:-1])} or {names[-1]}.")
    return value


def choices(value, field: str, allowed, *, min_items: int = 0, max_items: int = 20) -> list[str]:
    """A list of distinct values, each from allowed."""
    if not isinstance(value, list):
        raise invalid(field, "Must be a list.")
    if any(not isinstance(v, str) or v not in allowed for v in value):
        raise invalid(field, "Choose from: " + ", ".join(allowed) + ".")
    items = sorted(set(value), key=list(allowed).index)
    return _count(items, field, min_items, max_items)


def languages(value, field: str = "languages") -> list[str]:
    if not isinstance(value, list):
        raise invalid(field, "Must be a list.")
    cleaned = []
    for v in value:
        if not isinstance(v, str) or not LANGUAGE.match(v.strip().lower()):
            raise invalid(field, "Use two-letter language codes such as en, es, de.")
        if v.strip().lower() not in cleaned:
            cleaned.append(v.strip().lower())
    return _count(cleaned, field, 1, 10)


def topics(value, field: str = "topics") -> list[str]:
    if not isinstance(value, list):
        raise invalid(field, "Must be a list.")
    cleaned = []
    for v in value:
        if not isinstance(v, str) or not v.strip() or len(v.strip()) > 40:
            raise invalid(field, "Each topic is a short phrase of up to 40 characters.")
        topic = " ".join(v.split()).lower()
        if topic not in cleaned:
            cleaned.append(topic)
    return _count(cleaned, field, 0, 12)


def user_ids(value, field: str) -> list[int]:
    if not isinstance(value, list) or any(
        isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in value
    ):
        raise invalid(field, "Must be a list of user ids.")
    return _count(sorted(set(value)), field, 0, 200)


def _count(items: list, field: str, low: int, high: int) -> list:
    if len(items) < low:
        raise invalid(field, "Choose at least one." if low == 1 else f"Choose at least {low}.")
    if len(items) > high:
        raise invalid(field, f"Choose at most {high}.")
    return items


def clock(value, field: str) -> time:
    if not isinstance(value, str) or not HHMM.match(value):
        raise invalid(field, "Use a 24-hour time such as 09:30.")
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def instant(value, field: str) -> datetime:
    """An ISO 8601 instant with an offset, returned in UTC."""
    if not isinstance(value, str):
        raise invalid(field, "Use an ISO 8601 time with an offset, e.g. 2026-03-09T14:00:00+00:00.")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise invalid(
            field, "Use an ISO 8601 time with an offset, e.g. 2026-03-09T14:00:00+00:00."
        ) from None
    if parsed.tzinfo is None:
        raise invalid(field, "Add a UTC offset, e.g. +00:00.")
    return parsed.astimezone(UTC)


def day(value, field: str) -> date:
    if not isinstance(value, str):
        raise invalid(field, "Use a date such as 2027-06-30.")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise invalid(field, "Use a date such as 2027-06-30.") from None


def cursor(value, field: str = "cursor") -> int:
    """A listing's cursor: the id after which the next page starts."""
    if not isinstance(value, str) or not re.fullmatch(r"[0-9]{1,12}", value):
        raise invalid(field, "The cursor is not valid.")
    return int(value)
