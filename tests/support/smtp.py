"""A real SMTP server on 127.0.0.1 for tests: records messages, refuses on demand."""

from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

# --- a real SMTP server ------------------------------------------------------


@dataclass
class ReceivedMail:
    """One message as the SMTP server received it."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


@dataclass
class RecordingSMTPHandler:
    """aiosmtpd handler that keeps every message and can refuse chosen recipients."""

    received: list[ReceivedMail] = field(default_factory=list)
    rcpt_replies: dict[str, str] = field(default_factory=dict)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.rcpt_replies.get(address.lower())
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.received.append(ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


@dataclass
class SMTPServer:
    """A running SMTP server on 127.0.0.1 and what it has received."""

    hostname: str
    port: int
    handler: RecordingSMTPHandler

    @property
    def received(self) -> list[ReceivedMail]:
        return self.handler.received

    @property
    def settings(self) -> dict[str, object]:
        """Mail settings that point at this server (merge into app.config)."""
        return {
            "MAIL_SERVER": self.hostname,
            "MAIL_PORT": self.port,
            "MAIL_USE_TLS": False,
            "MAIL_USE_SSL": False,
            "MAIL_TIMEOUT": 5,
        }

    def answer_rcpt(self, recipient: str, reply: str) -> None:
        """Answer RCPT TO for ``recipient`` with ``reply``, e.g. "451 4.3.0 Try later"."""
        self.handler.rcpt_replies[recipient.lower()] = reply


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server() -> Iterator[SMTPServer]:
    """Run a real SMTP server (aiosmtpd) on 127.0.0.1 and a free port for one test."""
    handler = RecordingSMTPHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield SMTPServer(controller.hostname, controller.port, handler)
    finally:
        controller.stop()
