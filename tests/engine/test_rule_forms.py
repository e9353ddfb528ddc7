"""Every hard rule in the registry: its set form agrees with its scalar form.

These tests walk ``RULES``, so a rule added to the registry is checked here without a
line changed: the listeners its sieve lets through are those ``breaks`` passes, and
the starts its refused or allowed ranges leave free are those ``breaks`` passes.
"""

from datetime import UTC, date, datetime, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from matching.engine import RULES, RULES_BY_CODE, Interval, Window, explain, messages
from matching.engine.rule_kinds import (
    LISTENER,
    PRACTITIONER,
    ROUND,
    Funnel,
    LimitRule,
    StartRule,
    WindowRule,
    free_starts,
    local_day,
)
from matching.engine.slots import instant, seconds
from matching.engine.solver import LEVELS

from .helpers import NOW, listener, params, request

ZONES = ("UTC", "Asia/Tokyo", "America/New_York", "Europe/Berlin")
DAY = 24 * 3600
# POST /api/v1/pairings (README.md): never overridable, and overridable with a note. A
# request's excluded listeners stay never overridable, like do-not-match: they are a
# person's explicit no.
NEVER_OVERRIDABLE = {
    "listener_status",
    "paused",
    "training",
    "organization",
    "do_not_match",
    "excluded",
    "listener_time_off",
    "practitioner_time_off",
    "listener_busy",
    "practitioner_busy",
}
OVERRIDABLE = {
    "language",
    "modality",
    "gender",
    "notice",
    "horizon",
    "outside_listener_times",
    "outside_practitioner_times",
    "daily_limit",
    "weekly_limit",
}


def test_codes_are_unique_snake_case_and_each_rule_speaks():
    codes = [rule.code for rule in RULES]
    assert len(set(codes)) == len(codes) == len(RULES_BY_CODE)
    assert all(code.isidentifier() and code == code.lower() for code in codes)
    p = params()
    for rule in RULES:
        assert rule.text(p).strip()
        if rule.sieve([], p) is not None:  # a funnel rule tells an unmatched request why
            assert rule.diagnose(request(), p).strip()


def test_overriding_follows_api_md():
    assert (NEVER_OVERRIDABLE | OVERRIDABLE).issubset(RULES_BY_CODE)
    assert not any(RULES_BY_CODE[code].overridable for code in NEVER_OVERRIDABLE)
    assert all(RULES_BY_CODE[code].overridable for code in OVERRIDABLE)


def test_every_limit_rule_is_a_level_of_the_network():
    assert {rule for rule in RULES if isinstance(rule, LimitRule)} == set(LEVELS)


def test_codes_become_sentences_in_the_order_given():
    p = params(min_notice_hours=48)
    assert messages(("notice", "language"), p) == (
        "less than 48 hours from now",
        "no shared language",
    )
    assert explain(("listener_busy", "weekly_limit"), p) == (
        "too close to another session of the listener; "
        "the listener has reached the weekly limit in that week"
    )


def moments(draw, around: datetime, hours: int) -> datetime:
    """An instant within ``hours`` of ``around``, on a minute or on an odd second."""
    offset = draw(st.integers(-hours * 60, hours * 60))
    extra = draw(st.sampled_from((0, 0, 0, 1, 59)))
    return around + timedelta(minutes=offset, seconds=extra)


def intervals(draw, count: int) -> tuple[Interval, ...]:
    found = []
    for _ in range(draw(st.integers(0, count))):
        start = moments(draw, NOW + timedelta(days=4), 24 * 5)
        found.append(Interval(start, start + timedelta(minutes=draw(st.integers(1, 600)))))
    return tuple(sorted(found, key=lambda i: i.start))


def week(draw) -> tuple[Window, ...]:
    found = []
    for day in sorted(draw(st.sets(st.integers(0, 6), max_size=5))):
        start = draw(st.integers(0, 23))
        end = draw(st.integers(0, 23).filter(lambda h, s=start: h != s))
        found.append(Window(day, time(start, draw(st.sampled_from((0, 30)))), time(end)))
    return tuple(found)


@st.composite
def people(draw):
    """A request, a listener and the round's parameters, with every field varied."""
    p = params(
        session_minutes=draw(st.sampled_from((30, 60))),
        buffer_minutes=draw(st.sampled_from((0, 15))),
        min_notice_hours=draw(st.sampled_from((0, 24))),
        horizon_days=draw(st.sampled_from((4, 14))),
    )
    paused = draw(st.sampled_from((None, NOW - timedelta(days=1), NOW + timedelta(hours=5))))
    lis = listener(
        id=draw(st.integers(1, 3)),
        timezone=draw(st.sampled_from(ZONES)),
        organization=draw(st.sampled_from(("A", "b ltd", "B"))),
        languages=frozenset(draw(st.sets(st.sampled_from(("en", "es")), max_size=2))),
        modalities=frozenset(draw(st.sets(st.sampled_from(("video", "phone")), max_size=2))),
        gender=draw(st.sampled_from((None, "woman", "man"))),
        do_not_match=frozenset(draw(st.sets(st.integers(501, 503), max_size=1))),
        active=draw(st.booleans()),
        verified=draw(st.booleans()),
        training_valid_until=draw(
            st.sampled_from((None, date(2026, 3, 1), date(2026, 3, 5), date(2027, 1, 1)))
        ),
        paused_until=paused,
        max_per_day=draw(st.integers(0, 2)),
        max_per_week=draw(st.integers(0, 3)),
        windows=week(draw),
        time_off=intervals(draw, 2),
        booked=intervals(draw, 3),
        held=intervals(draw, 2),
    )
    req = request(
        id=1,
        practitioner_id=draw(st.integers(501, 503)),
        timezone=draw(st.sampled_from(ZONES)),
        organization=draw(st.sampled_from(("a", "B", "C"))),
        languages=frozenset(draw(st.sets(st.sampled_from(("en", "es")), max_size=2))),
        modalities=frozenset(draw(st.sets(st.sampled_from(("video", "phone")), max_size=2))),
        listener_gender=draw(st.sampled_from((None, "woman"))),
        listener_gender_required=draw(st.booleans()),
        do_not_match=frozenset(draw(st.sets(st.integers(1, 3), max_size=1))),
        excluded_listeners=frozenset(draw(st.sets(st.integers(1, 3), max_size=1))),
        windows=week(draw),
        time_off=intervals(draw, 2),
        booked=intervals(draw, 2),
        held=intervals(draw, 1),
    )
    return req, lis, p


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_each_funnel_rules_sieve_lets_through_exactly_the_listeners_it_passes(data):
    req, _, p = data.draw(people())
    pool = [data.draw(people())[1] for _ in range(data.draw(st.integers(1, 5)))]
    anytime = NOW + timedelta(days=3)
    for rule in RULES:
        sieve = rule.sieve(pool, p)
        if sieve is None:
            continue
        passing = sieve.passing(req, set(range(len(pool))))
        if isinstance(rule, StartRule):  # closes a listener for the whole round
            assert passing == {i for i, lis in enumerate(pool) if not rule.closed(lis, p)}
            for i in set(range(len(pool))) - passing:
                assert rule.breaks(req, pool[i], anytime, p)
        else:
            expected = {i for i, lis in enumerate(pool) if not rule.breaks(req, lis, anytime, p)}
            assert passing == expected, rule.code


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_each_time_rules_ranges_free_exactly_the_starts_it_passes(data):
    req, lis, p = data.draw(people())
    lo, hi = NOW - timedelta(days=3), NOW + timedelta(days=20)
    starts = [moments(data.draw, NOW + timedelta(days=4), 24 * 7) for _ in range(40)]
    starts = [s.replace(microsecond=0) for s in starts]
    for rule in RULES:
        if not isinstance(rule, (StartRule, WindowRule)):
            continue
        free = free_starts([rule], (rule.side,), req, lis, p, lo, hi)
        # Off-by-one errors live at the ends of the ranges: try each end and its neighbours.
        ends = {end for span in (*(free.spans or ()), *free.blocked) for end in span}
        edges = [
            instant(end + step)
            for end in ends
            for step in (-1, 0, 1)
            if seconds(lo) + 2 * DAY < end < seconds(hi) - 2 * DAY
        ]
        for start in starts + edges:
            assert free.allows(seconds(start)) == (not rule.breaks(req, lis, start, p)), (
                rule.code,
                start,
            )


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_each_limit_rules_count_left_agrees_with_its_check(data):
    req, lis, p = data.draw(people())
    for rule in RULES:
        if not isinstance(rule, LimitRule):
            continue
        used = rule.used(lis)
        for _ in range(10):
            start = moments(data.draw, NOW + timedelta(days=4), 24 * 5)
            left = rule.left(lis, used, local_day(start, lis.timezone))
            assert (left <= 0) == rule.breaks(req, lis, start, p)


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_the_funnels_stages_end_where_its_fast_path_ends(data):
    req, _, p = data.draw(people())
    pool = [data.draw(people())[1] for _ in range(data.draw(st.integers(0, 5)))]
    funnel = Funnel(RULES, pool, p)
    stages = funnel.stages(req)
    last = stages[-1][1] if stages else funnel.everyone
    assert funnel.fit(req) == last
    assert [rule for rule, _ in stages] == [r for r in RULES if r.sieve(pool, p) is not None]


def test_rules_read_the_person_of_their_side():
    sides = {rule.code: getattr(rule, "side", None) for rule in RULES}
    assert sides["listener_time_off"] == sides["listener_busy"] == LISTENER
    assert sides["practitioner_time_off"] == sides["practitioner_busy"] == PRACTITIONER
    assert sides["notice"] == sides["horizon"] == ROUND
    off = (Interval(datetime(2026, 3, 4, 9, tzinfo=UTC), datetime(2026, 3, 4, 12, tzinfo=UTC)),)
    slot = datetime(2026, 3, 4, 10, tzinfo=UTC)
    assert RULES_BY_CODE["listener_time_off"].breaks(
        request(), listener(time_off=off), slot, params()
    )
    assert not RULES_BY_CODE["listener_time_off"].breaks(
        request(time_off=off), listener(), slot, params()
    )
    assert RULES_BY_CODE["practitioner_time_off"].breaks(
        request(time_off=off), listener(), slot, params()
    )
