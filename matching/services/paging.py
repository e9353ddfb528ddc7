"""Keyset pages: an opaque cursor made of the sort key of the last row shown.

A page that continues after the last row seen never skips or repeats a row when rows
before it leave the list (a request matched, a proposal approved) while someone reads
it; page numbers would shift every later row by one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import String, bindparam, case, cast, tuple_

from matching.engine.slots import EPOCH
from matching.errors import Malformed
from matching.vocabulary import URGENCIES

# Urgent first: the rank sorts ascending.
URGENCY_RANK = {name: rank for rank, name in enumerate(reversed(URGENCIES))}


def urgency_rank(column):
    """A SQL expression ranking urgencies, most urgent first (0)."""
    return case(URGENCY_RANK, value=column, else_=len(URGENCY_RANK))


def speaks(json_languages, code):
    """A SQL condition: the JSON list of languages contains this two-letter code.

    The list is stored as JSON text on both databases, so a quoted LIKE matches the
    element exactly without database-specific JSON operators. ``code`` may be a bound
    parameter instead, whose value is then ``language_pattern(code)``.
    """
    pattern = language_pattern(code) if isinstance(code, str) else code
    return cast(json_languages, String).like(pattern)


def language_pattern(code: str) -> str:
    """The LIKE pattern speaks() matches a JSON list of languages with."""
    return f'%"{code}"%'


def after_key(instant_type):
    """A SQL tuple of bound values for the sort key after which a keyset page starts:
    after_rank, after_when (an instant of ``instant_type``) and after_id."""
    return tuple_(
        bindparam("after_rank"),
        bindparam("after_when", type_=instant_type),
        bindparam("after_id"),
    )


def narrow_page(keys, sort: tuple, *, after: bool):
    """The rows of one page chosen on their sort key alone, as a subquery to join.

    ``keys`` selects the sort key (rank, instant, id) and the filters, ``sort`` names
    those three columns; with ``after`` the page starts after the bound key of
    after_key(). The limit is bound too, so the statement can be built once.
    """
    if after:
        keys = keys.where(tuple_(*sort) > after_key(sort[1].type))
    return keys.order_by(*sort).limit(bindparam("limit")).subquery()


def after_values(after: tuple[int, datetime, int]) -> dict:
    """The values of after_key() for a decoded cursor."""
    rank, when, row_id = after
    return {"after_rank": rank, "after_when": when, "after_id": row_id}


def filters(args, *, statuses, default: str) -> dict:
    """A list page's filters from its query string; unknown values fall back to the defaults.

    ``status`` is one of ``statuses`` or ``default`` ("all" shows every status),
    ``urgency`` one of URGENCIES or None, ``language`` a two-letter code or None.
    """
    status = args.get("status") or default
    urgency = args.get("urgency") or None
    language = (args.get("language") or "").strip().lower() or None
    return {
        "status": status if status in statuses else default,
        "urgency": urgency if urgency in URGENCIES else None,
        "language": language if language and len(language) == 2 and language.isalpha() else None,
    }


def micros(value: datetime) -> int:
    return (value - EPOCH) // timedelta(microseconds=1)


def from_micros(value: int) -> datetime:
    return EPOCH + timedelta(microseconds=value)


def encode(rank: int, when: datetime, row_id: int) -> str:
    return f"{rank}-{micros(when)}-{row_id}"


def decode(raw: str | None) -> tuple[int, datetime, int] | None:
    """(rank, instant, id) from a cursor; a cursor that is not ours is a 400."""
    if not raw:
        return None
    parts = raw.split("-")
    if len(parts) != 3 or not all(p.isdigit() and len(p) <= 20 for p in parts):
        raise Malformed("The cursor is not valid.", fields={"cursor": "not a cursor"})
    rank, when, row_id = (int(p) for p in parts)
    try:
        return rank, from_micros(when), row_id
    except OverflowError:
        raise Malformed("The cursor is not valid.", fields={"cursor": "not a cursor"}) from None


@dataclass
class Page:
    """One page of rows, the cursor of the next page (or None) and the total."""

    items: list
    next: str | None
    total: int | None
    filters: dict = field(default_factory=dict)


def page_from(rows: list, limit: int, total: int | None) -> Page:
    """A page from the ``limit + 1`` rows a keyset query gave, sorted on (rank, waiting_since, id).

    The extra row only tells that there is a next page; its cursor is the last row shown.
    """
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode(last.rank, last.waiting_since, last.id)
    return Page(items=rows[:limit], next=next_cursor, total=total)
