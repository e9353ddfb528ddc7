"""Turn database rows into the matching engine's frozen dataclasses.

Everything is loaded in a handful of queries, whatever the number of people, so a
round over thousands of requests does not issue a query per person.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func
from sqlalchemy.orm import selectinload

from matching import engine
from matching.extensions import db
from matching.models import (
    AvailabilityWindow,
    Feedback,
    ListenerProfile,
    Meeting,
    Proposal,
    RequestExclusion,
    SupportRequest,
    TimeOff,
    User,
    now_utc,
)
from matching.services import bookings

# Sessions this far back still count against this week's caps.
CAP_LOOKBACK = timedelta(days=8)


def params(now: datetime | None = None) -> engine.Params:
    """Matching parameters from configuration."""
    cfg = current_app.config
    return engine.Params(
        now=now or now_utc(),
        horizon_days=cfg["MATCH_HORIZON_DAYS"],
        session_minutes=cfg["MATCH_SESSION_MINUTES"],
        buffer_minutes=cfg["MATCH_BUFFER_MINUTES"],
        min_notice_hours=cfg["MATCH_MIN_NOTICE_HOURS"],
        weights=engine.Weights(**cfg["MATCH_WEIGHTS"]),
    )


class _Context:
    """Windows, time off and booked sessions of a set of people, loaded in bulk."""

    def __init__(
        self,
        user_ids: Iterable[int],
        now: datetime,
        *,
        skip_proposal: int | None = None,
        skip_meeting: int | None = None,
        skip_request: int | None = None,
    ):
        ids = sorted(set(user_ids))
        self.windows: dict[int, list[engine.Window]] = defaultdict(list)
        self.time_off: dict[int, list[engine.Interval]] = defaultdict(list)
        self.booked: dict[int, list[engine.Interval]] = defaultdict(list)
        self.held: dict[int, list[engine.Interval]] = defaultdict(list)
        if not ids:
            return
        for w in db.session.scalars(
            db.select(AvailabilityWindow)
            .where(AvailabilityWindow.user_id.in_(ids))
            .order_by(
                AvailabilityWindow.user_id,
                AvailabilityWindow.weekday,
                AvailabilityWindow.start_local,
            )
        ):
            self.windows[w.user_id].append(engine.Window(w.weekday, w.start_local, w.end_local))
        for t in db.session.scalars(
            db.select(TimeOff)
            .where(TimeOff.user_id.in_(ids))
            .where(TimeOff.end_at > now - CAP_LOOKBACK)
        ):
            self.time_off[t.user_id].append(engine.Interval(t.start_at, t.end_at))
        # Busy times are the people's active holds: conversations block time and count
        # against the limits; other holds (workshop seats, facilitating) only block time.
        for uid, start, end in bookings.busy_times(
            ids, now - CAP_LOOKBACK, skip_meeting=skip_meeting
        ):
            self.booked[uid].append(engine.Interval(start, end))
        for uid, start, end in bookings.held_times(ids, now - CAP_LOOKBACK):
            self.held[uid].append(engine.Interval(start, end))
        pending = (
            db.select(
                Proposal.listener_id,
                SupportRequest.practitioner_id,
                Proposal.start_at,
                Proposal.end_at,
            )
            .join(SupportRequest, SupportRequest.id == Proposal.request_id)
            .where(Proposal.status == "pending")
            .where(Proposal.listener_id.in_(ids) | SupportRequest.practitioner_id.in_(ids))
        )
        if skip_proposal is not None:
            pending = pending.where(Proposal.id != skip_proposal)
        if skip_request is not None:
            pending = pending.where(Proposal.request_id != skip_request)
        for listener_id, practitioner_id, start, end in db.session.execute(pending):
            for uid in (listener_id, practitioner_id):
                self.booked[uid].append(engine.Interval(start, end))

    def _times(self, user_id: int) -> dict:
        """A person's weekly windows and, in order, time off, booked and held times."""
        return {
            "windows": tuple(self.windows[user_id]),
            "time_off": _in_order(self.time_off[user_id]),
            "booked": _in_order(self.booked[user_id]),
            "held": _in_order(self.held[user_id]),
        }

    def listener(self, user: User) -> engine.Listener:
        lp: ListenerProfile = user.listener_profile
        return engine.Listener(
            id=user.id,
            timezone=user.timezone,
            organization=lp.organization,
            languages=frozenset(lp.languages),
            modalities=frozenset(lp.modalities),
            fields=frozenset(lp.fields),
            topics=frozenset(lp.topics),
            gender=lp.gender,
            max_per_week=lp.max_sessions_per_week,
            max_per_day=lp.max_sessions_per_day,
            **self._times(user.id),
            do_not_match=frozenset(lp.do_not_match),
            active=user.active,
            verified=lp.verified,
            training_valid_until=lp.training_valid_until,
            paused_until=lp.paused_until,
        )

    def request(
        self, req: SupportRequest, excluded: frozenset[int], ratings: dict[int, int]
    ) -> engine.Request:
        user = req.practitioner
        pp = user.practitioner_profile
        return engine.Request(
            id=req.id,
            practitioner_id=user.id,
            timezone=user.timezone,
            organization=pp.organization,
            field=pp.field,
            languages=frozenset(pp.languages),
            modalities=frozenset(req.modalities),
            topics=frozenset(req.topics),
            urgency=req.urgency,
            created_at=req.created_at,
            listener_gender=pp.listener_gender,
            listener_gender_required=pp.listener_gender_required,
            do_not_match=frozenset(pp.do_not_match),
            excluded_listeners=excluded,
            past_ratings=tuple(sorted(ratings.items())),
            **self._times(user.id),
        )


def _exclusions(requests: list[SupportRequest]) -> dict[int, frozenset[int]]:
    """Listeners each request must not get: rejected or replaced for it, or never again."""
    if not requests:
        return {}
    ids = [r.id for r in requests]
    practitioners = {r.id: r.practitioner_id for r in requests}
    rows = db.session.execute(
        db.select(
            Proposal.request_id,
            Proposal.listener_id,
            Proposal.never_again,
            SupportRequest.practitioner_id,
        )
        .join(SupportRequest, SupportRequest.id == Proposal.request_id)
        .where(Proposal.status == "rejected")
        .where(
            Proposal.request_id.in_(ids)
            | SupportRequest.practitioner_id.in_(practitioners.values())
        )
    ).all()
    by_request: dict[int, set[int]] = defaultdict(set)
    never: dict[int, set[int]] = defaultdict(set)
    for request_id, listener_id, never_again, practitioner_id in rows:
        if request_id in practitioners:
            by_request[request_id].add(listener_id)
        if never_again:
            never[practitioner_id].add(listener_id)
    for request_id, listener_id in db.session.execute(
        db.select(RequestExclusion.request_id, RequestExclusion.listener_id).where(
            RequestExclusion.request_id.in_(ids)
        )
    ):
        by_request[request_id].add(listener_id)
    return {r.id: frozenset(by_request[r.id] | never[r.practitioner_id]) for r in requests}


def _ratings(practitioner_ids: list[int]) -> dict[int, dict[int, int]]:
    """Each practitioner's best rating of each listener they met."""
    if not practitioner_ids:
        return {}
    rows = db.session.execute(
        db.select(Feedback.author_id, Meeting.listener_id, func.max(Feedback.rating))
        .join(Meeting, Meeting.id == Feedback.meeting_id)
        .where(Feedback.author_id.in_(practitioner_ids))
        .where(Meeting.practitioner_id == Feedback.author_id)
        .group_by(Feedback.author_id, Meeting.listener_id)
    ).all()
    result: dict[int, dict[int, int]] = defaultdict(dict)
    for author, listener, rating in rows:
        result[author][listener] = rating
    return result


def round_inputs(now: datetime) -> tuple[list[engine.Request], list[engine.Listener]]:
    """Every open request and every listener with a profile, as engine inputs."""
    requests = list(
        db.session.scalars(
            db.select(SupportRequest)
            .where(SupportRequest.status == "open")
            .join(User, User.id == SupportRequest.practitioner_id)
            .where(User.active.is_(True))
            .order_by(SupportRequest.id)
        )
    )
    listeners = list(
        db.session.scalars(
            db.select(User)
            .where(User.role == "listener")
            .where(User.active.is_(True))
            .order_by(User.id)
        )
    )
    # Keep the preloaded users referenced: the session holds its objects only weakly.
    people = _preload_profiles([r.practitioner_id for r in requests], [u.id for u in listeners])
    ctx = _Context([r.practitioner_id for r in requests] + [u.id for u in listeners], now)
    excluded = _exclusions(requests)
    ratings = _ratings([r.practitioner_id for r in requests])
    inputs = (
        [ctx.request(r, excluded[r.id], ratings.get(r.practitioner_id, {})) for r in requests],
        [ctx.listener(u) for u in listeners if u.listener_profile is not None],
    )
    del people
    return inputs


def _preload_profiles(practitioner_ids: list[int], listener_ids: list[int]) -> list[User]:
    """Load users and their profiles in a few queries instead of one per person."""
    ids = sorted(set(practitioner_ids) | set(listener_ids))
    if not ids:
        return []
    return list(
        db.session.scalars(
            db.select(User)
            .where(User.id.in_(ids))
            .options(selectinload(User.practitioner_profile), selectinload(User.listener_profile))
        )
    )


def pair_inputs(
    req: SupportRequest,
    listener: User,
    now: datetime,
    *,
    skip_proposal: int | None = None,
    skip_meeting: int | None = None,
    skip_request: int | None = None,
) -> tuple[engine.Request, engine.Listener]:
    """One request and one listener as engine inputs, for re-checking a concrete time.

    ``skip_request`` leaves out the pending proposals of that request (a coordinator
    pairing it by hand replaces them).
    """
    ctx = _Context(
        [req.practitioner_id, listener.id],
        now,
        skip_proposal=skip_proposal,
        skip_meeting=skip_meeting,
        skip_request=skip_request,
    )
    excluded = _exclusions([req]).get(req.id, frozenset())
    ratings = _ratings([req.practitioner_id]).get(req.practitioner_id, {})
    return ctx.request(req, excluded, ratings), ctx.listener(listener)


def _in_order(intervals) -> tuple:
    return tuple(sorted(intervals, key=lambda i: i.start))


def request_and_listeners(
    req: SupportRequest, now: datetime
) -> tuple[engine.Request, list[tuple[User, engine.Listener]]]:
    """One request and every active listener as engine inputs, in a fixed number of queries.

    The request's own pending proposals are left out (it is being paired by hand).
    Each listener comes with its row, for names; ordered by name, then id.
    """
    users = list(
        db.session.scalars(
            db.select(User)
            .where(User.role == "listener")
            .where(User.active.is_(True))
            .order_by(User.display_name, User.id)
        )
    )
    people = _preload_profiles([req.practitioner_id], [u.id for u in users])
    ctx = _Context([req.practitioner_id] + [u.id for u in users], now, skip_request=req.id)
    excluded = _exclusions([req]).get(req.id, frozenset())
    ratings = _ratings([req.practitioner_id]).get(req.practitioner_id, {})
    inputs = (
        ctx.request(req, excluded, ratings),
        [(u, ctx.listener(u)) for u in users if u.listener_profile is not None],
    )
    del people
    return inputs
