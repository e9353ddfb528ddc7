"""Helpers for tests that join the way people do: the mails in the outbox and their links."""

from __future__ import annotations

import re

from matching.extensions import db
from matching.models import OutboxMessage

LINK = re.compile(r"https?://[^/\s]+(/(?:verify|reset)/([A-Za-z0-9_-]+))")


def mails_to(app, address: str) -> list[OutboxMessage]:
    """Every message queued for an address, oldest first."""
    with app.app_context():
        return list(
            db.session.scalars(
                db.select(OutboxMessage)
                .where(OutboxMessage.recipient == address.lower())
                .order_by(OutboxMessage.id)
            )
        )


def link_in(mail: OutboxMessage) -> tuple[str, str]:
    """The path of the verification or reset link in a mail's text, and its token."""
    found = LINK.search(mail.text_body)
    assert found, mail.text_body
    return found.group(1), found.group(2)


def latest_link(app, address: str, kind: str) -> tuple[str, str]:
    """(path, token) of the newest mail of this kind to the address."""
    found = [m for m in mails_to(app, address) if m.kind == kind]
    assert found, f"no {kind} mail to {address}"
    return link_in(found[-1])
