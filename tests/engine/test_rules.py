from dataclasses import replace
from datetime import UTC, date, datetime, time

import pytest

from matching.engine import (
    RULES,
    Funnel,
    Interval,
    Window,
    broken_rules,
    check_slot,
    messages,
    normalize_organization,
    propose,
)

from .helpers import NOW, listener, params, request

SLOT = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)  # a Wednesday, on the block grid


def test_the_plain_pair_is_a_candidate():
    assert check_slot(request(), listener(), SLOT, params()) == ()
    assert len(propose([request()], [listener()], params()).proposals) == 1


BREAKS = {
    "unverified": ({}, {"verified": False}),
    "inactive": ({}, {"active": False}),
    "training expired": ({}, {"training_valid_until": date(2026, 3, 1)}),
    "no training recorded": ({}, {"training_valid_until": None}),
    "paused": ({}, {"paused_until": datetime(2026, 4, 1, tzinfo=UTC)}),
    "no shared language": ({"languages": frozenset({"pl"})}, {}),
    "no shared modality": ({"modalities": frozenset({"phone"})}, {}),
    "same organisation": ({"organization": "riverside  hospital, ltd."}, {}),
    "practitioner does not match": ({"do_not_match": frozenset({1})}, {}),
    "listener does not match": ({}, {"do_not_match": frozenset({501})}),
    "declined before": ({"excluded_listeners": frozenset({1})}, {}),
    "gender preference": (
        {"listener_gender": "woman", "listener_gender_required": True},
        {"gender": "man"},
    ),
    "no practitioner time": ({"windows": ()}, {}),
    "no listener time": ({}, {"windows": ()}),
    "listener time off": (
        {},
        {"time_off": (Interval(NOW, datetime(2026, 3, 20, tzinfo=UTC)),)},
    ),
    "practitioner time off": (
        {"time_off": (Interval(NOW, datetime(2026, 3, 20, tzinfo=UTC)),)},
        {},
    ),
    "daily cap used": ({}, {"max_per_day": 0}),
    "weekly cap used": ({}, {"max_per_week": 0}),
}


@pytest.mark.parametrize("name", sorted(BREAKS))
def test_each_hard_rule_removes_the_candidate(name):
    req_changes, lis_changes = BREAKS[name]
    req, lis = request(**req_changes), listener(**lis_changes)
    result = propose([req], [lis], params())
    assert result.proposals == ()
    assert result.stats["candidates"] == 0
    assert check_slot(req, lis, SLOT, params()) != ()


CODES = {
    "unverified": "listener_status",
    "inactive": "listener_status",
    "training expired": "training",
    "no training recorded": "training",
    "paused": "paused",
    "no shared language": "language",
    "no shared modality": "modality",
    "same organisation": "organization",
    "practitioner does not match": "do_not_match",
    "listener does not match": "do_not_match",
    "declined before": "excluded",
    "gender preference": "gender",
    "no practitioner time": "outside_practitioner_times",
    "no listener time": "outside_listener_times",
    "listener time off": "listener_time_off",
    "practitioner time off": "practitioner_time_off",
    "daily cap used": "daily_limit",
    "weekly cap used": "weekly_limit",
}


@pytest.mark.parametrize("name", sorted(BREAKS))
def test_check_slot_names_the_rule_each_break_breaks(name):
    req_changes, lis_changes = BREAKS[name]
    assert check_slot(request(**req_changes), listener(**lis_changes), SLOT, params()) == (
        CODES[name],
    )


def test_notice_horizon_and_buffer_have_their_own_codes():
    p = params()
    busy = (
        Interval(datetime(2026, 3, 4, 11, 5, tzinfo=UTC), datetime(2026, 3, 4, 12, tzinfo=UTC)),
    )
    soon = datetime(2026, 3, 2, 12, tzinfo=UTC)
    assert check_slot(request(), listener(), soon, p) == ("notice",)
    assert check_slot(request(), listener(), datetime(2026, 3, 17, 10, tzinfo=UTC), p) == (
        "horizon",
    )
    assert check_slot(request(booked=busy), listener(), SLOT, p) == ("practitioner_busy",)
    # The listener's session that day also fills their daily limit of 1.
    assert check_slot(request(), listener(booked=busy), SLOT, p) == (
        "listener_busy",
        "daily_limit",
    )
    assert messages(check_slot(request(), listener(), soon, p), p) == (
        "less than 24 hours from now",
    )


def test_paused_until_in_the_past_is_not_paused():
    lis = listener(paused_until=datetime(2026, 3, 1, tzinfo=UTC))
    assert check_slot(request(), lis, SLOT, params()) == ()


def test_training_must_last_until_the_slot():
    lis = listener(training_valid_until=date(2026, 3, 3))
    assert check_slot(request(), lis, SLOT, params()) != ()
    result = propose([request()], [lis], params())
    assert result.proposals[0].start.date() <= date(2026, 3, 3)


def test_met_gender_preference_is_fine_and_never_named_in_reasons():
    req = request(listener_gender="woman", listener_gender_required=True)
    assert check_slot(req, listener(gender="woman"), SLOT, params()) == ()
    reasons = messages(check_slot(req, listener(gender="man"), SLOT, params()), params())
    assert reasons == ("a stated preference about the listener is not met",)
    assert not any("woman" in r or "gender" in r for r in reasons)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Riverside Hospital", "riverside hospital"),
        ("Riverside  Hospital, Inc.", "RIVERSIDE HOSPITAL"),
        ("Klinik Süd GmbH", "klinik sud"),
    ],
)
def test_organisations_compare_after_normalising(a, b):
    assert normalize_organization(a) == normalize_organization(b)


def test_notice_horizon_and_buffer_in_check_slot():
    p = params()
    assert check_slot(request(), listener(), datetime(2026, 3, 2, 12, tzinfo=UTC), p)  # notice
    far = datetime(2026, 3, 17, 10, tzinfo=UTC)
    assert check_slot(request(), listener(), far, p) != ()
    assert check_slot(request(), listener(), far, p, enforce_horizon=False) == ()
    busy = (
        Interval(datetime(2026, 3, 4, 11, 5, tzinfo=UTC), datetime(2026, 3, 4, 12, tzinfo=UTC)),
    )
    assert check_slot(request(booked=busy), listener(), SLOT, p) != ()
    assert check_slot(request(), listener(booked=busy), SLOT, p) != ()


def test_off_grid_reschedule_inside_both_availabilities_is_allowed():
    start = datetime(2026, 3, 4, 10, 25, tzinfo=UTC)
    assert check_slot(request(), listener(), start, params()) == ()
    narrow = request(windows=(Window(2, time(10), time(11)),))
    assert check_slot(narrow, listener(), start, params()) != ()  # ends 11:25


def test_caps_count_in_the_listeners_zone():
    # 16:00 UTC on Tue 3 March is 01:00 on Wed 4 March in Tokyo.
    booked = (Interval(datetime(2026, 3, 3, 16, tzinfo=UTC), datetime(2026, 3, 3, 17, tzinfo=UTC)),)
    tokyo = listener(timezone="Asia/Tokyo", windows=(), booked=booked, max_per_day=1)
    anytime = tuple(Window(d, time(0), time(0)) for d in range(7))
    tokyo = replace(tokyo, windows=anytime)
    same_tokyo_day = datetime(2026, 3, 4, 10, tzinfo=UTC)  # 19:00 Wed in Tokyo
    same_utc_day = datetime(2026, 3, 3, 9, tzinfo=UTC)  # 18:00 Tue in Tokyo
    req = request(windows=anytime)
    assert "the listener has reached the daily limit on that day" in messages(
        check_slot(req, tokyo, same_tokyo_day, params()), params()
    )
    assert check_slot(req, tokyo, same_utc_day, params()) == ()


def test_weekly_cap_uses_the_local_iso_week():
    # Sun 8 March 20:00 UTC is Mon 9 March 05:00 in Tokyo: a new local week.
    booked = (Interval(datetime(2026, 3, 3, 10, tzinfo=UTC), datetime(2026, 3, 3, 11, tzinfo=UTC)),)
    anytime = tuple(Window(d, time(0), time(0)) for d in range(7))
    tokyo = listener(timezone="Asia/Tokyo", windows=anytime, booked=booked, max_per_week=1)
    req = request(windows=anytime)
    sunday_utc = datetime(2026, 3, 8, 20, tzinfo=UTC)
    assert check_slot(req, tokyo, sunday_utc, params()) == ()
    assert check_slot(req, tokyo, datetime(2026, 3, 8, 10, tzinfo=UTC), params()) != ()
    utc_listener = replace(tokyo, timezone="UTC")
    assert check_slot(req, utc_listener, sunday_utc, params()) != ()


def test_broken_rules_names_every_rule_a_time_breaks_with_its_flag():
    p = params()
    soon = datetime(2026, 3, 2, 12, tzinfo=UTC)
    req = request(languages=frozenset({"pl"}), do_not_match=frozenset({1}))
    broken = broken_rules(req, listener(), soon, p)
    # Every one, in registry order, not only the first.
    assert [r.code for r in broken] == ["language", "do_not_match", "notice"]
    assert [r.overridable for r in broken] == [True, False, True]
    assert [r.code for r in broken] == list(check_slot(req, listener(), soon, p))
    assert broken_rules(request(), listener(), SLOT, p) == ()


@pytest.mark.parametrize("name", sorted(BREAKS))
def test_broken_rules_and_check_slot_agree_on_each_break(name):
    req_changes, lis_changes = BREAKS[name]
    req, lis = request(**req_changes), listener(**lis_changes)
    assert tuple(r.code for r in broken_rules(req, lis, SLOT, params())) == check_slot(
        req, lis, SLOT, params()
    )


def test_the_funnel_says_which_rules_each_misfit_breaks():
    p = params()
    people = [
        listener(1),
        listener(2, languages=frozenset({"pl"})),
        listener(3, verified=False, organization="Northside Clinic Ltd"),
        listener(4, max_per_day=0),  # a limit needs a start: not the funnel's to judge
    ]
    funnel = Funnel(RULES, people, p)
    misfits = funnel.misfits(request())
    assert {i: [r.code for r in rules] for i, rules in misfits.items()} == {
        1: ["language"],
        2: ["listener_status", "organization"],
    }
    assert funnel.fit(request()) == {0, 3}
