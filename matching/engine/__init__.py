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
from matching.engine.rule_kinds import Funnel, Rule
from matching.engine.rules import (
    RULES,
    RULES_BY_CODE,
    active_rules,
    broken_rules,
    check_slot,
    explain,
    messages,
    normalize_organization,
)
from matching.engine.scoring import score_parts
from matching.engine.slots import availability, window_intervals
from matching.engine.solver import propose
from matching.engine.starts import free_times

__all__ = [
    "RULES",
    "RULES_BY_CODE",
    "Funnel",
    "Interval",
    "Listener",
    "Params",
    "Proposal",
    "Request",
    "Result",
    "Rule",
    "ScorePart",
    "Unmatched",
    "Weights",
    "Window",
    "active_rules",
    "availability",
    "broken_rules",
    "check_slot",
    "explain",
    "free_times",
    "language_name",
    "messages",
    "normalize_organization",
    "propose",
    "score_parts",
    "window_intervals",
]
