"""Savepoints inside the request's one transaction, the same on PostgreSQL and SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

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
