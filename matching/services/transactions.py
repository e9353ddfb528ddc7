"""Savepoints inside the request's one transaction, the same on PostgreSQL and SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import IntegrityError

from matching.errors import ServiceError
from matching.extensions import db
from matching.models import User


@contextmanager
def savepoint() -> Iterator[None]:
    """Run writes in a SAVEPOINT: an error inside undoes them and propagates.

    The transaction around stays usable, so a service can refuse one step (a unique
    index that another request won) and carry on with the next.
    """
    _open_write_transaction()
    with db.session.begin_nested():
        yield
        db.session.flush()


def add_once(row, refusal: ServiceError) -> None:
    """Add a row a unique index allows once; raise ``refusal`` if a racing request won.

    The check before it answers the usual case; this is the database's last word when
    two requests passed the check together (the caller rolls back, as after any refusal).
    """
    db.session.add(row)
    try:
        db.session.flush()
    except IntegrityError:
        raise refusal from None


def _open_write_transaction() -> None:
    """Make sure a SAVEPOINT nests inside a transaction.

    SQLite's Python driver opens a transaction only at the first write; a SAVEPOINT
    issued before that would open one of its own, and releasing it would commit.
    """
    if db.session.get_bind().dialect.name != "sqlite":
        return
    connection = db.session.connection().connection.dbapi_connection
    if not connection.in_transaction:
        db.session.execute(db.update(User).where(db.false()).values(id=User.id))
