"""Fixtures for the calendar and mail tests: a real SMTP server, ical.js, a wording check."""

from __future__ import annotations

import email
import email.policy
import json
import os
import re
import shutil
import socket
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

import icalendar
import pytest
from aiosmtpd.controller import Controller

HERE = Path(__file__).resolve().parent


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


# --- ical.js, the parser inside Thunderbird -----------------------------------


@pytest.fixture(scope="session")
def icaljs() -> Callable[[bytes], list[dict]]:
    """Return a function that parses .ics bytes with ical.js (tests/ical/parse.mjs)."""
    problem = None
    if shutil.which("node") is None:
        problem = "node is not installed"
    elif not (HERE / "node_modules" / "ical.js").is_dir():
        problem = "ical.js is not installed: run `npm ci --prefix tests/ical`"
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"{problem} (CI is set, so this cannot be skipped)")
        pytest.skip(problem)

    def parse(ics: bytes) -> list[dict]:
        result = subprocess.run(
            ["node", str(HERE / "parse.mjs")],
            input=ics,
            capture_output=True,
            check=False,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr.decode()
        return json.loads(result.stdout)

    return parse


# --- neutral calendar wording -------------------------------------------------

SENSITIVE_WORDS = re.compile(
    r"\b(trauma\w*|stress\w*|burn[- ]?out|crisis|crises|ptsd|support request\w*"
    r"|mental[- ]health|suicid\w*|distress\w*)\b",
    re.IGNORECASE,
)
# Addresses and identifiers are the caller's data, not wording a colleague reads.
_NOT_WORDING = {"BEGIN", "END", "ATTENDEE", "ORGANIZER", "UID", "URL"}


@pytest.fixture(scope="session")
def assert_calendar_neutral() -> Callable[[bytes], None]:
    """Return a check that no visible text of a calendar names what the meeting is about."""

    def check(ics: bytes) -> None:
        calendar = icalendar.Calendar.from_ical(ics)
        found = []
        for component in calendar.walk():
            for name, value in component.property_items(recursive=False):
                if name not in _NOT_WORDING:
                    found += [(name, word) for word in SENSITIVE_WORDS.findall(str(value))]
            organizer = component.get("ORGANIZER")
            if organizer is not None:
                name = str(organizer.params.get("CN", ""))
                found += [("ORGANIZER CN", word) for word in SENSITIVE_WORDS.findall(name)]
        assert not found, f"sensitive wording in calendar: {found}"

    return check
