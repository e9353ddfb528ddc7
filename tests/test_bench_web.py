"""bench/web.py seeds the data the app itself would hold: a round runs over it."""

import importlib.util
from pathlib import Path

from matching.extensions import db
from matching.models import ListenerProfile, Meeting, SupportRequest, User
from matching.services import rounds

BENCH = Path(__file__).resolve().parents[1] / "bench" / "web.py"


def _bench():
    spec = importlib.util.spec_from_file_location("bench_web", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_web_benchmark_seeds_a_programme_a_round_can_match(app):
    bench = _bench()
    ids = bench.seed(app, 40, 12)
    with app.app_context():
        count = db.select(db.func.count())
        assert db.session.scalar(count.where(SupportRequest.status == "open")) == 41
        assert db.session.scalar(count.select_from(ListenerProfile)) == 13
        assert db.session.scalar(count.select_from(Meeting)) > 0
        assert db.session.get(SupportRequest, ids["request_with_note"]).note
        coordinator = db.session.scalar(db.select(User).where(User.role == "coordinator"))
        matching_round = rounds.run_round(coordinator)
        db.session.commit()
        assert matching_round.proposals
        assert matching_round.unmatched  # the Polish speakers find no listener
