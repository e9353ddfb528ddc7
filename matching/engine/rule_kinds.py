"""What a hard rule is, and how each kind of rule is applied.

A rule is one object: a stable ``code`` that callers branch on, a ``message`` for a
person, whether a coordinator may override it (with a note), and its check. The check
comes in two forms, defined side by side in the rule: a scalar form (does this request,
listener and start break it?) for ``check_slot``, and a set form for a whole round
(which listeners pass it, which starts pass it), so the candidate builder never calls a
Python function per (request, listener, start). tests/engine/test_rule_forms.py proves,
for every rule in the registry (rules.py), that its two forms agree.

The kinds, by what a rule reads:

- ``ListenerRule``: the listener alone, at the round's time (verified, paused).
  Set form: the listeners who pass, found once per round.
- ``PairRule``: the request and the listener, never the start (language,
  organisation ...). The rule names the keys each listener carries and the keys a
  request asks for (``share=True``: pass when they have one in common) or refuses
  (``share=False``: pass when they have none in common). Both forms come from these
  keys: the set form is an index from key to listeners, so each request needs a few
  set operations whatever the number of listeners.
- ``StartRule``: one person's data and the start (time off, sessions booked), or no
  person's (``side=ROUND``: notice, horizon). Set form: the ranges of starts it refuses.
  ``closed`` optionally tells that a listener is shut out for the whole round (training
  already expired), so an unmatched request hears "no verified listener" rather than
  "no shared time".
- ``WindowRule``: the session lies inside one of a person's weekly windows. Set form:
  the ranges of starts it allows.
- ``LimitRule``: the listener's sessions in the local period of the start (a day, a
  week) against a limit. Set form: what is left in each period; the solver also turns
  each limit into the capacity of a level of its flow network.

The funnel (``Funnel``) applies the rules that need no start, in registry order, to
find the listeners who fit a request; the diagnosis of an unmatched request names the
first rule that leaves nobody.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

from matching.engine.model import Interval, Listener, Params, Request
from matching.engine.slots import availability, inside_any, seconds, seconds_up, zone

LISTENER = "listener"
PRACTITIONER = "practitioner"
ROUND = "round"  # the rule reads neither person, only the round's parameters
SIDES = (LISTENER, PRACTITIONER, ROUND)
FAR = 1 << 62  # seconds: further than any instant a round meets

Person = Listener | Request
Text = str | Callable[[Params], str]
Diagnosis = str | Callable[[Request, Params], str]
Span = tuple[int, int]


def local_day(moment: datetime, timezone: str) -> date:
    """Return the local date of an instant in a zone."""
    return moment.astimezone(zone(timezone)).date()


@dataclass(frozen=True, kw_only=True)
class Rule:
    """What every hard rule has: a code, a message for a person, the override flag.

    ``diagnosis`` is what an unmatched request is told when this rule leaves it no
    listener at all (rules that need no start only).
    """

    code: str
    message: Text
    overridable: bool
    diagnosis: Diagnosis | None = None

    def text(self, params: Params) -> str:
        """Return the sentence for a person."""
        return self.message(params) if callable(self.message) else self.message

    def diagnose(self, request: Request, params: Params) -> str:
        """Return the diagnosis of a request that no listener passes this rule."""
        if callable(self.diagnosis):
            return self.diagnosis(request, params)
        return self.diagnosis or self.text(params)

    def breaks(self, request: Request, listener: Listener, start: datetime, params: Params) -> bool:
        """Scalar form: tell whether this pair meeting at ``start`` breaks the rule."""
        raise NotImplementedError

    def sieve(self, listeners: Sequence[Listener], params: Params) -> Sieve | None:
        """Set form over listeners, for the funnel; None when the rule needs a start."""
        return None


class Sieve:
    """A rule's set form over a round's listeners (positions in the sorted list)."""

    def passing(self, request: Request, among: set[int]) -> set[int]:
        """Return the listeners among ``among`` who pass the rule for ``request``."""
        raise NotImplementedError


class _FixedSieve(Sieve):
    """The same listeners pass whatever the request."""

    def __init__(self, ok: set[int]):
        self.ok = ok

    def passing(self, request: Request, among: set[int]) -> set[int]:
        return among & self.ok


class _KeySieve(Sieve):
    def __init__(self, rule: PairRule, listeners: Sequence[Listener]):
        self.rule = rule
        self.index: dict[Hashable, set[int]] = defaultdict(set)
        for i, lis in enumerate(listeners):
            for key in rule.listener_keys(lis):
                self.index[key].add(i)

    def passing(self, request: Request, among: set[int]) -> set[int]:
        wanted = self.rule.request_keys(request)
        if wanted is None:
            return among
        hit: set[int] = set()
        for key in wanted:
            found = self.index.get(key)
            if found:
                hit = found if not hit else hit | found
        if self.rule.share:
            return among & hit
        return among - hit if hit else among


@dataclass(frozen=True, kw_only=True)
class ListenerRule(Rule):
    """A rule about the listener alone at the round's time: ``fails(listener, params)``."""

    fails: Callable[[Listener, Params], bool]

    def breaks(self, request, listener, start, params) -> bool:
        return self.fails(listener, params)

    def sieve(self, listeners, params) -> Sieve:
        return _FixedSieve({i for i, lis in enumerate(listeners) if not self.fails(lis, params)})


@dataclass(frozen=True, kw_only=True)
class PairRule(Rule):
    """A rule about the pair, never the start, written as keys (see the module text).

    ``request_keys`` returns None when the request asks nothing of this rule.
    """

    listener_keys: Callable[[Listener], Iterable[Hashable]]
    request_keys: Callable[[Request], Iterable[Hashable] | None]
    share: bool

    def breaks(self, request, listener, start, params) -> bool:
        wanted = self.request_keys(request)
        if wanted is None:
            return False
        common = not set(wanted).isdisjoint(self.listener_keys(listener))
        return not common if self.share else common

    def sieve(self, listeners, params) -> Sieve:
        return _KeySieve(self, listeners)


def _person(side: str, request: Request, listener: Listener) -> Person | None:
    if side == LISTENER:
        return listener
    return request if side == PRACTITIONER else None


@dataclass(frozen=True, kw_only=True)
class StartRule(Rule):
    """A rule about the start and one person's data (or the round's: ``side=ROUND``).

    ``refuses(person, start, end, params)`` is the scalar form, ``refused(person,
    params, lo, hi)`` the set form: (a, b) pairs of instants, None for no bound, such
    that among the starts between lo and hi the rule refuses exactly those strictly
    between a and b of some pair (a rule that repeats, say every night, needs lo and
    hi to know how many nights). ``person`` is the listener, the request (the
    practitioner's side) or None.
    """

    side: str
    refuses: Callable[[Person | None, datetime, datetime, Params], bool]
    refused: Callable[
        [Person | None, Params, datetime, datetime],
        Iterable[tuple[datetime | None, datetime | None]],
    ]
    closed: Callable[[Listener, Params], bool] | None = None

    def __post_init__(self):
        if self.side not in SIDES:
            raise ValueError(f"{self.code}: side must be one of {SIDES}")
        if self.closed is not None and self.side != LISTENER:
            raise ValueError(f"{self.code}: only a listener's rule can close a listener")

    def breaks(self, request, listener, start, params) -> bool:
        end = start + timedelta(minutes=params.session_minutes)
        return self.refuses(_person(self.side, request, listener), start, end, params)

    def refused_seconds(
        self, person: Person | None, params: Params, lo: datetime, hi: datetime
    ) -> list[Span]:
        """Return the set form in whole seconds: starts s with a < s < b are refused."""
        return [
            (-FAR if a is None else seconds(a), FAR if b is None else seconds_up(b))
            for a, b in self.refused(person, params, lo, hi)
        ]

    def sieve(self, listeners, params) -> Sieve | None:
        if self.closed is None:
            return None
        return _FixedSieve({i for i, lis in enumerate(listeners) if not self.closed(lis, params)})


@dataclass(frozen=True, kw_only=True)
class WindowRule(Rule):
    """The session lies inside one of a person's weekly windows (``person.windows``)."""

    side: str

    def __post_init__(self):
        if self.side not in (LISTENER, PRACTITIONER):
            raise ValueError(f"{self.code}: a window belongs to the listener or the practitioner")

    def breaks(self, request, listener, start, params) -> bool:
        person = _person(self.side, request, listener)
        end = start + timedelta(minutes=params.session_minutes)
        margin = timedelta(days=2)
        around = availability(person.windows, person.timezone, start - margin, end + margin)
        return not inside_any(start, end, around)

    def intervals(self, person: Person, lo: datetime, hi: datetime) -> tuple[Interval, ...]:
        """Return the person's available ranges between two instants."""
        return availability(person.windows, person.timezone, lo, hi)

    def allowed_seconds(
        self, person: Person, params: Params, lo: datetime, hi: datetime
    ) -> list[Span]:
        """Return the set form between lo and hi: starts s with a <= s <= b are allowed.

        A range too short for a session gives a <= b false and allows nothing.
        """
        session = params.session_minutes * 60
        return [
            (seconds_up(i.start), seconds(i.end) - session) for i in self.intervals(person, lo, hi)
        ]


@dataclass(frozen=True, kw_only=True)
class LimitRule(Rule):
    """At most ``limit(listener)`` sessions per local ``period`` of the listener.

    ``period`` maps the listener's local date of a start to its period (the date
    itself, or the ISO week). Sessions already booked count; the solver also makes
    each limit the capacity of a level of its network, so a round never exceeds it.
    """

    adjective: str  # "daily": names the limit in a diagnosis
    period: Callable[[date], Hashable]
    limit: Callable[[Listener], int]

    def used(self, listener: Listener) -> Counter:
        """Count the listener's booked sessions per period."""
        return Counter(self.period(local_day(b.start, listener.timezone)) for b in listener.booked)

    def left(self, listener: Listener, used: Counter, day: date) -> int:
        """Set form: sessions left in the period of a local date (0 or less: none)."""
        return self.limit(listener) - used[self.period(day)]

    def breaks(self, request, listener, start, params) -> bool:
        day = local_day(start, listener.timezone)
        return self.left(listener, self.used(listener), day) <= 0


def merge_open(spans: Iterable[Span]) -> tuple[Span, ...]:
    """Sort open ranges (lo, hi) and merge those that overlap; empty ones go."""
    merged: list[list[int]] = []
    for lo, hi in sorted(spans):
        if hi - lo < 2:  # no whole second strictly inside
            continue
        if merged and lo < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    return tuple((lo, hi) for lo, hi in merged)


def intersect_closed(a: Sequence[Span], b: Sequence[Span]) -> list[Span]:
    """Return the intersection of two sorted lists of disjoint closed ranges."""
    found: list[Span] = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if lo <= hi:
            found.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return found


def span_mask(first: int, last: int) -> int:
    """Return an integer with bits first..last-1 set."""
    if last <= first:
        return 0
    return ((1 << (last - first)) - 1) << first


@dataclass(frozen=True)
class FreeStarts:
    """The starts, in whole seconds, that some time rules allow (their set forms joined).

    A start is allowed when it lies in one of ``spans`` (closed ranges, sorted; None
    when no window rule took part) and in none of ``blocked`` (open ranges, merged).
    """

    spans: tuple[Span, ...] | None
    blocked: tuple[Span, ...]

    def __post_init__(self):
        object.__setattr__(self, "_blocked_lo", [lo for lo, _ in self.blocked])
        if self.spans is not None:
            object.__setattr__(self, "_spans_lo", [lo for lo, _ in self.spans])

    def allows(self, start: int) -> bool:
        """Tell whether a start (whole seconds) is allowed."""
        if self.spans is not None:
            k = bisect_right(self._spans_lo, start) - 1
            if k < 0 or start > self.spans[k][1]:
                return False
        k = bisect_left(self._blocked_lo, start) - 1
        return k < 0 or start >= self.blocked[k][1]

    def mask(self, grid: Sequence[int]) -> int:
        """Return the bits of the grid positions (sorted starts) that are allowed."""
        if self.spans is None:
            mask = span_mask(0, len(grid))
        else:
            mask = 0
            for lo, hi in self.spans:
                mask |= span_mask(bisect_left(grid, lo), bisect_right(grid, hi))
        for lo, hi in self.blocked:
            mask &= ~span_mask(bisect_right(grid, lo), bisect_left(grid, hi))
        return mask


def free_starts(
    rules: Iterable[Rule],
    sides: Sequence[str],
    request: Request | None,
    listener: Listener | None,
    params: Params,
    lo: datetime,
    hi: datetime,
) -> FreeStarts:
    """Join the set forms of the time rules of some sides between two instants.

    Window rules are read between lo and hi; a start outside them may be refused by
    the window rules alone, so callers ask only about starts whose sessions lie inside.
    """
    spans: list[Span] | None = None
    blocked: list[Span] = []
    for rule in _time_rules(tuple(rules), tuple(sides)):
        person = _person(rule.side, request, listener)
        if isinstance(rule, WindowRule):
            allowed = rule.allowed_seconds(person, params, lo, hi)
            spans = allowed if spans is None else intersect_closed(spans, allowed)
        else:
            blocked.extend(rule.refused_seconds(person, params, lo, hi))
    return FreeStarts(None if spans is None else tuple(spans), merge_open(blocked))


@lru_cache(maxsize=64)
def _time_rules(rules: tuple[Rule, ...], sides: tuple[str, ...]) -> tuple[Rule, ...]:
    """Return the start and window rules of some sides, in registry order."""
    return tuple(
        rule for rule in rules if isinstance(rule, (StartRule, WindowRule)) and rule.side in sides
    )


class Funnel:
    """The rules that need no start, as sieves over a round's listeners.

    ``stages`` follows the registry order, so a diagnosis names the first rule that
    leaves a request nobody; ``fit`` gives the same final set faster, applying the
    sieves that do not depend on the request once for the whole round.
    """

    def __init__(self, rules: Iterable[Rule], listeners: Sequence[Listener], params: Params):
        self.everyone = set(range(len(listeners)))
        self.sieves = [(rule, s) for rule in rules if (s := rule.sieve(listeners, params))]
        self.ready = set(self.everyone)
        for _, sieve in self.sieves:
            if isinstance(sieve, _FixedSieve):
                self.ready &= sieve.ok
        self._per_request = [s for _, s in self.sieves if not isinstance(s, _FixedSieve)]

    def stages(self, request: Request) -> list[tuple[Rule, set[int]]]:
        """Return each rule with the listeners left after it, in registry order."""
        left = self.everyone
        found = []
        for rule, sieve in self.sieves:
            left = sieve.passing(request, left)
            found.append((rule, left))
        return found

    def misfits(self, request: Request) -> dict[int, list[Rule]]:
        """Return, for each listener who fails some rule that needs no start, those rules.

        Keys are positions in the listeners' list; rules come in registry order.
        """
        found: dict[int, list[Rule]] = defaultdict(list)
        for rule, sieve in self.sieves:
            for i in sorted(self.everyone - sieve.passing(request, self.everyone)):
                found[i].append(rule)
        return dict(found)

    def fit(self, request: Request, among: set[int] | None = None) -> set[int]:
        """Return the listeners who pass every rule that needs no start.

        ``among``, a part of ``ready`` computed once for many requests, starts the
        search instead of the whole of ``ready``.
        """
        left = self.ready if among is None else among
        for sieve in self._per_request:
            left = sieve.passing(request, left)
        return left
