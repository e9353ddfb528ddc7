"""Every JSON body the app takes or gives, described once with marshmallow.

One schema validates a request body (API views through flask-smorest; pages and commands
through load()) and describes it in the OpenAPI document at /api/v1/openapi.json. Its
fields call the value parsers in matching/services/validate.py, so a value is checked
the same way wherever it comes from. Services receive the loaded, typed values.
"""

from __future__ import annotations

from collections.abc import Mapping

import marshmallow as ma

from matching.errors import Invalid

NOT_ACCEPTED = "not accepted here"


class Schema(ma.Schema):
    """Refuse fields the schema does not name, so nothing unexpected is silently applied."""

    class Meta:
        unknown = ma.RAISE

    error_messages = {"unknown": NOT_ACCEPTED, "type": "Send a JSON object."}


def load(schema: ma.Schema | type[ma.Schema], data) -> dict:
    """Load data with a schema; raise Invalid with a sentence per field on bad values."""
    instance = schema() if isinstance(schema, type) else schema
    try:
        return instance.load(data)
    except ma.ValidationError as err:
        raise invalid(err.messages) from None


def invalid(messages) -> Invalid:
    """Turn marshmallow's messages into the app's Invalid error with flat field names."""
    fields = field_errors(messages)
    if fields and all(message == NOT_ACCEPTED for message in fields.values()):
        return Invalid("Some fields are not accepted here.", fields=fields)
    if len(fields) == 1:
        return Invalid(next(iter(fields.values())), fields=fields)
    return Invalid("Some values are not valid.", fields=fields)


def field_errors(messages, prefix: str = "") -> dict[str, str]:
    """{"windows": {0: {"end": ["..."]}}} -> {"windows[0].end": "..."} (first sentence each)."""
    if isinstance(messages, str):
        return {prefix or "body": messages}
    if not isinstance(messages, Mapping):
        found = [m for m in messages if isinstance(m, str)]
        nested = [m for m in messages if isinstance(m, Mapping)]
        if found:
            return {prefix or "body": found[0]}
        return field_errors(nested[0], prefix) if nested else {}
    flat: dict[str, str] = {}
    for key, value in messages.items():
        if key == ma.exceptions.SCHEMA:
            name = prefix or "body"
        elif isinstance(key, int):
            name = f"{prefix}[{key}]"
        else:
            name = f"{prefix}.{key}" if prefix else str(key)
        for flat_name, message in field_errors(value, name).items():
            flat.setdefault(flat_name, message)
    return flat
