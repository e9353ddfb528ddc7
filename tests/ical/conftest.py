"""Fixtures for the calendar and mail tests: a real SMTP server, ical.js, a wording check."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import icalendar
import pytest

HERE = Path(__file__).resolve().parent


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

    read: dict[bytes, bytes] = {}  # one node process per distinct calendar

    def parse(ics: bytes) -> list[dict]:
        if ics not in read:
            result = subprocess.run(
                ["node", str(HERE / "parse.mjs")],
                input=ics,
                capture_output=True,
                check=False,
                timeout=60,
            )
            assert result.returncode == 0, result.stderr.decode()
            read[ics] = result.stdout
        return json.loads(read[ics])

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
