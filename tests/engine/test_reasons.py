from datetime import time

import pytest

from matching.engine import Window, language_name, propose

from .helpers import listener, params, request


def test_proposal_reasons_come_from_the_score_parts():
    req = request(
        timezone="Europe/Berlin",
        languages=frozenset({"es", "en"}),
        field="social_work",
        modalities=frozenset({"video", "in_person"}),
        topics=frozenset({"grief", "burnout", "violence"}),
        past_ratings=((1, 5),),
    )
    lis = listener(
        languages=frozenset({"es"}),
        fields=frozenset({"social_work"}),
        modalities=frozenset({"video", "in_person", "phone"}),
        topics=frozenset({"grief", "burnout"}),
    )
    (proposal,) = propose([req], [lis], params()).proposals
    reasons = proposal.reasons
    assert "both speak Spanish" in reasons
    assert "both worked in social work" in reasons
    assert "can meet by video or in person" in reasons
    assert "2 of 3 topics in common" in reasons
    assert "met before and rated it well" in reasons
    assert "earliest shared time Tue 3 Mar 09:00 (Europe/Berlin)" in reasons
    assert {p.name for p in proposal.parts} == {
        "field", "topics", "continuity", "urgency", "earliness", "load"
    }  # fmt: skip


def test_unknown_language_codes_are_shown_as_given():
    assert language_name("pl") == "Polish"
    assert language_name("xx") == "xx"


def diagnosis(req, listeners) -> str:
    result = propose([req], listeners, params())
    assert result.proposals == ()
    (unmatched,) = result.unmatched
    return "; ".join(unmatched.reasons)


@pytest.mark.parametrize(
    ("req", "listeners", "expected"),
    [
        (request(languages=frozenset({"pl"})), [listener()], "no verified listener speaks Polish"),
        (
            request(modalities=frozenset({"phone"})),
            [listener()],
            "no listener who speaks English offers phone",
        ),
        (
            request(organization="Riverside Hospital"),
            [listener()],
            "only listeners from your own organisation fit",
        ),
        (
            request(listener_gender="woman", listener_gender_required=True),
            [listener(gender="man")],
            "a stated preference about the listener could not be met",
        ),
        (
            request(windows=(Window(0, time(6), time(7)),)),
            [listener(1), listener(2), listener(3)],
            "no shared time in the next 14 days — 3 listeners would fit on everything else",
        ),
        (request(), [listener(max_per_week=0)], "the 1 listener who fits is at the weekly limit"),
        (
            request(),
            [listener(1, max_per_week=0), listener(2, max_per_week=0)],
            "the 2 listeners who fit are at their weekly limit",
        ),
    ],
)
def test_unmatched_requests_say_what_binds(req, listeners, expected):
    assert diagnosis(req, listeners) == expected


def test_losing_the_competition_is_named():
    one_block = (Window(2, time(10), time(11)),)
    lis = listener(windows=one_block)
    result = propose([request(1), request(2)], [lis], params(horizon_days=4))
    (unmatched,) = result.unmatched
    assert unmatched.reasons == (
        "1 listener fit, but all were needed for other requests in this round",
    )


def test_reasons_never_mention_gender():
    req = request(listener_gender="woman", listener_gender_required=True)
    result = propose([req], [listener(gender="woman")], params())
    assert not any("woman" in r or "gender" in r for r in result.proposals[0].reasons)
