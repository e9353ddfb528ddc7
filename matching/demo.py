"""A believable demo programme, built through the same services people use.

Besides today's open requests it holds a coordinator's day: conversations held in past
weeks (with outcomes and feedback, so the programme figures have something to show and
something to withhold), a round with proposals waiting for review, a listener whose
training ends soon, one who is paused and one who asked for a debrief. Every account is
verified and has accepted the consent text; the demo practitioner has a conversation
booked for the coming days (to move, cancel, or ask for a different listener). The
programme's group sessions: last month's workshop (attendance and ratings), this
month's, nearly full with a waiting list and a seat on offer, and a seminar a listener
facilitates, with a registration to approve.
"""

from __future__ import annotations

from datetime import timedelta

from matching.extensions import db
from matching.models import SupportRequest, now_utc
from matching.schemas import bodies, load
from matching.services import (
    accounts,
    availability,
    care,
    consent,
    events,
    listeners,
    meetings,
    profiles,
    requests,
    rounds,
)

PASSWORD = "alongside-demo"  # noqa: S105 - the published demo password
COORDINATOR = "coordinator@demo.example.org"

LISTENERS = [
    # name, zone, organization, languages, modalities, fields, topics, week, day, windows
    (
        "Maya Okafor",
        "America/New_York",
        "Riverside Peer Network",
        ["en"],
        ["video", "phone"],
        ["social_work", "crisis_line"],
        ["child protection", "burnout", "night shifts"],
        3,
        1,
        [(0, "09:00", "12:00"), (2, "13:00", "17:00"), (4, "09:00", "11:00")],
    ),
    (
        "Lucía Fernández",
        "America/New_York",
        "Hudson Volunteers",
        ["es", "en"],
        ["video"],
        ["counselling"],
        ["grief", "moral injury"],
        2,
        1,
        [(1, "18:00", "21:00"), (3, "18:00", "21:00")],
    ),
    (
        "Jonas Becker",
        "Europe/Berlin",
        "Freiraum e.V.",
        ["de", "en"],
        ["video", "phone"],
        ["psychiatry", "nursing"],
        ["night shifts", "moral injury"],
        3,
        2,
        [(0, "17:00", "20:00"), (1, "17:00", "20:00"), (5, "10:00", "13:00")],
    ),
    (
        "Amira Haddad",
        "Europe/Berlin",
        "Freiraum e.V.",
        ["de", "fr", "en"],
        ["video"],
        ["psychology"],
        ["burnout", "secondary trauma"],
        2,
        1,
        [(2, "08:00", "11:00"), (4, "14:00", "18:00")],
    ),
    (
        "Tomás Rivera",
        "America/Los_Angeles",
        "Pacific Listeners",
        ["es", "en"],
        ["phone", "video"],
        ["crisis_line"],
        ["crisis calls", "night shifts"],
        2,
        1,
        [(0, "22:00", "02:00"), (3, "22:00", "01:00")],
    ),
    (
        "Grace Liu",
        "Asia/Tokyo",
        "Harbour Care",
        ["en", "ja"],
        ["video"],
        ["nursing"],
        ["burnout", "grief"],
        2,
        1,
        [(1, "19:00", "22:00"), (5, "09:00", "12:00")],
    ),
    (
        "Sofia Marchetti",
        "Europe/Rome",
        "Ponte Ascolto",
        ["it", "en", "fr"],
        ["video", "in_person"],
        ["social_work"],
        ["child protection", "grief"],
        3,
        1,
        [(0, "14:00", "18:00"), (2, "14:00", "18:00"), (3, "09:00", "12:00")],
    ),
    (
        "David Mensah",
        "Europe/London",
        "Thames Peer Support",
        ["en"],
        ["phone"],
        ["psychology", "counselling"],
        ["moral injury", "complaints"],
        1,
        1,
        [(1, "12:00", "14:00"), (4, "12:00", "15:00")],
    ),
    (
        "Claire Dubois",
        "Europe/Paris",
        "Écoute Entre Pairs",
        ["fr", "en"],
        ["video"],
        ["psychiatry"],
        ["secondary trauma"],
        2,
        1,
        [(0, "09:00", "12:00"), (3, "15:00", "18:00")],
    ),
]

PRACTITIONERS = [
    # name, zone, organization, field, languages, modalities, topics, urgency, windows
    (
        "Hannah Schulz",
        "Europe/Berlin",
        "Charité Crisis Team",
        "psychiatry",
        ["de", "en"],
        ["video"],
        ["night shifts"],
        "soon",
        [(0, "16:00", "21:00"), (1, "16:00", "21:00")],
    ),
    (
        "Ravi Patel",
        "Europe/London",
        "North Thames Trust",
        "nursing",
        ["en"],
        ["phone", "video"],
        ["burnout"],
        "routine",
        [(1, "11:00", "15:00"), (4, "11:00", "16:00")],
    ),
    (
        "Carmen Ortiz",
        "America/New_York",
        "Bronx Family Services",
        "social_work",
        ["es", "en"],
        ["video"],
        ["child protection", "grief"],
        "urgent",
        [(1, "17:00", "22:00"), (3, "17:00", "22:00")],
    ),
    (
        "Emily Carter",
        "America/New_York",
        "Metro Crisis Line",
        "crisis_line",
        ["en"],
        ["phone", "video"],
        ["crisis calls", "night shifts"],
        "routine",
        [(0, "08:00", "13:00"), (2, "12:00", "18:00")],
    ),
    (
        "Marc Lefèvre",
        "Europe/Paris",
        "Hôpital Saint-Louis",
        "psychiatry",
        ["fr"],
        ["video"],
        ["secondary trauma"],
        "routine",
        [(0, "08:00", "13:00"), (3, "14:00", "19:00")],
    ),
    (
        "Aiko Tanaka",
        "Asia/Tokyo",
        "Tokyo Bay Clinic",
        "nursing",
        ["ja", "en"],
        ["video"],
        ["grief"],
        "soon",
        [(1, "18:00", "23:00"), (5, "08:00", "13:00")],
    ),
    (
        "Giulia Romano",
        "Europe/Rome",
        "ASL Milano",
        "social_work",
        ["it"],
        ["video", "in_person"],
        ["child protection"],
        "routine",
        [(0, "13:00", "19:00"), (2, "13:00", "19:00")],
    ),
    (
        "Samuel Osei",
        "Europe/London",
        "Lambeth Counselling",
        "counselling",
        ["en"],
        ["phone"],
        ["complaints", "moral injury"],
        "routine",
        [(1, "11:00", "15:00"), (4, "11:00", "16:00")],
    ),
    (
        "Lena Vogel",
        "Europe/Berlin",
        "Freiraum e.V.",
        "psychology",
        ["de"],
        ["video"],
        ["burnout"],
        "routine",
        [(2, "07:00", "12:00"), (4, "13:00", "19:00")],
    ),
    (
        "Diego Morales",
        "America/Los_Angeles",
        "LA County DMH",
        "crisis_line",
        ["es"],
        ["phone"],
        ["crisis calls"],
        "soon",
        [(0, "21:00", "03:00"), (3, "21:00", "02:00")],
    ),
    (
        "Nora Kowalski",
        "Europe/Warsaw",
        "Warsaw Family Centre",
        "psychology",
        ["pl"],
        ["video"],
        ["burnout"],
        "routine",
        [(1, "09:00", "17:00"), (2, "09:00", "17:00")],
    ),
    (
        "Priya Nair",
        "Asia/Kolkata",
        "Mumbai Mind Clinic",
        "psychology",
        ["en", "hi"],
        ["video"],
        ["secondary trauma", "burnout"],
        "routine",
        [(0, "13:00", "18:00"), (3, "13:00", "18:00")],
    ),
    (
        "Olivia Brown",
        "America/Los_Angeles",
        "Pacific Listeners",
        "crisis_line",
        ["en"],
        ["phone"],
        ["night shifts"],
        "routine",
        [(0, "21:00", "02:00")],
    ),
]


# The practitioner whose sign-in the demo prints; the listener booked with them.
DEMO_PRACTITIONER = 2
DEMO_LISTENER = 1

# People who asked in past weeks (their conversations feed the figures) and today.
EARLIER = [
    "Alex Morgan",
    "Bea Lindqvist",
    "Chidi Obi",
    "Dana Weiss",
    "Eli Navarro",
    "Farah Said",
    "Gus Hale",
    "Hana Kim",
    "Ivo Petrov",
    "Jade Moreau",
    "Kofi Asante",
    "Lara Costa",
    "Milo Brandt",
    "Nina Rossi",
    "Omar Farouk",
]
TODAY = ["Pat Quinn", "Rosa Lind", "Sean Doyle", "Tess Howard", "Uma Rao"]
ANY_DAY = [(day, "08:00", "20:00") for day in range(7)]
RATINGS = (5, 4, 5, 3, 4, 5, 4, 4, 5, 2, 4, 5, 3, 5, 4)


# How listeners meet besides a room of their own: a link, a place (neutral words only).
LISTENER_PLACES = {
    "Maya Okafor": {"video_url": "https://meet.example.org/maya-okafor"},
    "Sofia Marchetti": {"place": "Biblioteca Sormani, Corso di Porta Vittoria 6, Milano — room 2"},
}


def _phone(i: int) -> str:
    """A number from the range set aside for drama (never a real line)."""
    return f"+44 20 7946 0{100 + i:03d}"


def _email(name: str, kind: str) -> str:
    first = name.split()[0].lower()
    for a, b in (("í", "i"), ("á", "a"), ("é", "e"), ("è", "e"), ("ç", "c")):
        first = first.replace(a, b)
    return f"{first}.{kind}@demo.example.org"


def _person(name: str, role: str, zone: str, profile: dict, windows):
    """An account with its profile and weekly times, each loaded by the API's schemas."""
    account = {
        "email": _email(name, role),
        "password": PASSWORD,
        "role": role,
        "display_name": name,
        "timezone": zone,
        "consent_version": consent.current_version(),
    }
    values = load(bodies.NewAccount, account)
    version = values.pop("consent_version")
    user = accounts.register(**values, verified=True)
    consent.accept(user, version)
    profiles.update_profile(user, load(bodies.PROFILES[role], profile))
    week = {"windows": [{"weekday": d, "start": s, "end": e} for d, s, e in windows]}
    availability.set_windows(user, load(bodies.Windows, week)["windows"])
    return user


def seed() -> bool:
    """Create the demo programme unless it is already there; return True if created."""
    if accounts.find_by_email(COORDINATOR) is not None:
        return False
    sam = {"email": COORDINATOR, "password": PASSWORD, "display_name": "Sam (coordinator)"}
    coordinator = accounts.create_coordinator(**load(bodies.NewCoordinator, sam))
    valid_until = (now_utc() + timedelta(days=365)).date()
    for i, (name, zone, org, langs, mods, fields, topics, week, day, windows) in enumerate(
        LISTENERS
    ):
        profile = {
            "organization": org,
            "languages": langs,
            "modalities": mods,
            "fields": fields,
            "topics": topics,
            "max_sessions_per_week": week,
            "max_sessions_per_day": day,
        } | LISTENER_PLACES.get(name, {})
        user = _person(name, "listener", zone, profile, windows)
        if i == 5:  # training ends within the month: flagged on the roster
            soon = (now_utc() + timedelta(days=20)).date()
            listeners.verify_listener(coordinator, user.id, soon)
        elif i != len(LISTENERS) - 1:  # one listener waits for verification
            listeners.verify_listener(coordinator, user.id, valid_until)
    _history(coordinator)
    # The demo practitioner's conversation, booked by a round of its own before today's.
    _asking(PRACTITIONERS[DEMO_PRACTITIONER], DEMO_PRACTITIONER)
    db.session.commit()
    booking_round = rounds.run_round(coordinator)
    rounds.approve_many(coordinator, booking_round.id, [p.id for p in booking_round.proposals])
    _todays_round(coordinator)
    for i, entry in enumerate(PRACTITIONERS):
        if i != DEMO_PRACTITIONER:
            _asking(entry, i)
    paused = accounts.find_by_email(_email(LISTENERS[7][0], "listener"))
    profiles.pause_listener(paused, now_utc() + timedelta(days=10))
    care.request_debrief(accounts.find_by_email(_email(LISTENERS[2][0], "listener")))
    _programme_events(coordinator)
    return True


def _asking(entry, i: int) -> None:
    """One of PRACTITIONERS, with a profile, weekly times and an open request."""
    name, zone, org, field, langs, mods, topics, urgency, windows = entry
    profile = {"organization": org, "field": field, "languages": langs, "modalities": mods}
    user = _person(name, "practitioner", zone, profile | {"topics": topics}, windows)
    request = {"urgency": urgency, "topics": topics, "modalities": mods}
    if "phone" in mods:
        request["phone"] = _phone(i)
    requests.create_request(user, load(bodies.NewRequest, request))


def _practitioner(name: str, i: int, urgency: str = "routine") -> SupportRequest:
    profile = {
        "organization": f"Community Health Team {i % 4 + 1}",
        "field": ("nursing", "social_work", "psychology")[i % 3],
        "languages": ["en"],
        "modalities": ["video", "phone"],
        "topics": [("burnout", "grief", "night shifts")[i % 3]],
    }
    user = _person(name, "practitioner", "Europe/London", profile, ANY_DAY)
    request = {
        "urgency": urgency,
        "modalities": ["video", "phone"],
        "note": "",
        "phone": _phone(50 + i),
    }
    return requests.create_request(user, load(bodies.NewRequest, request))


def _history(coordinator) -> None:
    """Three weekly rounds in the past, approved, held and rated: the figures' material."""
    for week, batch in enumerate((EARLIER[0:5], EARLIER[5:10], EARLIER[10:15])):
        then = now_utc() - timedelta(days=35 - 7 * week)
        for i, name in enumerate(batch):
            req = _practitioner(name, 5 * week + i, ("routine", "soon", "urgent")[i % 3])
            req.created_at = then - timedelta(hours=6 + 5 * i)  # they asked before that round
        # A round claims its run on its own connection, so what is written must be committed.
        db.session.commit()
        past_round = rounds.run_round(coordinator, now=then)
        ids = [p.id for p in past_round.proposals]
        if ids:
            rounds.approve_many(coordinator, past_round.id, ids, now=then)
        db.session.commit()
    booked = meetings.meetings_for(coordinator)
    for n, meeting in enumerate(m for m in booked if m.end_at < now_utc()):
        if n == 4:
            meetings.mark_outcome(coordinator, meeting.id, "no_show")
            continue
        meetings.mark_outcome(coordinator, meeting.id, "completed")
        comment = "It helped to say it out loud." if n % 4 == 0 else ""
        meetings.add_feedback(meeting.practitioner, meeting.id, RATINGS[n % len(RATINGS)], comment)
        if n % 3 == 0:
            meetings.add_feedback(meeting.listener, meeting.id, 5, "")


def _todays_round(coordinator) -> None:
    """A few requests from today and a round over them, waiting for the coordinator."""
    for i, name in enumerate(TODAY):
        _practitioner(name, i, ("urgent", "soon", "routine", "routine", "soon")[i])
    db.session.commit()
    rounds.run_round(coordinator)


WORKSHOP = {
    "kind": "workshop",
    "title": "Carrying other people's stories",
    "description": (
        "A monthly workshop for people who listen to hard things all day: what it does to "
        "us, what helps, and an hour to practise it together. Cameras optional."
    ),
    "timezone": "Europe/London",
    "modality": "video",
    "location": "https://meet.example.org/alongside-workshop",
    "requires_approval": False,
    "open_to": ["practitioner"],
}
SEMINAR = {
    "kind": "seminar",
    "title": "Rest after night shifts",
    "description": "Sleep and recovery after night work: what the evidence says, and what "
    "colleagues have found helps. Coffee from 9:15.",
    "timezone": "Europe/Rome",
    "modality": "in_person",
    "location": "Biblioteca Sormani, Corso di Porta Vittoria 6, Milano — room 2",
    "capacity": 25,
    "requires_approval": True,
    "open_to": ["practitioner", "listener"],
}


def _event(coordinator, values: dict, start, hours: float, *, now=None):
    body = values | {
        "start": start.isoformat(),
        "end": (start + timedelta(hours=hours)).isoformat(),
        "registration_closes": (start - timedelta(hours=2)).isoformat(),
    }
    return events.create_event(coordinator, load(bodies.NewEvent, body), now=now)


def _programme_events(coordinator) -> None:
    """Last month's workshop, this month's nearly full one, and a seminar to approve."""
    people = [accounts.find_by_email(_email(p[0], "practitioner")) for p in PRACTITIONERS]
    base = now_utc().replace(hour=17, minute=0, second=0, microsecond=0)

    # Held four weeks ago: attendance marked and rated, for the programme figures.
    held = base - timedelta(days=28)
    before, after = held - timedelta(days=10), held + timedelta(hours=3)
    past = _event(coordinator, WORKSHOP | {"capacity": 10}, held, 2, now=before)
    for person in people[:8]:
        events.register(person, past.id, now=before)
    db.session.flush()
    for n, seat in enumerate(events.roster(coordinator, past.id)[1]):
        events.mark_attendance(coordinator, seat["id"], n != 3, now=after)
    for person, rating in zip(people[:6], (5, 4, 5, 4, 3, 5), strict=True):
        comment = "Good to hear I am not the only one." if rating == 5 else ""
        events.add_feedback(person, past.id, rating, comment, now=after)

    # This month's: ten seats, thirteen people; one withdrew, so a seat is on offer.
    workshop = _event(coordinator, WORKSHOP | {"capacity": 10}, base + timedelta(days=10), 2)
    seats = [events.register(person, workshop.id) for person in people[:13]]
    events.withdraw(seats[4].user, seats[4].id)

    # A seminar in Milan, facilitated by a listener who lives there, each seat approved.
    sofia = accounts.find_by_email(_email(LISTENERS[6][0], "listener"))
    jonas = accounts.find_by_email(_email(LISTENERS[2][0], "listener"))
    start = base.replace(hour=8, minute=30) + timedelta(days=12)
    seminar = _event(coordinator, SEMINAR | {"facilitator_id": sofia.id}, start, 1.5)
    giulia = accounts.find_by_email(_email("Giulia Romano", "practitioner"))
    asked = [events.register(p, seminar.id) for p in (giulia, people[8], jonas)]
    events.approve(coordinator, asked[0].id)
    events.approve(coordinator, asked[2].id)


def practitioner_email() -> str:
    """The demo practitioner's sign-in (a conversation is booked for them)."""
    return _email(PRACTITIONERS[DEMO_PRACTITIONER][0], "practitioner")


def listener_email() -> str:
    """The demo listener's sign-in (the demo practitioner's conversation is with them)."""
    return _email(LISTENERS[DEMO_LISTENER][0], "listener")


def logins_text() -> str:
    return "\n".join(
        [
            "Demo sign-ins (password for all: " + PASSWORD + "):",
            f"  coordinator   {COORDINATOR}",
            f"  listener      {listener_email()}",
            f"  practitioner  {practitioner_email()}",
        ]
    )
