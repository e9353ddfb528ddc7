"""Fields for the schemas: each one calls a value parser and says what it takes.

The parsers in matching/services/validate.py hold the rules and the sentences a person
reads; a field adds what the OpenAPI document shows (type, limits, choices) and turns
the parser's Invalid into marshmallow's ValidationError under the field's own name.
"""

from __future__ import annotations

from functools import cache

import marshmallow as ma

from matching.errors import Invalid
from matching.services import validate

REQUIRED = {"required": "Please fill this in.", "null": "Please fill this in."}


def _shape(shape: dict, kwargs: dict) -> dict:
    """What the document shows: the field's own shape and any metadata given."""
    return shape | kwargs.pop("metadata", {})


def _run(parse, value, name: str, **options):
    try:
        return parse(value, name, **options)
    except Invalid as err:
        raise ma.ValidationError(err.fields.get(name, err.message)) from None


class Text(ma.fields.String):
    """Text, trimmed; `fill` refuses an empty value."""

    default_error_messages = REQUIRED

    def __init__(self, *, max_len: int, fill: bool = False, **kwargs):
        self.max_len, self.fill = max_len, fill
        shape = {"maxLength": max_len} | ({"pattern": r"\S"} if fill else {})
        super().__init__(metadata=_shape(shape, kwargs), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        return _run(validate.text, value, self.name, max_len=self.max_len, required=self.fill)


class Gender(Text):
    """Optional short text: null or an empty value means none."""

    def __init__(self, **kwargs):
        super().__init__(allow_none=True, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(value, attr, data, **kwargs) or None


class Flag(ma.fields.Boolean):
    """true or false, nothing that merely looks like it."""

    default_error_messages = REQUIRED

    def _deserialize(self, value, attr, data, **kwargs):
        return _run(validate.boolean, value, self.name)


class Whole(ma.fields.Integer):
    """A whole number from low to high."""

    default_error_messages = REQUIRED

    def __init__(self, *, low: int, high: int, **kwargs):
        self.low, self.high = low, high
        super().__init__(metadata=_shape({"minimum": low, "maximum": high}, kwargs), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        return _run(validate.integer, value, self.name, low=self.low, high=self.high)


class EmailAddress(ma.fields.String):
    """An e-mail address, normalised to lower case."""

    default_error_messages = REQUIRED

    def __init__(self, **kwargs):
        super().__init__(metadata=_shape({"format": "email", "maxLength": 254}, kwargs), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        return _run(validate.email, value, self.name)


class Password(ma.fields.String):
    """A new password: long enough to be safe."""

    default_error_messages = REQUIRED

    def __init__(self, **kwargs):
        limits = {"minLength": validate.MIN_PASSWORD, "maxLength": 1024}
        super().__init__(metadata=_shape(limits, kwargs), load_only=True, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        return _run(validate.password, value, self.name)


@cache
def _zone_enum() -> tuple[str, ...]:
    return tuple(validate.zone_names())


class TimeZone(ma.fields.String):
    """An IANA time zone name such as Europe/Berlin."""

    default_error_messages = REQUIRED

    def __init__(self, **kwargs):
        super().__init__(metadata=_shape({"enum": list(_zone_enum())}, kwargs), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        return _run(validate.timezone, value, self.name)


class OneOf(ma.fields.String):
    """One word from a list (vocabulary.py holds the lists)."""

    default_error_messages = REQUIRED

    def __init__(self, allowed, **kwargs):
        self.allowed = tuple(allowed)
        super().__init__(metadata=_shape({"enum": list(self.allowed)}, kwargs), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        return _run(validate.one_of, value, self.name, allowed=self.allowed)


class Choices(ma.fields.List):
    """Distinct words from a list, in the list's order."""

    default_error_messages = REQUIRED

    def __init__(self, allowed, *, min_items: int = 0, max_items: int = 20, **kwargs):
        self.allowed, self.min_items, self.max_items = tuple(allowed), min_items, max_items
        limits = {"maxItems": max_items} | ({"minItems": min_items} if min_items else {})
        inner = ma.fields.String(metadata={"enum": list(self.allowed)})
        super().__init__(inner, metadata=_shape(limits, kwargs), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        return _run(
            validate.choices,
            value,
            self.name,
            allowed=self.allowed,
            min_items=self.min_items,
            max_items=self.max_items,
        )


class Languages(ma.fields.List):
    """Two-letter ISO 639-1 codes, at least one."""

    default_error_messages = REQUIRED

    def __init__(self, **kwargs):
        inner = ma.fields.String(metadata={"pattern": r"^\s*[A-Za-z]{2}\s*$"})
        super().__init__(inner, metadata=_shape({"minItems": 1, "maxItems": 10}, kwargs), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        return _run(validate.languages, value, self.name)


class Topics(ma.fields.List):
    """Short phrases, folded to lower case."""

    default_error_messages = REQUIRED

    def __init__(self, **kwargs):
        inner = ma.fields.String(metadata={"minLength": 1, "maxLength": 40, "pattern": r"\S"})
        super().__init__(inner, metadata=_shape({"maxItems": 12}, kwargs), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        return _run(validate.topics, value, self.name)


class UserIds(ma.fields.List):
    """Ids of people, each once."""

    default_error_messages = REQUIRED

    def __init__(self, **kwargs):
        inner = ma.fields.Integer(metadata={"minimum": 1})
        super().__init__(inner, metadata=_shape({"maxItems": 200}, kwargs), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        return _run(validate.user_ids, value, self.name)


class Clock(ma.fields.String):
    """A 24-hour wall-clock time, HH:MM."""

    default_error_messages = REQUIRED

    def __init__(self, **kwargs):
        super().__init__(metadata=_shape({"pattern": validate.HHMM.pattern}, kwargs), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        return _run(validate.clock, value, self.name)


class Instant(ma.fields.String):
    """An ISO 8601 instant with an offset; loaded in UTC."""

    default_error_messages = REQUIRED

    def __init__(self, **kwargs):
        super().__init__(metadata=_shape({"format": "date-time"}, kwargs), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        return _run(validate.instant, value, self.name)


class Day(ma.fields.String):
    """A calendar date, YYYY-MM-DD."""

    default_error_messages = REQUIRED

    def __init__(self, **kwargs):
        super().__init__(metadata=_shape({"format": "date"}, kwargs), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        return _run(validate.day, value, self.name)


class Cursor(ma.fields.String):
    """Where the next page of a listing starts (the `next` of the page before)."""

    def __init__(self, **kwargs):
        super().__init__(metadata=_shape({"pattern": r"^\d{1,12}$"}, kwargs), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        return _run(validate.cursor, value, self.name)
