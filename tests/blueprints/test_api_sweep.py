"""A property-based sweep over every operation in the app's own OpenAPI document.

Schemathesis reads /api/v1/openapi.json as the app serves it (however that document is
produced) and generates requests for each operation, valid and not, signed in as each
role or not at all; they run in-process against the WSGI app. Not one may answer 5xx.
Examples are bounded and derandomised, so the sweep is the same on every run.
"""

from __future__ import annotations

from datetime import timedelta

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import strategies as st
from schemathesis.generation.modes import GenerationMode

from matching import create_app
from matching.extensions import db
from matching.models import MatchingRound, Proposal, SupportRequest, User
from matching.services import accounts, events
from tests.support.events import new_event
from tests.support.meetings import book, future_start, make_pair

EXAMPLES = 20  # per operation
ROLES = ("coordinator", "practitioner", "listener", None)
METHODS = ("get", "put", "post", "delete", "patch")


def _operations() -> list[str]:
    """'METHOD /path' of every operation the served document lists (read at collection)."""
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "sweep", "SQLALCHEMY_DATABASE_URI": "sqlite://"}
    )
    doc = app.test_client().get("/api/v1/openapi.json").get_json()
    return sorted(
        f"{method.upper()} {path}"
        for path, item in doc["paths"].items()
        for method in item
        if method in METHODS
    )


@pytest.fixture
def app_config() -> dict:
    """Schemathesis's in-process client sends Host: localhost."""
    return {"TRUSTED_HOSTS": ["alongside.test", "localhost"]}


@pytest.fixture
def people(app, make_user):
    """One of each role, with a booked conversation, a request and a pending proposal, and
    a workshop the listener facilitates with a seat taken and a place on its waiting list."""
    pair = make_pair(make_user)
    book(app, pair, future_start(days=3))
    with app.app_context():
        req = SupportRequest(practitioner_id=pair.stranger, modalities=["video"], status="proposed")
        matching_round = MatchingRound(started_by_id=pair.coordinator)
        db.session.add_all([req, matching_round])
        db.session.flush()
        start = future_start(days=4)
        db.session.add(
            Proposal(
                round_id=matching_round.id,
                request_id=req.id,
                listener_id=pair.listener,
                start_at=start,
                end_at=start + timedelta(hours=1),
                score=50,
            )
        )
        db.session.commit()
    workshop = new_event(app, pair.coordinator, capacity=1, facilitator=pair.listener)
    with app.app_context():
        for person in (pair.practitioner, pair.stranger):
            events.register(db.session.get(User, person), workshop)
        db.session.commit()
    return {
        "coordinator": pair.coordinator,
        "practitioner": pair.practitioner,
        "listener": pair.listener,
    }


@pytest.mark.parametrize("operation", _operations())
def test_no_operation_answers_a_server_error(app, people, operation):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    method, path = operation.split(" ", 1)
    found = schema[path][method]
    # Requests that fit the document and requests that break it, half and half.
    strategy = st.one_of(
        found.as_strategy(GenerationMode.POSITIVE), found.as_strategy(GenerationMode.NEGATIVE)
    )

    def token_for(role):
        if role is None:
            return {}
        with app.app_context():
            token = accounts.issue_token(db.session.get(User, people[role]), 1)
            db.session.commit()
        return {"Authorization": f"Bearer {token}"}

    @hypothesis.settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
    )
    @given(case=strategy, role=st.sampled_from(ROLES))
    def sweep(case, role):
        response = case.call(headers=token_for(role))
        assert response.status_code < 500, (role, case.path_parameters, case.body, response.text)
        assert "Traceback" not in response.text

    sweep()
