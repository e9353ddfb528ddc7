"""What a practitioner or listener agrees to, and its version: the one home of that text.

Change a word here and change VERSION too: everyone who agreed to an older version is
asked again (pages send them to the consent page, the API answers 403
consent_required) before they carry on. Pure data, so pages, API and tests share it.
"""

from __future__ import annotations

VERSION = "2026-11-30"

TITLE = "Before you start"

# (heading, paragraph): short, plain, and the same on the pages and in the API.
SECTIONS = (
    (
        "Peer support, not treatment",
        "Alongside arranges conversations with trained volunteer peer listeners who also "
        "know this work from the inside. It is peer support: it is not therapy, counselling, "
        "diagnosis or crisis care, and a listener does not treat or assess you.",
    ),
    (
        "If you are in crisis",
        "Alongside cannot respond to emergencies. If you are in danger or thinking about "
        "harming yourself, call your local emergency number or a crisis line now; the "
        "numbers are at the bottom of every page.",
    ),
    (
        "Who sees what",
        "The person you talk with sees your name, the time and how to meet, and nothing "
        "else from your profile. Coordinators, who arrange the conversations, see your "
        "profile, your requests (with the private note; each reading of a note is recorded) "
        "and the feedback you give. Calendar invitations say only “Peer conversation — "
        "Alongside”.",
    ),
    (
        "How to leave",
        "You can pause, cancel any conversation without giving a reason, download "
        "everything stored about you, or close your account at any time from Settings. "
        "Closing it cancels your future conversations and erases your personal data.",
    ),
)


def text() -> str:
    """The whole text as plain paragraphs (what the API answers)."""
    return "\n\n".join(f"{heading}. {body}" for heading, body in SECTIONS)
