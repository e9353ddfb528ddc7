"""Fields for the schemas: each one calls a value parser and says what it takes.

The parsers in matching/services/validate.py hold the rules and the sentences a person
reads; a field adds what the OpenAPI document shows (type, limits, choices) and turns
the parser's Invalid into marshmallow's ValidationError under the field's own name.
"""

from __future__ import annotations

from functools import cache

import marshmallow as ma

from matching.errors import Invalid
from matching.services import consent, validate

REQUIRED = {"required": "Please fill this in.", "null": "Please fill this in."}


class Parsed:
    """Mixin for a marshmallow field whose value one parser of validate.py checks.

    A field class names its `parse` function; an instance keeps the parser's options
    and tells the document its shape (what a valid value looks like).
    """

    parse = staticmethod(lambda value, name: value)
    default_error_messages = REQUIRED

    def __init__(self, *args, shape: dict | None = None, options: dict | None = None, **kwargs):
        self.options = options or {}
        metadata = (shape or {}) | kwargs.pop("metadata", {})
        super().__init__(*args, metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return type(self).parse(value, self.name, **self.options)
        except Invalid as err:
            raise ma.ValidationError(err.fields.get(self.name, err.message)) from None


class Text(Parsed, ma.fields.String):
    """Text, trimmed; `fill` refuses an empty value."""

    parse = staticmethod(validate.text)

    def __init__(self, *, max_len: int, fill: bool = False, **kwargs):
        shape = {"maxLength": max_len} | ({"pattern": r"\S"} if fill else {})
        super().__init__(shape=shape, options={"max_len": max_len, "required": fill}, **kwargs)


class OptionalText(Text):
    """Optional short text: null or an empty value means none."""

    def __init__(self, **kwargs):
        super().__init__(allow_none=True, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(value, attr, data, **kwargs) or None


class Gender(OptionalText):
    """A gender in the person's own words, or none."""


class HttpsUrl(Parsed, ma.fields.String):
    """An https address; null or an empty value means none."""

    parse = staticmethod(validate.https_url)

    def __init__(self, *, max_len: int, **kwargs):
        shape = {"maxLength": max_len, "pattern": "^(https://.*)?$"}
        super().__init__(allow_none=True, shape=shape, options={"max_len": max_len}, **kwargs)


class Phone(Parsed, ma.fields.String):
    """A phone number; null or an empty value means none."""

    parse = staticmethod(validate.phone)

    def __init__(self, **kwargs):
        super().__init__(allow_none=True, shape={"maxLength": validate.PHONE_MAX}, **kwargs)


class Flag(Parsed, ma.fields.Boolean):
    """true or false, nothing that merely looks like it."""

    parse = staticmethod(validate.boolean)


class Whole(Parsed, ma.fields.Integer):
    """A whole number from low to high."""

    parse = staticmethod(validate.integer)

    def __init__(self, *, low: int, high: int, **kwargs):
        limits = {"low": low, "high": high}
        super().__init__(shape={"minimum": low, "maximum": high}, options=limits, **kwargs)


class EmailAddress(Parsed, ma.fields.String):
    """An e-mail address, normalised to lower case."""

    parse = staticmethod(validate.email)

    def __init__(self, **kwargs):
        super().__init__(shape={"format": "email", "maxLength": 254}, **kwargs)


class Password(Parsed, ma.fields.String):
    """A new password: long enough to be safe."""

    parse = staticmethod(validate.password)

    def __init__(self, **kwargs):
        shape = {"minLength": validate.MIN_PASSWORD, "maxLength": 1024}
        super().__init__(shape=shape, load_only=True, **kwargs)


@cache
def _zones() -> tuple[str, ...]:
    return tuple(validate.zone_names())


class TimeZone(Parsed, ma.fields.String):
    """An IANA time zone name such as Europe/Berlin."""

    parse = staticmethod(validate.timezone)

    def __init__(self, **kwargs):
        super().__init__(shape={"enum": list(_zones())}, **kwargs)


class OneOf(Parsed, ma.fields.String):
    """One word from a list (vocabulary.py holds the lists)."""

    parse = staticmethod(validate.one_of)

    def __init__(self, allowed, **kwargs):
        allowed = tuple(allowed)
        super().__init__(shape={"enum": list(allowed)}, options={"allowed": allowed}, **kwargs)


class Choices(Parsed, ma.fields.List):
    """Distinct words from a list, in the list's order."""

    parse = staticmethod(validate.choices)

    def __init__(self, allowed, *, min_items: int = 0, max_items: int = 20, **kwargs):
        allowed = tuple(allowed)
        super().__init__(
            ma.fields.String(metadata={"enum": list(allowed)}),
            shape={"maxItems": max_items} | ({"minItems": min_items} if min_items else {}),
            options={"allowed": allowed, "min_items": min_items, "max_items": max_items},
            **kwargs,
        )


class Language(Parsed, ma.fields.String):
    """One two-letter ISO 639-1 code."""

    parse = staticmethod(validate.language)

    def __init__(self, **kwargs):
        super().__init__(shape={"pattern": r"^\s*[A-Za-z]{2}\s*$"}, **kwargs)


class Languages(Parsed, ma.fields.List):
    """Two-letter ISO 639-1 codes, at least one."""

    parse = staticmethod(validate.languages)

    def __init__(self, **kwargs):
        inner = ma.fields.String(metadata={"pattern": r"^\s*[A-Za-z]{2}\s*$"})
        super().__init__(inner, shape={"minItems": 1, "maxItems": 10}, **kwargs)


class Topics(Parsed, ma.fields.List):
    """Short phrases, folded to lower case."""

    parse = staticmethod(validate.topics)

    def __init__(self, **kwargs):
        inner = ma.fields.String(metadata={"minLength": 1, "maxLength": 40, "pattern": r"\S"})
        super().__init__(inner, shape={"maxItems": 12}, **kwargs)


class UserIds(Parsed, ma.fields.List):
    """Ids of people, each once."""

    parse = staticmethod(validate.user_ids)

    def __init__(self, **kwargs):
        inner = ma.fields.Integer(metadata={"minimum": 1})
        super().__init__(inner, shape={"maxItems": 200}, **kwargs)


class Clock(Parsed, ma.fields.String):
    """A 24-hour wall-clock time, HH:MM."""

    parse = staticmethod(validate.clock)

    def __init__(self, **kwargs):
        super().__init__(shape={"pattern": validate.HHMM.pattern}, **kwargs)


class Instant(Parsed, ma.fields.String):
    """An ISO 8601 instant with an offset; loaded in UTC."""

    parse = staticmethod(validate.instant)

    def __init__(self, **kwargs):
        super().__init__(shape={"format": "date-time"}, **kwargs)


class Day(Parsed, ma.fields.String):
    """A calendar date, YYYY-MM-DD."""

    parse = staticmethod(validate.day)

    def __init__(self, **kwargs):
        super().__init__(shape={"format": "date"}, **kwargs)


class Cursor(Parsed, ma.fields.String):
    """Where the next page of a listing starts (the `next` of the page before)."""

    parse = staticmethod(validate.cursor)

    def __init__(self, **kwargs):
        super().__init__(shape={"pattern": r"^\d{1,12}$"}, **kwargs)


class KeysetCursor(Parsed, ma.fields.String):
    """Where the next page of a list sorted by urgency and waiting starts (its `next`)."""

    parse = staticmethod(validate.keyset_cursor)

    def __init__(self, **kwargs):
        super().__init__(shape={"pattern": f"^{validate.KEYSET.pattern}$"}, **kwargs)


class Ids(Parsed, ma.fields.List):
    """Ids of rows, each once, in the order given."""

    parse = staticmethod(validate.ids)

    def __init__(self, *, max_items: int, **kwargs):
        inner = ma.fields.Integer(metadata={"minimum": 1})
        super().__init__(inner, shape={"minItems": 1, "maxItems": max_items}, **kwargs)


class ConsentVersion(Parsed, ma.fields.String):
    """The version of the consent text agreed to: the current one (GET /api/v1/consent)."""

    parse = staticmethod(consent.check_version)

    def __init__(self, **kwargs):
        super().__init__(shape={"maxLength": 40}, **kwargs)
