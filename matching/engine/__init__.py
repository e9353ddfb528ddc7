"""The matching step: frozen dataclasses in, proposals and reasons out.

Pure: imports only the standard library and networkx (OR-Tools when asked for).
"""

from matching.engine.model import (
    Interval,
    Listener,
    Params,
    Proposal,
    Request,
    Result,
    ScorePart,
    Unmatched,
    Weights,
    Window,
)
from matching.engine.reasons import language_name
from matching.engine.rules import check_slot, normalize_organization, profile_problems
from matching.engine.scoring import score_parts
from matching.engine.slots import availability, free_slots, window_intervals
from matching.engine.solver import propose

__all__ = [
    "Interval",
    "Listener",
    "Params",
    "Proposal",
    "Request",
    "Result",
    "ScorePart",
    "Unmatched",
    "Weights",
    "Window",
    "availability",
    "check_slot",
    "free_slots",
    "language_name",
    "normalize_organization",
    "profile_problems",
    "propose",
    "score_parts",
    "window_intervals",
]
