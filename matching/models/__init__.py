"""All models, importable from one place."""

from matching.models.accounts import (
    ROLES,
    TOKEN_PURPOSES,
    AccountToken,
    ApiToken,
    AuditEvent,
    Consent,
    User,
    UserSession,
)
from matching.models.base import UTCDateTime, now_utc
from matching.models.bookings import OVERLAP, Booking
from matching.models.care import DEBRIEF_STATUSES, DebriefRequest
from matching.models.events import (
    ACTIVE_REGISTRATION_STATUSES,
    EVENT_STATUSES,
    REGISTRATION_STATUSES,
    SEAT_STATUSES,
    Event,
    EventFeedback,
    Registration,
)
from matching.models.meetings import MEETING_STATUSES, Feedback, Meeting
from matching.models.outbox import OUTBOX_STATUSES, OutboxMessage
from matching.models.profiles import (
    AvailabilityWindow,
    ListenerProfile,
    PractitionerProfile,
    TimeOff,
)
from matching.models.requests import (
    ACTIVE_REQUEST_STATUSES,
    REQUEST_STATUSES,
    RequestExclusion,
    SupportRequest,
)
from matching.models.rounds import (
    PROPOSAL_STATUSES,
    ROUND_RUN_STATUSES,
    MatchingRound,
    Proposal,
    RoundRun,
)

__all__ = [
    "ACTIVE_REGISTRATION_STATUSES",
    "ACTIVE_REQUEST_STATUSES",
    "DEBRIEF_STATUSES",
    "EVENT_STATUSES",
    "MEETING_STATUSES",
    "OUTBOX_STATUSES",
    "OVERLAP",
    "PROPOSAL_STATUSES",
    "REGISTRATION_STATUSES",
    "REQUEST_STATUSES",
    "ROLES",
    "ROUND_RUN_STATUSES",
    "SEAT_STATUSES",
    "TOKEN_PURPOSES",
    "AccountToken",
    "ApiToken",
    "AuditEvent",
    "AvailabilityWindow",
    "Booking",
    "Consent",
    "DebriefRequest",
    "Event",
    "EventFeedback",
    "Feedback",
    "ListenerProfile",
    "MatchingRound",
    "Meeting",
    "OutboxMessage",
    "PractitionerProfile",
    "Proposal",
    "Registration",
    "RequestExclusion",
    "RoundRun",
    "SupportRequest",
    "TimeOff",
    "UTCDateTime",
    "User",
    "UserSession",
    "now_utc",
]
