"""The coordinator's round pages: run a round, review it, decide through the forms."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from matching.extensions import db
from matching.models import MatchingRound, Meeting, Proposal, SupportRequest, User, now_utc

ALL_WEEK = [(day, "08:00", "20:00") for day in range(7)]
NOTE = "Rough month after a case review; evenings are easier."


@pytest.fixture
def setup(app, make_user, login):
    ids = {
        "coordinator": make_user("coordinator", email="cora@example.org", timezone="Asia/Tokyo"),
        "listener": make_user(
            "listener", name="Lena Listener", windows=ALL_WEEK, timezone="Europe/Berlin"
        ),
        "practitioner": make_user(
            "practitioner", name="Pia Practitioner", windows=ALL_WEEK, timezone="America/Chicago"
        ),
        "unmatched": make_user("practitioner", name="Pawel", languages=["pl"], windows=ALL_WEEK),
    }
    with app.app_context():
        db.session.add(
            SupportRequest(practitioner_id=ids["practitioner"], modalities=["video"], note=NOTE)
        )
        db.session.add(
            SupportRequest(
                practitioner_id=ids["unmatched"], modalities=["video"], note="Polish only"
            )
        )
        db.session.commit()
    assert login("cora@example.org").status_code == 302
    return ids


def only_round(app) -> MatchingRound:
    with app.app_context():
        matching_round = db.session.scalar(db.select(MatchingRound))
        db.session.expunge_all()
        return matching_round


def only_proposal(app) -> Proposal:
    with app.app_context():
        proposal = db.session.scalar(db.select(Proposal))
        db.session.expunge_all()
        return proposal


def test_the_nav_leads_to_rounds(client, setup):
    page = client.get("/coordinator/rounds")
    assert page.status_code == 200
    assert 'href="/coordinator/rounds"' in page.text
    assert "No rounds yet." in page.text


def test_run_a_round_and_review_it(app, client, setup):
    r = client.post("/coordinator/rounds")
    assert r.status_code == 302
    matching_round = only_round(app)
    assert r.headers["Location"].endswith(f"/coordinator/rounds/{matching_round.id}")

    page = client.get(r.headers["Location"])
    assert page.status_code == 200
    html = page.text
    assert "1 proposed, 1 still waiting" in html
    assert "Pia Practitioner with Lena Listener" in html
    proposal = only_proposal(app)
    for zone in ("Asia/Tokyo", "America/Chicago", "Europe/Berlin"):
        assert app.jinja_env.filters["localtime"](proposal.start_at, zone) in html
    assert f"{proposal.score} of 100" in html
    for reason in proposal.reasons:
        assert f"<li>{reason}</li>" in html
    assert "Approve</button>" in html
    assert "Reject — never again</button>" in html
    # The private note is shown to coordinators, apart from the reasons.
    assert NOTE.replace("'", "&#39;") in html
    assert not any("case review" in reason for reason in proposal.reasons)
    assert "no verified listener speaks Polish" in html
    assert "Polish only" in html

    listing = client.get("/coordinator/rounds")
    assert f'href="/coordinator/rounds/{matching_round.id}"' in listing.text


def test_approve_through_the_form(app, client, setup):
    client.post("/coordinator/rounds")
    proposal = only_proposal(app)
    r = client.post(f"/coordinator/proposals/{proposal.id}/approve", follow_redirects=True)
    assert r.status_code == 200
    assert "Approved." in r.text
    assert "Approve</button>" not in r.text
    with app.app_context():
        meeting = db.session.scalar(db.select(Meeting))
        assert meeting.proposal_id == proposal.id
        assert db.session.get(SupportRequest, proposal.request_id).status == "scheduled"


def test_a_conflict_on_approve_is_a_calm_flash(app, client, setup):
    client.post("/coordinator/rounds")
    proposal = only_proposal(app)
    with app.app_context():
        db.session.get(User, proposal.listener_id).listener_profile.verified_at = None
        db.session.commit()
    r = client.post(f"/coordinator/proposals/{proposal.id}/approve", follow_redirects=True)
    assert r.status_code == 200
    assert "This time can no longer be booked" in r.text
    assert 'class="flash warning"' in r.text
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Meeting)) == 0
        assert db.session.get(Proposal, proposal.id).status == "pending"


@pytest.mark.parametrize(
    ("data", "never_again", "message"),
    [({}, False, "goes back into the next round"), ({"never_again": "1"}, True, "not be proposed")],
)
def test_reject_through_the_form(app, client, setup, data, never_again, message):
    client.post("/coordinator/rounds")
    proposal = only_proposal(app)
    r = client.post(
        f"/coordinator/proposals/{proposal.id}/reject", data=data, follow_redirects=True
    )
    assert message in r.text
    with app.app_context():
        decided = db.session.get(Proposal, proposal.id)
        assert (decided.status, decided.never_again) == ("rejected", never_again)
        assert db.session.get(SupportRequest, proposal.request_id).status == "open"
    again = client.post(f"/coordinator/proposals/{proposal.id}/reject", follow_redirects=True)
    assert "already rejected" in again.text


def test_unknown_rounds_and_proposals_are_404(client, setup):
    assert client.get("/coordinator/rounds/99").status_code == 404
    assert client.post("/coordinator/proposals/99/approve").status_code == 404
    assert client.post("/coordinator/proposals/99/reject").status_code == 404


@pytest.mark.parametrize("role", ["practitioner", "listener"])
def test_other_roles_cannot_see_rounds(app, client, make_user, login, role):
    make_user(role, email=f"{role}@example.org")
    login(f"{role}@example.org")
    assert client.get("/coordinator/rounds").status_code == 403
    assert client.post("/coordinator/rounds").status_code == 403
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(MatchingRound)) == 0


def test_signed_out_visitors_are_sent_to_sign_in(client):
    r = client.post("/coordinator/rounds")
    assert r.status_code in (302, 401)
    assert client.get("/coordinator/rounds").status_code in (302, 401)


class TestWithCsrf:
    @pytest.fixture
    def app_config(self):
        return {"WTF_CSRF_ENABLED": True}

    def test_a_post_without_token_is_refused(self, app, client, make_user):
        make_user("coordinator", email="cora@example.org")
        login_page = client.get("/login")
        token = _token(login_page.text)
        client.post(
            "/login",
            data={"email": "cora@example.org", "password": "correct horse battery staple"}
            | {"csrf_token": token},
        )
        assert client.get("/coordinator/rounds").status_code == 200
        assert client.post("/coordinator/rounds").status_code == 400
        with app.app_context():
            assert db.session.scalar(db.select(db.func.count()).select_from(MatchingRound)) == 0
        page = client.get("/coordinator/rounds")
        assert (
            client.post("/coordinator/rounds", data={"csrf_token": _token(page.text)}).status_code
            == 302
        )


def _token(html: str) -> str:
    """The CSRF token of the first form on the page, whichever attribute comes first."""
    tag = re.search(r'<input[^>]*name="csrf_token"[^>]*>', html).group(0)
    return re.search(r'value="([^"]+)"', tag).group(1)


def _round_with(app, make_user, n: int) -> int:
    """A round with n proposals (each its own pair) and n unmatched requests, written directly."""
    start = now_utc().replace(microsecond=0) + timedelta(days=3)
    with app.app_context():
        matching_round = MatchingRound(parameters={}, statistics={"matched": n}, unmatched=[])
        db.session.add(matching_round)
        db.session.commit()
        round_id = matching_round.id
    unmatched = []
    for i in range(n):
        practitioner = make_user("practitioner", timezone="America/Chicago")
        listener = make_user("listener", timezone="Europe/Berlin")
        waiting = make_user("practitioner")
        with app.app_context():
            req = SupportRequest(practitioner_id=practitioner, status="proposed", note=f"note {i}")
            other = SupportRequest(practitioner_id=waiting, note=f"waiting {i}")
            db.session.add_all([req, other])
            db.session.flush()
            db.session.add(
                Proposal(
                    round_id=round_id,
                    request_id=req.id,
                    listener_id=listener,
                    start_at=start + timedelta(hours=2 * i),
                    end_at=start + timedelta(hours=2 * i, minutes=60),
                    score=60,
                    parts={"field": 20, "topics": 20, "load": 20},
                    reasons=["both speak English"],
                )
            )
            unmatched.append({"request_id": other.id, "reasons": ["no shared time"]})
            db.session.commit()
    with app.app_context():
        db.session.get(MatchingRound, round_id).unmatched = unmatched
        db.session.commit()
    return round_id


def test_the_round_page_costs_the_same_queries_for_3_or_12_proposals(
    app, client, setup, make_user, count_queries
):
    small = _round_with(app, make_user, 3)
    large = _round_with(app, make_user, 12)
    client.get(f"/coordinator/rounds/{small}")  # warm up: first request loads extras
    with count_queries() as few:
        page = client.get(f"/coordinator/rounds/{small}")
    assert page.text.count('id="proposal-') == 3
    with count_queries() as many:
        page = client.get(f"/coordinator/rounds/{large}")
    assert page.text.count('id="proposal-') == 12
    assert page.text.count('id="unmatched-') == 12
    assert few["n"] == many["n"]


def test_the_rounds_list_costs_the_same_queries_for_any_number_of_rounds(
    app, client, setup, count_queries
):
    def add_rounds(n):
        with app.app_context():
            coordinator = db.session.get(User, setup["coordinator"])
            for _ in range(n):
                db.session.add(MatchingRound(started_by=coordinator, statistics={}, unmatched=[]))
            db.session.commit()

    add_rounds(2)
    client.get("/coordinator/rounds")
    with count_queries() as few:
        client.get("/coordinator/rounds")
    add_rounds(10)
    with count_queries() as many:
        page = client.get("/coordinator/rounds")
    assert page.text.count("Review</a>") == 12
    assert few["n"] == many["n"]
