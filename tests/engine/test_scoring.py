from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from matching.engine import Weights
from matching.engine.scoring import (
    EARLINESS_CLASSES,
    PairPoints,
    earliness_at,
    earliness_class,
    earliness_points,
    pair_points,
)

from .helpers import NOW, listener, params, request

FIELDS = ("nursing", " Nursing", "social work", "")
TOPICS = ("grief", "burnout", "violence", "moral injury")


@st.composite
def rounds(draw):
    weights = Weights(
        field=draw(st.integers(0, 25)),
        topics=draw(st.integers(0, 25)),
        continuity=draw(st.integers(0, 10)),
        urgency=draw(st.integers(0, 10)),
    )
    p = params(weights=weights)
    listeners = [
        listener(
            id=i + 1,
            fields=frozenset(draw(st.sets(st.sampled_from(FIELDS), max_size=2))),
            topics=frozenset(draw(st.sets(st.sampled_from(TOPICS), max_size=3))),
        )
        for i in range(draw(st.integers(1, 5)))
    ]
    req = request(
        field=draw(st.sampled_from(FIELDS)),
        topics=frozenset(draw(st.sets(st.sampled_from((*TOPICS, "unknown")), max_size=3))),
        urgency=draw(st.sampled_from(("routine", "soon", "urgent", "other"))),
        created_at=NOW - timedelta(days=draw(st.integers(0, 30))),
        past_ratings=tuple(
            (lid, draw(st.integers(1, 5))) for lid in draw(st.sets(st.integers(1, 6), max_size=3))
        ),
    )
    return req, listeners, p


@settings(max_examples=300, deadline=None)
@given(rounds())
def test_batched_pair_points_equal_the_per_pair_parts(instance):
    req, listeners, p = instance
    chosen = list(range(len(listeners)))[::-1]
    batched = PairPoints(listeners, p).points(req, chosen)
    assert batched == [sum(pair_points(req, listeners[li], p)) for li in chosen]


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(("routine", "soon", "urgent", "other")), st.integers(0, 60 * 24 * 20))
def test_earliness_by_class_equals_earliness_of_the_request(urgency, minutes):
    p = params()
    start = NOW + timedelta(minutes=minutes)
    assert earliness_class(urgency) in EARLINESS_CLASSES
    expected = earliness_points(request(urgency=urgency), start, p)
    assert earliness_at(earliness_class(urgency), start, p) == expected
