"""What the API answers: the shapes of its responses, errors included.

Views return the plain data the services build; the response schema named on the
operation dumps it, so the OpenAPI document describes exactly what is sent.
"""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields

from matching.models import (
    EVENT_STATUSES,
    MEETING_STATUSES,
    PROPOSAL_STATUSES,
    REGISTRATION_STATUSES,
    REQUEST_STATUSES,
    ROLES,
)
from matching.vocabulary import (
    EVENT_KINDS,
    EVENT_MODALITIES,
    FIELDS,
    MODALITIES,
    OPEN_TO,
    URGENCIES,
)

# Instants in answers are ISO 8601 strings in UTC, made by the services.
INSTANT = {"format": "date-time"}
DAY = {"format": "date"}


def _instant(**kwargs) -> fields.String:
    return fields.String(metadata=INSTANT | kwargs.pop("metadata", {}), **kwargs)


def _words(allowed, **kwargs) -> fields.String:
    return fields.String(metadata={"enum": list(allowed)} | kwargs.pop("metadata", {}), **kwargs)


class Answer(ma.Schema):
    """An answer's documented fields; later versions may add more."""

    class Meta:
        unknown = ma.EXCLUDE


def page_of(item: type[Answer]) -> type[Answer]:
    """The answer of a list: one page of items, and the cursor of the next (null at the end)."""
    return type(
        f"{item.__name__}Page",
        (Answer,),
        {
            "items": fields.List(fields.Nested(item), required=True),
            "next": fields.String(
                required=True, allow_none=True, metadata={"description": "the next cursor"}
            ),
            "__doc__": f"One page of {item.__name__} items.",
        },
    )


# A field's problem is a sentence; under "rules" (409 rule_broken), the broken rules.
_PROBLEM = {
    "oneOf": [
        {"type": "string"},
        {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "overridable": {"type": "boolean"},
                },
                "required": ["code", "message", "overridable"],
            },
        },
    ]
}


class ErrorDetail(Answer):
    code = fields.String(required=True, metadata={"description": "snake_case, for programs"})
    message = fields.String(required=True, metadata={"description": "a sentence for a person"})
    fields_ = fields.Dict(
        attribute="fields",
        data_key="fields",
        keys=fields.String(),
        values=fields.Raw(metadata=_PROBLEM),
        required=True,
        metadata={
            "description": "field name -> what is wrong with it; for 409 rule_broken, "
            "`rules` -> [{code, message, overridable}]"
        },
    )


class Error(Answer):
    """Every error answer of the API."""

    error = fields.Nested(ErrorDetail, required=True)


class User(Answer):
    id = fields.Integer(required=True)
    email = fields.String(required=True)
    role = _words(ROLES, required=True)
    display_name = fields.String(required=True)
    timezone = fields.String(required=True)


class Profile(Answer):
    """A practitioner's or a listener's profile (the fields of the person's role)."""

    languages = fields.List(fields.String(), required=True)
    modalities = fields.List(_words(MODALITIES), required=True)
    organization = fields.String(required=True)
    topics = fields.List(fields.String(), required=True)
    do_not_match = fields.List(fields.Integer(), required=True)
    field = _words(FIELDS, metadata={"description": "practitioners"})
    listener_gender = fields.String(allow_none=True, metadata={"description": "practitioners"})
    listener_gender_required = fields.Boolean(metadata={"description": "practitioners"})
    fields_ = fields.List(
        _words(FIELDS), attribute="fields", data_key="fields", metadata={"description": "listeners"}
    )
    gender = fields.String(allow_none=True, metadata={"description": "listeners"})
    max_sessions_per_week = fields.Integer(metadata={"description": "listeners"})
    max_sessions_per_day = fields.Integer(metadata={"description": "listeners"})
    verified = fields.Boolean(metadata={"description": "listeners"})
    training_valid_until = fields.String(allow_none=True, metadata=DAY)
    paused_until = _instant(allow_none=True)
    video_url = fields.String(allow_none=True, metadata={"description": "listeners"})
    place = fields.String(allow_none=True, metadata={"description": "listeners"})


class Me(User):
    profile = fields.Nested(Profile, required=True, allow_none=True)


class Token(Answer):
    token = fields.String(required=True)


class FeedUrl(Answer):
    url = fields.String(required=True, metadata={"format": "uri"})


class WindowOut(Answer):
    weekday = fields.Integer(required=True, metadata={"minimum": 0, "maximum": 6})
    start = fields.String(required=True)
    end = fields.String(required=True)


class Availability(Answer):
    timezone = fields.String(required=True)
    windows = fields.List(fields.Nested(WindowOut), required=True)


class TimeOff(Answer):
    id = fields.Integer(required=True)
    start = _instant(required=True)
    end = _instant(required=True)


class Pairing(Answer):
    """A request, a listener and a time: what proposals and meetings both are."""

    id = fields.Integer(required=True)
    request_id = fields.Integer(required=True)
    listener_id = fields.Integer(required=True)
    start = _instant(required=True)
    end = _instant(required=True)


class Location(Answer):
    """How to meet: a video link, a phone arrangement (who calls whom) or a place."""

    modality = _words(MODALITIES, required=True)
    url = fields.String(metadata={"format": "uri"})
    phone = fields.String()
    place = fields.String()
    note = fields.String()


class Meeting(Pairing):
    practitioner_id = fields.Integer(required=True)
    status = _words(MEETING_STATUSES, required=True)
    sequence = fields.Integer(required=True)
    location = fields.Nested(
        Location,
        allow_none=True,
        metadata={"description": "for the two attendees and coordinators; null if not arranged"},
    )


MeetingPage = page_of(Meeting)


class GivenFeedback(Answer):
    meeting_id = fields.Integer(required=True)
    rating = fields.Integer(required=True)
    comment = fields.String(required=True)
    created_at = _instant(required=True)


class Feedback(GivenFeedback):
    id = fields.Integer(required=True)


class RequestCreated(Answer):
    id = fields.Integer(required=True)
    status = _words(REQUEST_STATUSES, required=True)
    urgency = _words(URGENCIES, required=True)
    crisis_resources = fields.String(metadata={"description": "with urgent requests"})


class Request(Answer):
    id = fields.Integer(required=True)
    status = _words(REQUEST_STATUSES, required=True)
    urgency = _words(URGENCIES, required=True)
    topics = fields.List(fields.String(), required=True)
    modalities = fields.List(_words(MODALITIES), required=True)
    created_at = _instant(required=True)
    meeting = fields.Nested(Meeting, required=True, allow_none=True)
    note = fields.String(metadata={"description": "only in the owner's export"})
    phone = fields.String(allow_none=True, metadata={"description": "only in the owner's export"})


class QueuedRequest(Request):
    """A request in the coordinators' list, with how long it has waited."""

    waiting_since = _instant(required=True)
    waiting = fields.String(required=True, metadata={"description": "e.g. waiting 3 days"})


QueuedRequestPage = page_of(QueuedRequest)


class ListenerLoad(Answer):
    booked_next_7_days = fields.Integer(required=True)
    pending_proposals = fields.Integer(required=True)


class Listener(Answer):
    id = fields.Integer(required=True)
    display_name = fields.String(required=True)
    email = fields.String(required=True)
    timezone = fields.String(required=True)
    organization = fields.String(required=True)
    languages = fields.List(fields.String(), required=True)
    modalities = fields.List(_words(MODALITIES), required=True)
    fields_ = fields.List(_words(FIELDS), attribute="fields", data_key="fields", required=True)
    verified = fields.Boolean(required=True)
    verified_at = _instant(required=True, allow_none=True)
    training_valid_until = fields.String(required=True, allow_none=True, metadata=DAY)
    training_expired = fields.Boolean(required=True)
    paused_until = _instant(required=True, allow_none=True)
    max_sessions_per_week = fields.Integer(required=True)
    max_sessions_per_day = fields.Integer(required=True)
    load = fields.Nested(ListenerLoad, required=True)


ListenerPage = page_of(Listener)


class Proposal(Pairing):
    round_id = fields.Integer(required=True)
    score = fields.Integer(required=True, metadata={"minimum": 0, "maximum": 100})
    parts = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    reasons = fields.List(fields.String(), required=True)
    status = _words(PROPOSAL_STATUSES, required=True)
    never_again = fields.Boolean(required=True)


class Unmatched(Answer):
    request_id = fields.Integer(required=True)
    reasons = fields.List(fields.String(), required=True)


class Round(Answer):
    id = fields.Integer(required=True)
    created_at = _instant(required=True)
    proposals = fields.List(fields.Nested(Proposal), required=True)
    unmatched = fields.List(fields.Nested(Unmatched), required=True)
    statistics = fields.Dict(keys=fields.String(), required=True)


class Approved(Answer):
    meeting = fields.Nested(Meeting, required=True)


class RoundProposal(Proposal):
    """A proposal in a round's list, with its request's urgency and waiting time."""

    urgency = _words(URGENCIES, required=True)
    waiting_since = _instant(required=True)


RoundProposalPage = page_of(RoundProposal)


class Booked(Answer):
    proposal_id = fields.Integer(required=True)
    meeting_id = fields.Integer(required=True)


class Refused(Answer):
    proposal_id = fields.Integer(required=True)
    code = fields.String(required=True)
    message = fields.String(required=True)


class BulkApproved(Answer):
    """Each proposal decided on its own: the booked ones, and the others with their reason."""

    approved = fields.List(fields.Nested(Booked), required=True)
    conflicts = fields.List(fields.Nested(Refused), required=True)


# Figures about fewer than five people are null and named in `suppressed`.
def _count(**kwargs) -> fields.Integer:
    return fields.Integer(required=True, allow_none=True, **kwargs)


class Week(Answer):
    week = fields.String(required=True, metadata=DAY | {"description": "its Monday"})
    requests = _count()
    matched = _count(metadata={"description": "requests of the week with a meeting since"})
    meetings = _count()
    cancelled = _count()
    no_show = _count()


class Quantiles(Answer):
    median = fields.Float(required=True, allow_none=True)
    p90 = fields.Float(required=True, allow_none=True)


class LoadBand(Answer):
    sessions = fields.Integer(required=True)
    listeners = _count()


class RatingCount(Answer):
    rating = fields.Integer(required=True)
    count = _count()


class FeedbackFigures(Answer):
    count = _count()
    mean_rating = fields.Float(required=True, allow_none=True)
    ratings = fields.List(fields.Nested(RatingCount))


class EventFigures(Answer):
    sessions = fields.Integer(required=True)
    seats = _count()
    attended = _count()
    attendance_rate = fields.Float(required=True, allow_none=True)
    feedback = fields.Nested(FeedbackFigures, required=True)


class Programme(Answer):
    """The programme's figures between two dates (inclusive)."""

    from_ = fields.String(data_key="from", attribute="from", required=True, metadata=DAY)
    to = fields.String(required=True, metadata=DAY)
    weeks = fields.List(fields.Nested(Week), required=True)
    time_to_first_meeting_hours = fields.Nested(Quantiles, required=True)
    share_matched = fields.Float(required=True, allow_none=True)
    listener_load = fields.List(fields.Nested(LoadBand), required=True)
    feedback = fields.Nested(FeedbackFigures, required=True)
    events = fields.Nested(EventFigures, required=True)
    suppressed = fields.List(fields.String(), required=True)


class Registration(Answer):
    """One person's registration for an event."""

    id = fields.Integer(required=True)
    event_id = fields.Integer(required=True)
    status = _words(REGISTRATION_STATUSES, required=True)
    position = fields.Integer(
        metadata={"minimum": 1, "description": "place on the waiting list (1 is next)"}
    )
    offer_expires = _instant(metadata={"description": "until when an offered seat is held"})


class Event(Answer):
    """A workshop or seminar; `location` only for confirmed registrants, the facilitator
    and coordinators."""

    id = fields.Integer(required=True)
    kind = _words(EVENT_KINDS, required=True)
    title = fields.String(required=True)
    description = fields.String(required=True)
    start = _instant(required=True)
    end = _instant(required=True)
    timezone = fields.String(required=True, metadata={"description": "the zone it was set in"})
    modality = _words(EVENT_MODALITIES, required=True)
    capacity = fields.Integer(required=True)
    seats_left = fields.Integer(required=True, metadata={"minimum": 0})
    status = _words(EVENT_STATUSES, required=True)
    registration_closes = _instant(required=True)
    requires_approval = fields.Boolean(required=True)
    open_to = fields.List(_words(OPEN_TO), required=True)
    facilitator_id = fields.Integer(required=True, allow_none=True)
    location = fields.String(metadata={"description": "the video link or the place"})
    my_registration = fields.Nested(Registration)


EventPage = page_of(Event)


class RosterEntry(Answer):
    """A registration as coordinators and the facilitator see it."""

    id = fields.Integer(required=True)
    user_id = fields.Integer(required=True)
    display_name = fields.String(required=True)
    email = fields.String(metadata={"description": "coordinators only"})
    status = _words(REGISTRATION_STATUSES, required=True)
    number = fields.Integer(required=True, metadata={"description": "order of joining"})
    position = fields.Integer(metadata={"minimum": 1})
    attended = fields.Boolean(required=True, allow_none=True)
    registered_at = _instant(required=True)


RosterEntryPage = page_of(RosterEntry)


class EventRating(Answer):
    id = fields.Integer(required=True)
    event_id = fields.Integer(required=True)
    rating = fields.Integer(required=True)
    comment = fields.String(required=True)
    created_at = _instant(required=True)


class EventFeedback(Answer):
    """Feedback on an event, never with names; below five responses only the count."""

    count = fields.Integer(required=True)
    withheld = fields.Boolean(required=True)
    mean_rating = fields.Float()
    comments = fields.List(fields.String())


class ExportedUser(User):
    created_at = _instant(required=True)
    active = fields.Boolean(required=True)
    email_verified_at = _instant(allow_none=True)


class ConsentText(Answer):
    """What a practitioner or listener agrees to."""

    version = fields.String(required=True)
    text = fields.String(required=True)


class ConsentRecord(Answer):
    version = fields.String(required=True)
    accepted_at = _instant(required=True)


class CheckEmail(Answer):
    """Accepted: the next step is in the mail (the same answer whatever the address)."""

    status = _words(("check_email",), required=True)


class FreeTimes(Answer):
    """The next starts free for both people, earliest first."""

    items = fields.List(_instant(), required=True)


class Export(Answer):
    """Everything stored about the person asking."""

    user = fields.Nested(ExportedUser, required=True)
    consents = fields.List(fields.Nested(ConsentRecord), required=True)
    profile = fields.Nested(Profile, required=True, allow_none=True)
    availability = fields.Nested(Availability, required=True)
    time_off = fields.List(fields.Nested(TimeOff), required=True)
    requests = fields.List(fields.Nested(Request), required=True)
    meetings = fields.List(fields.Nested(Meeting), required=True)
    feedback = fields.List(fields.Nested(GivenFeedback), required=True)
    registrations = fields.List(fields.Nested(Registration), required=True)
    calendar_feed_active = fields.Boolean(required=True)
