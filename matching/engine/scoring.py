"""The soft score: 0-100 points from named parts, integers only.

Each weight in ``Weights`` is the most a part can give. Integer points keep the flow
network on integer costs (the network simplex can cycle on float costs).

The parts:

- field: the request's professional field is among the listener's fields;
- topics: share of the request's topics the listener knows (none asked: no points);
- continuity: the practitioner met this listener before and rated it 4 or 5;
- urgency: two thirds for the level (routine 0, soon 1, urgent 2 of 2) and one third
  for days waiting since the request was made, counted up to 14 days;
- earliness: full points at the earliest allowed start, falling linearly to zero over
  3 days (urgent), 7 days (soon) or the whole horizon (routine), so the time of the
  session weighs more when the request is urgent;
- load: full points when the listener has nothing booked in the slot's local week,
  falling with each session towards the weekly cap (spreads the load). Sessions
  proposed in the same round count too: a listener's sessions of one week in a
  round, in order of start, count the booked ones and those before them. The solver
  charges this on the week's arcs to the sink (``spread_costs``), so the flow prefers
  a listener with a free week to a second session for someone else.

Earliness never rises with a later start and load is the same all week, so for one
pair the score never rises with a later start inside a week; the solver's pruning
relies on that.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from matching.engine.model import Listener, Params, Request, ScorePart
from matching.vocabulary import URGENCIES

URGENCY_LEVEL = {urgency: level for level, urgency in enumerate(URGENCIES)}  # routine 0
WAIT_CAP_DAYS = 14
EARLINESS_DAYS = {"urgent": 3, "soon": 7}
# Urgencies by how fast earliness decays; any other urgency decays like "routine".
EARLINESS_CLASSES = ("routine", *EARLINESS_DAYS)
GOOD_RATING = 4


def _ratio(weight: int, numerator: int, denominator: int) -> int:
    """Return weight * numerator / denominator rounded half up, in integers."""
    if denominator <= 0:
        return 0
    return (2 * weight * numerator + denominator) // (2 * denominator)


def field_key(name: str) -> str:
    """Return a professional field reduced for comparison."""
    return name.casefold().strip()


def field_points(request: Request, listener: Listener, params: Params) -> int:
    """Points for a shared professional field."""
    wanted = field_key(request.field)
    shared = bool(wanted) and any(wanted == field_key(f) for f in listener.fields)
    return params.weights.field if shared else 0


def shared_topics(request: Request, listener: Listener) -> frozenset[str]:
    """Return the request's topics that the listener knows."""
    return request.topics & listener.topics


def topic_points(request: Request, listener: Listener, params: Params) -> int:
    """Points for the share of the request's topics that the listener covers."""
    return topic_share_points(len(shared_topics(request, listener)), len(request.topics), params)


def topic_share_points(shared: int, asked: int, params: Params) -> int:
    """Points for ``shared`` of ``asked`` topics in common (none asked: no points)."""
    return _ratio(params.weights.topics, shared, asked)


def rated_well(request: Request, listener: Listener) -> bool:
    """Tell whether the practitioner rated an earlier session with this listener well."""
    return any(lid == listener.id and rating >= GOOD_RATING for lid, rating in request.past_ratings)


def continuity_points(request: Request, listener: Listener, params: Params) -> int:
    """Points for meeting a listener the practitioner already rated well."""
    return params.weights.continuity if rated_well(request, listener) else 0


def days_waiting(request: Request, params: Params) -> int:
    """Return whole days since the request was made (0 when unknown)."""
    if request.created_at is None:
        return 0
    return max(0, (params.now - request.created_at) // timedelta(days=1))


def urgency_points(request: Request, params: Params) -> int:
    """Points for urgency and waiting time; the same for every candidate of a request."""
    level = URGENCY_LEVEL.get(request.urgency, 0)
    waited = min(days_waiting(request, params), WAIT_CAP_DAYS)
    return (params.weights.urgency * (level * WAIT_CAP_DAYS + waited)) // (3 * WAIT_CAP_DAYS)


def earliness_class(urgency: str) -> str:
    """Return the member of EARLINESS_CLASSES whose earliness an urgency follows."""
    return urgency if urgency in EARLINESS_DAYS else "routine"


def earliness_points(request: Request, start: datetime, params: Params) -> int:
    """Points for an early start; the decay is steeper when the request is urgent."""
    return earliness_at(request.urgency, start, params)


def earliness_at(urgency: str, start: datetime, params: Params) -> int:
    """Earliness points of a start for a request of this urgency."""
    earliest = params.now + timedelta(hours=params.min_notice_hours)
    span_days = EARLINESS_DAYS.get(urgency, params.horizon_days)
    span = max(1, span_days * 24 * 60)
    late = max(0, (start - earliest) // timedelta(minutes=1))
    return _ratio(params.weights.earliness, max(0, span - late), span)


def load_points(listener: Listener, booked_that_week: int, params: Params) -> int:
    """Points for a listener with few sessions in the slot's week."""
    cap = listener.max_per_week
    return _ratio(params.weights.load, max(0, cap - booked_that_week), cap)


def spread_costs(listener: Listener, booked_that_week: int, left: int, params: Params) -> list[int]:
    """Return the load points lost by the 1st, 2nd, ... session a round adds to a week.

    Entry i is load_points(booked) - load_points(booked + i): a round's first session
    in the week loses nothing against its arc's score, the second loses the step to
    one more session, and so on. Load points never rise with more sessions, so the
    list never falls, and a min-cost flow fills a week's arcs in order.
    """
    full = load_points(listener, booked_that_week, params)
    return [full - load_points(listener, booked_that_week + i, params) for i in range(left)]


def pair_points(request: Request, listener: Listener, params: Params) -> tuple[int, int, int, int]:
    """Return the parts that do not depend on the start: field, topics, continuity, urgency."""
    return (
        field_points(request, listener, params),
        topic_points(request, listener, params),
        continuity_points(request, listener, params),
        urgency_points(request, params),
    )


class PairPoints:
    """The points of ``pair_points``, summed, for one request and many listeners at once.

    A round scores hundreds of thousands of pairs: the listeners' fields and topics are
    prepared once per round and the request's once per request, so that each pair
    costs a few integer operations. tests/engine/test_scoring.py keeps this equal to
    ``sum(pair_points(...))``.
    """

    def __init__(self, listeners: Sequence[Listener], params: Params):
        self.params = params
        self.topic_bit: dict[str, int] = {}
        for lis in listeners:
            for topic in lis.topics:
                self.topic_bit.setdefault(topic, 1 << len(self.topic_bit))
        self.topics = [sum(self.topic_bit[t] for t in lis.topics) for lis in listeners]
        self.fields = [frozenset(field_key(f) for f in lis.fields) for lis in listeners]
        self.ids = [lis.id for lis in listeners]

    def points(self, request: Request, listeners: Sequence[int]) -> list[int]:
        """Return field + topics + continuity + urgency for each listener index given."""
        params = self.params
        weights = params.weights
        asked = len(request.topics)
        table = [topic_share_points(k, asked, params) for k in range(asked + 1)]
        wanted_topics = sum(self.topic_bit.get(t, 0) for t in request.topics)
        wanted = field_key(request.field)
        field = weights.field if wanted else 0
        well_rated = {lid for lid, rating in request.past_ratings if rating >= GOOD_RATING}
        continuity = weights.continuity
        urgent = urgency_points(request, params)
        found = []
        for li in listeners:
            points = urgent + table[(wanted_topics & self.topics[li]).bit_count()]
            if field and wanted in self.fields[li]:
                points += field
            if well_rated and self.ids[li] in well_rated:
                points += continuity
            found.append(points)
        return found


def score_parts(
    request: Request,
    listener: Listener,
    start: datetime,
    params: Params,
    *,
    booked_that_week: int = 0,
) -> tuple[ScorePart, ...]:
    """Return the named parts of the score of a candidate."""
    field, topics, continuity, urgency = pair_points(request, listener, params)
    return (
        ScorePart("field", field),
        ScorePart("topics", topics),
        ScorePart("continuity", continuity),
        ScorePart("urgency", urgency),
        ScorePart("earliness", earliness_points(request, start, params)),
        ScorePart("load", load_points(listener, booked_that_week, params)),
    )


def total(parts: tuple[ScorePart, ...]) -> int:
    """Return the score of the parts, kept within 0-100."""
    return max(0, min(100, sum(part.points for part in parts)))
