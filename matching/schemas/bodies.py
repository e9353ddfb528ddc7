"""What the API takes: the request bodies and query strings, for API, pages and commands.

Each field calls a value parser (matching/services/validate.py); the limits that page
forms also show (maxlength, number ranges) are named here once.
"""

from __future__ import annotations

from marshmallow import ValidationError, fields, validates_schema
from marshmallow.validate import Length

from matching.engine import RULES_BY_CODE
from matching.models import PROPOSAL_STATUSES, REQUEST_STATUSES
from matching.schemas import Schema
from matching.schemas.fields import (
    REQUIRED,
    Choices,
    Clock,
    ConsentVersion,
    Cursor,
    Day,
    EmailAddress,
    Flag,
    Gender,
    HttpsUrl,
    Ids,
    Instant,
    KeysetCursor,
    Language,
    Languages,
    OneOf,
    OptionalText,
    Password,
    Phone,
    Text,
    TimeZone,
    Topics,
    UserIds,
    Whole,
)
from matching.services import validate
from matching.services.accounts import SELF_SERVICE_ROLES
from matching.services.rounds import BULK_LIMIT
from matching.vocabulary import (
    EVENT_KINDS,
    EVENT_MODALITIES,
    FIELDS,
    MODALITIES,
    OPEN_TO,
    RATINGS,
    URGENCIES,
)

NAME_MAX = 80
ORGANIZATION_MAX = 120
GENDER_MAX = 40
NOTE_MAX = 2000
REASON_MAX = 500
COMMENT_MAX = 2000
SESSIONS_PER_WEEK = (1, 10)
SESSIONS_PER_DAY = (1, 4)
MAX_WINDOWS = 50
VIDEO_URL_MAX = 300
PLACE_MAX = 200
PHONE_MAX = validate.PHONE_MAX
TITLE_MAX = 120
DESCRIPTION_MAX = 4000
LOCATION_MAX = 300
CAPACITY = (1, 500)
LARGEST_ID = 2**31 - 1
RULE_CODES = tuple(RULES_BY_CODE)


# --- accounts ---------------------------------------------------------------------


class NewAccount(Schema):
    """A practitioner or listener signing up, agreeing to the current consent text."""

    email = EmailAddress(required=True)
    password = Password(required=True)
    role = OneOf(SELF_SERVICE_ROLES, required=True)
    display_name = Text(max_len=NAME_MAX, fill=True, required=True)
    timezone = TimeZone(required=True)
    consent_version = ConsentVersion(
        required=True, metadata={"description": "the `version` of GET /api/v1/consent"}
    )


class ConsentGiven(Schema):
    """Agreeing to the current consent text."""

    version = ConsentVersion(required=True)


class LinkToken(Schema):
    """The token from a link sent by e-mail."""

    token = fields.String(
        required=True, validate=Length(max=200), error_messages=REQUIRED, load_only=True
    )


class ResetRequest(Schema):
    """Asking for a password-reset link (any text is taken: the answer is the same)."""

    email = fields.String(required=True, validate=Length(max=254), error_messages=REQUIRED)


class ResetConfirmation(LinkToken):
    """A new password, with the token from the reset mail."""

    password = Password(required=True)


class MeUpdate(Schema):
    """My name or zone; fields left out keep their value."""

    display_name = Text(max_len=NAME_MAX, fill=True)
    timezone = TimeZone()


class NewCoordinator(Schema):
    """A coordinator made from the command line."""

    email = EmailAddress(required=True)
    password = Password(required=True)
    display_name = Text(max_len=NAME_MAX, fill=True, required=True)


class Credentials(Schema):
    """An e-mail and password to check (never described further: any text is tried)."""

    email = fields.String(required=True, error_messages=REQUIRED)
    password = fields.String(required=True, load_only=True, error_messages=REQUIRED)


class PasswordCheck(Schema):
    """The account's current password, to confirm a serious step."""

    password = fields.String(required=True, load_only=True, error_messages=REQUIRED)


class PasswordChange(Schema):
    current_password = fields.String(required=True, load_only=True, error_messages=REQUIRED)
    new_password = Password(required=True)


# --- profiles ---------------------------------------------------------------------


class _Profile(Schema):
    languages = Languages()
    modalities = Choices(MODALITIES, min_items=1)
    organization = Text(max_len=ORGANIZATION_MAX)
    topics = Topics()
    do_not_match = UserIds()


class PractitionerProfile(_Profile):
    """A practitioner's profile; the fields given are changed, the others kept."""

    field = OneOf(FIELDS)
    listener_gender = Gender(max_len=GENDER_MAX)
    listener_gender_required = Flag()


class ListenerProfile(_Profile):
    """A listener's profile; the fields given are changed, the others kept."""

    fields_ = Choices(FIELDS, attribute="fields", data_key="fields")
    gender = Gender(max_len=GENDER_MAX)
    max_sessions_per_week = Whole(low=SESSIONS_PER_WEEK[0], high=SESSIONS_PER_WEEK[1])
    max_sessions_per_day = Whole(low=SESSIONS_PER_DAY[0], high=SESSIONS_PER_DAY[1])
    video_url = HttpsUrl(
        max_len=VIDEO_URL_MAX, metadata={"description": "the listener's own video room"}
    )
    place = OptionalText(
        max_len=PLACE_MAX, metadata={"description": "where the listener meets in person"}
    )


PROFILES = {"practitioner": PractitionerProfile, "listener": ListenerProfile}


# --- availability -----------------------------------------------------------------


class Window(Schema):
    """A weekly window in the owner's zone; an end before the start runs past midnight."""

    error_messages = {"type": "Must be an object {weekday, start, end}."}

    weekday = Whole(low=0, high=6, required=True, metadata={"description": "Monday is 0"})
    start = Clock(required=True)
    end = Clock(required=True)

    @validates_schema
    def _not_empty(self, data, **kwargs):
        if data["start"] == data["end"]:
            raise ValidationError("The end must differ from the start.", "end")


class Windows(Schema):
    """The whole weekly availability; it replaces what was there."""

    windows = fields.List(
        fields.Nested(Window),
        required=True,
        validate=Length(max=MAX_WINDOWS, error=f"At most {MAX_WINDOWS} windows."),
        error_messages=REQUIRED | {"invalid": "Must be a list of {{weekday, start, end}}."},
    )


class NewTimeOff(Schema):
    start = Instant(required=True)
    end = Instant(required=True, metadata={"description": "after the start"})


# --- requests ---------------------------------------------------------------------


class NewRequest(Schema):
    """Asking for a listener; modalities default to the practitioner's profile."""

    urgency = OneOf(URGENCIES, load_default="routine")
    topics = Topics(load_default=list)
    modalities = Choices(MODALITIES, min_items=1)
    note = Text(max_len=NOTE_MAX, load_default="", metadata={"description": "coordinators only"})
    phone = Phone(
        load_default=None,
        metadata={
            "description": "needed when phone is the only way to meet; the listener sees "
            "it once a conversation is booked"
        },
    )


class Listing(Schema):
    """Paging through a list: `cursor` is the `next` of the page before."""

    cursor = Cursor()


class RequestListing(Schema):
    """Requests urgent first, then longest waiting; `cursor` is the `next` of the page before."""

    status = OneOf(REQUEST_STATUSES)
    urgency = OneOf(URGENCIES)
    language = Language(metadata={"description": "a language the practitioner speaks"})
    cursor = KeysetCursor()


# --- coordination -----------------------------------------------------------------


class Nothing(Schema):
    """No fields: send {} or no body at all."""


class Verification(Schema):
    training_valid_until = Day(required=True)


class ProposalListing(Schema):
    """A round's proposals urgent first, then longest waiting; without `status`, all."""

    status = OneOf(PROPOSAL_STATUSES)
    urgency = OneOf(URGENCIES)
    cursor = KeysetCursor()


class BulkApproval(Schema):
    proposal_ids = Ids(max_items=BULK_LIMIT, required=True)


class ReportRange(Schema):
    """Dates, inclusive; without them, the last twelve weeks."""

    from_ = Day(data_key="from")
    to = Day()


class Rejection(Schema):
    never_again = Flag(load_default=False, metadata={"description": "never propose this pair"})


class NewPairing(Schema):
    """A request paired with a listener by hand; `override` names rules set aside."""

    request_id = Whole(low=1, high=LARGEST_ID, required=True)
    listener_id = Whole(low=1, high=LARGEST_ID, required=True)
    start = Instant(required=True, metadata={"description": "the session lasts the usual length"})
    override = Choices(
        RULE_CODES,
        max_items=len(RULE_CODES),
        load_default=list,
        metadata={"description": "codes of overridable rules to set aside (needs a note)"},
    )
    note = Text(
        max_len=NOTE_MAX,
        load_default="",
        metadata={"description": "why; required when a rule is overridden"},
    )


# --- meetings ---------------------------------------------------------------------


class Reschedule(Schema):
    start = Instant(required=True)


class Cancellation(Schema):
    reason = Text(max_len=REASON_MAX, load_default="")
    another_listener = Flag(
        load_default=False,
        metadata={
            "description": "practitioners: reopen the request, never with this listener again"
        },
    )


class NewFeedback(Schema):
    rating = Whole(low=min(RATINGS), high=max(RATINGS), required=True)
    comment = Text(max_len=COMMENT_MAX, load_default="")


# --- programme events -------------------------------------------------------------


class NewEvent(Schema):
    """A workshop or seminar; `location` is its https video link or its place."""

    kind = OneOf(EVENT_KINDS, required=True)
    title = Text(max_len=TITLE_MAX, fill=True, required=True)
    description = Text(max_len=DESCRIPTION_MAX, load_default="")
    start = Instant(required=True)
    end = Instant(required=True, metadata={"description": "after the start"})
    timezone = TimeZone(metadata={"description": "the zone the time is shown in (default: yours)"})
    modality = OneOf(EVENT_MODALITIES, required=True)
    location = Text(max_len=LOCATION_MAX, fill=True, required=True)
    capacity = Whole(low=CAPACITY[0], high=CAPACITY[1], required=True)
    registration_closes = Instant(required=True, metadata={"description": "at or before the start"})
    requires_approval = Flag(load_default=False)
    open_to = Choices(OPEN_TO, min_items=1, load_default=lambda: ["practitioner"])
    facilitator_id = Whole(
        low=1,
        high=LARGEST_ID,
        allow_none=True,
        load_default=None,
        metadata={"description": "a listener or a coordinator"},
    )


class EventChange(NewEvent):
    """Any of an event's fields; the others keep their value."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("partial", True)
        super().__init__(*args, **kwargs)


class Attendance(Schema):
    attended = Flag(required=True)
