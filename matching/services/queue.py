"""The coordinator's queue: requests waiting for a listener, and one request's story.

Rows are plain tuples read with one query per page, so a view (a page now, the JSON
API later) only formats them.
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta

from sqlalchemy import bindparam
from sqlalchemy.orm import aliased, joinedload

from matching.errors import NotFound
from matching.extensions import db
from matching.models import (
    REQUEST_STATUSES,
    Feedback,
    MatchingRound,
    Meeting,
    PractitionerProfile,
    Proposal,
    SupportRequest,
    User,
    now_utc,
)
from matching.services import paging, requests
from matching.vocabulary import URGENCIES


def waiting_words(since: datetime, now: datetime | None = None) -> str:
    """How long someone has waited, in words a tired person reads at a glance."""
    elapsed = (now or now_utc()) - since
    days = elapsed // timedelta(days=1)
    hours = elapsed // timedelta(hours=1)
    if days >= 14:
        weeks = days // 7
        return f"waiting {weeks} weeks"
    if days >= 1:
        return "waiting 1 day" if days == 1 else f"waiting {days} days"
    if hours >= 1:
        return "waiting 1 hour" if hours == 1 else f"waiting {hours} hours"
    return "waiting less than an hour"


def queue_filters(args) -> dict:
    """Queue filters from a query string; unknown values fall back to the defaults."""
    return paging.filters(args, statuses=REQUEST_STATUSES, default="open")


def list_queue(
    *,
    status: str | None = "open",
    urgency: str | None = None,
    language: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
    counted: bool = True,
) -> paging.Page:
    """Requests in a status (None: all), urgent first, then longest waiting; a page and the total.

    Keyset pages (see services/paging.py): while people are being matched, requests
    leave the open queue, and the next page still starts right after the last row seen.
    Without ``counted`` the total is not asked for (None).
    """
    values = {
        "status": status,
        "urgency": urgency,
        "language": paging.language_pattern(language) if language else None,
        "limit": limit + 1,
    }
    flags = (bool(status), bool(urgency), bool(language))
    total = db.session.scalar(_queue_count(*flags), values) if counted else None
    after = paging.decode(cursor)
    if after is not None:
        values |= paging.after_values(after)
    rows = db.session.execute(_queue_page(*flags, after is not None), values).all()
    return paging.page_from(rows, limit, total)


def queue_answer(
    *,
    status: str | None,
    urgency: str | None = None,
    language: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[dict], str | None]:
    """The API's page of the queue: each request as the API shows it, with its waiting time."""
    page = list_queue(
        status=status, urgency=urgency, language=language, cursor=cursor, limit=limit, counted=False
    )
    items = requests.request_dicts(page.items)  # the rows carry what an answer shows
    now = now_utc()
    for item, row in zip(items, page.items, strict=True):
        item["waiting_since"] = row.waiting_since.isoformat()
        item["waiting"] = waiting_words(row.waiting_since, now)
    return items, page.next


_RANK = paging.urgency_rank(SupportRequest.urgency)


def _queue_keys(by_status: bool, by_urgency: bool, by_language: bool):
    """The sort keys of the requests under the filters used (values bound).

    The profile is joined outer: a person who erased their account has none, and their
    requests stay listed (a language filter leaves them out).
    """
    keys = db.select(
        SupportRequest.id.label("id"),
        _RANK.label("rank"),
        SupportRequest.created_at.label("since"),
    ).outerjoin(PractitionerProfile, PractitionerProfile.user_id == SupportRequest.practitioner_id)
    if by_status:
        keys = keys.where(SupportRequest.status == bindparam("status"))
    if by_urgency:
        keys = keys.where(SupportRequest.urgency == bindparam("urgency"))
    if by_language:
        keys = keys.where(paging.speaks(PractitionerProfile.languages, bindparam("language")))
    return keys


@functools.cache
def _queue_count(by_status: bool, by_urgency: bool, by_language: bool):
    return _queue_keys(by_status, by_urgency, by_language).with_only_columns(db.func.count())


@functools.cache
def _queue_page(by_status: bool, by_urgency: bool, by_language: bool, after: bool):
    """One page of the queue, built once per combination of filters (values bound).

    The page's rows are chosen on the sort key alone; only they are joined and read.
    """
    page = paging.narrow_page(
        _queue_keys(by_status, by_urgency, by_language),
        (_RANK, SupportRequest.created_at, SupportRequest.id),
        after=after,
    )
    return (
        _QUEUE_ROWS.join(page, page.c.id == SupportRequest.id)
        .add_columns(page.c.rank)
        .order_by(page.c.rank, page.c.since, page.c.id)
    )


_QUEUE_ROWS = (
    db.select(
        SupportRequest.id,
        SupportRequest.urgency,
        SupportRequest.status,
        SupportRequest.topics,
        SupportRequest.modalities,
        SupportRequest.created_at,
        SupportRequest.created_at.label("waiting_since"),
        User.id.label("practitioner_id"),
        User.display_name.label("practitioner_name"),
        User.timezone.label("practitioner_timezone"),
        PractitionerProfile.languages,
        PractitionerProfile.field,
    )
    .join(User, User.id == SupportRequest.practitioner_id)
    .outerjoin(PractitionerProfile, PractitionerProfile.user_id == User.id)
)


# Built once: the overview runs it on every view.
_COUNTS = db.select(SupportRequest.status, SupportRequest.urgency, db.func.count()).group_by(
    SupportRequest.status, SupportRequest.urgency
)


def queue_counts() -> dict:
    """Requests per status, and open ones per urgency, from one grouped query."""
    by_status = {status: 0 for status in REQUEST_STATUSES}
    open_by_urgency = {urgency: 0 for urgency in URGENCIES}
    rows = db.session.execute(_COUNTS).all()
    for status, urgency, n in rows:
        by_status[status] = by_status.get(status, 0) + n
        if status == "open":
            open_by_urgency[urgency] = open_by_urgency.get(urgency, 0) + n
    return {"status": by_status, "open_by_urgency": open_by_urgency}


# The request page's queries, built once. The request comes with its practitioner and
# their profile in one query.
_STORY_PEOPLE = (
    db.select(SupportRequest, User)
    .join(User, User.id == SupportRequest.practitioner_id)
    .where(SupportRequest.id == bindparam("request_id"))
    .options(joinedload(User.practitioner_profile))
)
_STORY_LISTENER = aliased(User)
_STORY_PROPOSALS = (
    db.select(
        Proposal.id,
        Proposal.round_id,
        Proposal.start_at,
        Proposal.score,
        Proposal.status,
        Proposal.never_again,
        Proposal.reasons,
        MatchingRound.created_at.label("round_at"),
        _STORY_LISTENER.display_name.label("listener_name"),
    )
    .join(MatchingRound, MatchingRound.id == Proposal.round_id)
    .join(_STORY_LISTENER, _STORY_LISTENER.id == Proposal.listener_id)
    .where(Proposal.request_id == bindparam("request_id"))
    .order_by(Proposal.id)
)
_STORY_MEETINGS = (
    db.select(
        Meeting.id,
        Meeting.start_at,
        Meeting.status,
        Meeting.cancel_reason,
        _STORY_LISTENER.display_name.label("listener_name"),
        _STORY_LISTENER.id.label("listener_id"),
    )
    .join(_STORY_LISTENER, _STORY_LISTENER.id == Meeting.listener_id)
    .where(Meeting.request_id == bindparam("request_id"))
    .order_by(Meeting.start_at, Meeting.id)
)


def request_story(actor: User, request_id: int) -> dict:
    """A request for a coordinator: the person, the private note, proposals, meetings, feedback.

    Reading the private note is audited (without its text). The caller commits.
    """
    found = db.session.execute(_STORY_PEOPLE, {"request_id": request_id}).first()
    if found is None:
        raise NotFound("No such request.")
    req, practitioner = found
    profile = practitioner.practitioner_profile
    proposals = db.session.execute(_STORY_PROPOSALS, {"request_id": req.id}).all()
    meetings = db.session.execute(_STORY_MEETINGS, {"request_id": req.id}).all()
    feedback: dict[int, list] = {m.id: [] for m in meetings}
    if meetings:
        for row in db.session.execute(
            db.select(
                Feedback.meeting_id,
                Feedback.rating,
                Feedback.comment,
                Feedback.created_at,
                User.role.label("author_role"),
            )
            .join(User, User.id == Feedback.author_id)
            .where(Feedback.meeting_id.in_(list(feedback)))
            .order_by(Feedback.id)
        ):
            feedback[row.meeting_id].append(row)
    if req.note:
        requests.record_note_views(actor, [req.id])
    return {
        "request": req,
        "practitioner": practitioner,
        "profile": profile,
        "proposals": proposals,
        "meetings": meetings,
        "feedback": feedback,
    }
