"""The programme's word lists: each value once, with the words people see for it.

Pure data, importable by the engine, the models, the schemas and the pages alike.
"""

from __future__ import annotations

# Professional fields: value -> (label on a form, phrase inside a sentence).
FIELD_WORDS = {
    "psychology": ("Psychology", "psychology"),
    "social_work": ("Social work", "social work"),
    "counselling": ("Counselling", "counselling"),
    "psychiatry": ("Psychiatry", "psychiatry"),
    "nursing": ("Nursing", "nursing"),
    "crisis_line": ("Crisis line", "crisis-line work"),
    "other": ("Other", "a related field"),
}
FIELDS = tuple(FIELD_WORDS)

# Ways to meet: value -> (label on a form, phrase inside a sentence).
MODALITY_WORDS = {
    "video": ("Video", "video"),
    "phone": ("Phone", "phone"),
    "in_person": ("In person", "in person"),
}
MODALITIES = tuple(MODALITY_WORDS)

URGENCY_WORDS = {
    "routine": "Routine",
    "soon": "Soon",
    "urgent": "Urgent",
}
URGENCIES = tuple(URGENCY_WORDS)
# How a practitioner picks the urgency on the request form.
URGENCY_CHOICE_WORDS = {
    "routine": "In the next couple of weeks",
    "soon": "In the next few days",
    "urgent": "As soon as possible",
}

# Feedback after a conversation: rating -> label on the form.
RATING_WORDS = {5: "5 — very helpful", 4: "4", 3: "3", 2: "2", 1: "1 — not helpful"}
RATINGS = tuple(RATING_WORDS)

# What became of a conversation once it ended: value -> label on the form.
OUTCOME_WORDS = {"completed": "Yes, it took place", "no_show": "No, it did not happen"}
OUTCOMES = tuple(OUTCOME_WORDS)
# Where a conversation stands, in the words of a page.
MEETING_WORDS = {
    "scheduled": "booked",
    "cancelled": "cancelled",
    "completed": "took place",
    "no_show": "did not happen",
}
# Where a practitioner's active request stands, in the words of their page.
REQUEST_WORDS = {
    "open": "looking for a listener",
    "proposed": "a listener has been suggested; a coordinator is checking",
    "scheduled": "a conversation is booked",
}


def field_label(value: str) -> str:
    return FIELD_WORDS[value][0] if value in FIELD_WORDS else value


def field_phrase(value: str) -> str:
    return FIELD_WORDS[value][1] if value in FIELD_WORDS else value


def modality_label(value: str) -> str:
    return MODALITY_WORDS[value][0] if value in MODALITY_WORDS else value


def modality_phrase(value: str) -> str:
    return MODALITY_WORDS[value][1] if value in MODALITY_WORDS else value


# Programme events: value -> label on a form and a page.
EVENT_KIND_WORDS = {"workshop": "Workshop", "seminar": "Seminar"}
EVENT_KINDS = tuple(EVENT_KIND_WORDS)
# How a group session meets: a video link or a place (a subset of MODALITIES).
EVENT_MODALITY_WORDS = {"video": "Online (video link)", "in_person": "In person (a place)"}
EVENT_MODALITIES = tuple(EVENT_MODALITY_WORDS)
# Who may register: the roles, in the words of a form.
OPEN_TO_WORDS = {"practitioner": "Practitioners", "listener": "Listeners"}
OPEN_TO = tuple(OPEN_TO_WORDS)
# Where a registration stands, in the words of a page.
REGISTRATION_WORDS = {
    "pending_approval": "waiting for a coordinator's approval",
    "confirmed": "you have a seat",
    "rejected": "no seat this time",
    "waitlisted": "on the waiting list",
    "offered": "a seat is offered to you",
    "declined": "you declined the offered seat",
    "expired": "the offered seat passed on",
    "withdrawn": "you withdrew",
    "cancelled": "the session was cancelled",
}
