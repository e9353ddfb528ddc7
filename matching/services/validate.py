"""The value parsers: one small function per kind of value that comes from people.

The schemas' fields (matching/schemas/fields.py) call these for API bodies, pages and
commands alike. Every function takes the raw value and the field's name, returns the
clean value and raises Invalid with that field name and a sentence for a person.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, available_timezones

from email_validator import EmailNotValidError, validate_email

from matching.errors import Invalid, Malformed

MIN_PASSWORD = 12
LANGUAGE = re.compile(r"^[a-z]{2}$")
HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
# C0 control characters (NUL included) and DEL; tab and line breaks are ordinary text.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
CONTROL_MESSAGE = "Remove the control characters (such as NUL) from this."
# Dates people may give: anything outside is a typing slip (or an attack on date maths).
FIRST_YEAR, LAST_YEAR = 2000, 2099
EARLIEST = datetime(FIRST_YEAR, 1, 1, tzinfo=UTC)
LATEST = datetime(LAST_YEAR + 1, 1, 1, tzinfo=UTC)
RANGE_MESSAGE = f"Choose a date between {FIRST_YEAR} and {LAST_YEAR}."


def invalid(field: str, message: str) -> Invalid:
    return Invalid(message, fields={field: message})


def has_control(value: str) -> bool:
    """Tell whether text holds a control character that no one types on purpose."""
    return CONTROL.search(value) is not None


def no_control(value: str, field: str) -> str:
    if has_control(value):
        raise invalid(field, CONTROL_MESSAGE)
    return value


def text(value, field: str, *, max_len: int, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise invalid(field, "Must be text.")
    value = no_control(value, field).strip()
    if required and not value:
        raise invalid(field, "Please fill this in.")
    if len(value) > max_len:
        raise invalid(field, f"Keep it under {max_len} characters.")
    return value


def https_url(value, field: str, *, max_len: int = 300) -> str | None:
    """An https address such as a video room's, or None when left empty."""
    value = text(value, field, max_len=max_len)
    if not value:
        return None
    parts = urlsplit(value) if not re.search(r"\s", value) else None
    if parts is None or parts.scheme != "https" or not parts.hostname or "@" in parts.netloc:
        raise invalid(field, "Use an https:// address, such as https://meet.example.org/room.")
    return value


PHONE = re.compile(r"^\+?[0-9][0-9 ()./-]*$")
PHONE_MAX = 32


def phone(value, field: str = "phone") -> str | None:
    """A phone number as people write it (digits, spaces, + ( ) - . /), or None when empty."""
    value = text(value, field, max_len=PHONE_MAX)
    if not value:
        return None
    digits = sum(ch.isdigit() for ch in value)
    if not PHONE.match(value) or not 6 <= digits <= 15:
        raise invalid(field, "Use a phone number such as +44 20 7946 0000.")
    return " ".join(value.split())


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
    return no_control(value, field)


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


def language(value, field: str = "language") -> str:
    """One two-letter language code, in lower case."""
    if not isinstance(value, str) or not LANGUAGE.match(value.strip().lower()):
        raise invalid(field, "Use a two-letter language code such as en, es, de.")
    return value.strip().lower()


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
        no_control(v, field)
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
    """An ISO 8601 instant with an offset, between 2000 and 2099, returned in UTC."""
    if not isinstance(value, str) or len(value) > 64:
        raise invalid(field, "Use an ISO 8601 time with an offset, e.g. 2026-03-09T14:00:00+00:00.")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise invalid(
            field, "Use an ISO 8601 time with an offset, e.g. 2026-03-09T14:00:00+00:00."
        ) from None
    if parsed.tzinfo is None:
        raise invalid(field, "Add a UTC offset, e.g. +00:00.")
    return in_range(parsed, field)


def in_range(value: datetime, field: str) -> datetime:
    """The aware instant in UTC, if it lies between 2000 and 2099."""
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise invalid(field, RANGE_MESSAGE)
    value = value.astimezone(UTC)
    if not EARLIEST <= value < LATEST:
        raise invalid(field, RANGE_MESSAGE)
    return value


def day(value, field: str) -> date:
    if not isinstance(value, str) or len(value) > 32:
        raise invalid(field, "Use a date such as 2027-06-30.")
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        raise invalid(field, "Use a date such as 2027-06-30.") from None
    return day_in_range(parsed, field)


def day_in_range(value: date, field: str) -> date:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise invalid(field, RANGE_MESSAGE)
    return value


def digits(raw: str | None, field: str, *, max_len: int = 12) -> int | None:
    """A whole number written in ASCII digits (as in a cursor or page number), or None."""
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > max_len:
        raise Malformed(f"The {field} is not valid.", fields={field: "digits 0-9 only"})
    return int(raw)


def local_instant(local: datetime, zone_name: str, field: str) -> tuple[datetime, str | None]:
    """A wall-clock time someone typed, in their zone, as a UTC instant.

    A time that does not exist (clocks jump forward over it) is refused with a message
    that names the gap. A time that happens twice (clocks go back) means the first
    one; the second value is then a sentence saying so, for the page to show.
    """
    if not FIRST_YEAR <= local.year <= LAST_YEAR:
        raise invalid(field, RANGE_MESSAGE)
    zone = ZoneInfo(zone_name)
    first = local.replace(tzinfo=zone, fold=0)
    second = local.replace(tzinfo=zone, fold=1)
    if first.utcoffset() == second.utcoffset():
        return in_range(first, field), None
    back = first.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
    if back != local.replace(fold=0):
        jump_from, jump_to = _gap(first, second, zone)
        message = (
            f"{local:%H:%M} does not exist on {local:%-d %B %Y} in "
            f"{zone_name.replace('_', ' ')}: clocks jump from {jump_from:%H:%M} to "
            f"{jump_to:%H:%M}. Choose a time before {jump_from:%H:%M} or from {jump_to:%H:%M}."
        )
        raise invalid(field, message)
    chosen = in_range(first, field)
    note = (
        f"{local:%H:%M} on {local:%-d %B %Y} happens twice in {zone_name.replace('_', ' ')} "
        f"(clocks go back). We used the first one, {first:%H:%M %Z} "
        f"({chosen:%H:%M} UTC)."
    )
    return chosen, note


def _gap(before: datetime, after: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The local times where the clocks jump, around a time inside a gap."""
    # The change happens between these two instants; find its minute by halving.
    low, high = after.astimezone(UTC), before.astimezone(UTC)
    while high - low > timedelta(minutes=1):
        middle = low + (high - low) / 2
        if middle.astimezone(zone).utcoffset() == after.utcoffset():
            high = middle
        else:
            low = middle
    change = high.replace(second=0, microsecond=0)
    if change.astimezone(zone).utcoffset() != after.utcoffset():
        change += timedelta(minutes=1)
    return change.astimezone(ZoneInfo("UTC")) + before.utcoffset(), change.astimezone(zone)


def start_of_day(value: date, zone_name: str, field: str) -> datetime:
    """The first instant of a local date (after a gap at midnight, where the day begins)."""
    day_in_range(value, field)
    first = datetime.combine(value, time(0, 0), tzinfo=ZoneInfo(zone_name))
    # In a gap, fold=0 uses the offset before the change: the instant the day begins.
    return in_range(first, field)


def cursor(value, field: str = "cursor") -> int:
    """A listing's cursor: the id after which the next page starts."""
    if not isinstance(value, str) or not re.fullmatch(r"[0-9]{1,12}", value):
        raise invalid(field, "The cursor is not valid.")
    return int(value)


KEYSET = re.compile(r"[0-9]{1,2}-[0-9]{1,20}-[0-9]{1,12}")


def keyset_cursor(value, field: str = "cursor") -> str:
    """A cursor of a list sorted by urgency and waiting time (services/paging.py)."""
    if not isinstance(value, str) or not KEYSET.fullmatch(value):
        raise invalid(field, "The cursor is not valid.")
    return value


def ids(value, field: str) -> list[int]:
    """Distinct ids in the order given; a form sends them as ASCII digits."""
    if not isinstance(value, list | tuple):
        raise invalid(field, "Send a list of ids.")
    found: list[int] = []
    for item in value:
        if isinstance(item, str) and item.isascii() and item.isdigit() and len(item) < 12:
            item = int(item)
        if isinstance(item, bool) or not isinstance(item, int) or not 1 <= item < 10**12:
            raise invalid(field, "Send a list of ids.")
        if item not in found:
            found.append(item)
    return found
