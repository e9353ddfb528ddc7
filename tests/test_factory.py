"""The application factory, configuration and command-line tools."""

from __future__ import annotations

import subprocess
import sys

import pytest

from matching import create_app
from matching.extensions import db
from matching.models import AuditEvent, ListenerProfile, SupportRequest, User


def test_importing_the_package_touches_nothing(tmp_path):
    code = (
        "import sys, matching, matching.models, matching.services.accounts;"
        "print('flask_sqlalchemy' in sys.modules, matching.__file__ is not None)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, check=True
    )
    assert out.stdout.split() == ["True", "True"]
    assert not any(tmp_path.iterdir())  # no database, no instance folder written


def test_testing_config_is_applied():
    app = create_app({"TESTING": True, "SECRET_KEY": "k", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.testing
    assert app.config["SECRET_KEY"] == "k"
    assert app.config["MAX_CONTENT_LENGTH"] == 1024 * 1024


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ({"field": 60, "topics": 60}, "at most 100, not 180"),
        ({"load": -5}, "at least 0"),
        ({"load": 7.5}, "whole numbers"),
        ({"kindness": 5}, "kindness"),
    ],
)
def test_score_weights_the_engine_cannot_use_stop_the_start(weights, message):
    config = {"TESTING": True, "SECRET_KEY": "k", "SQLALCHEMY_DATABASE_URI": "sqlite://"}
    config["MATCH_WEIGHTS"] = {**create_app(config).config["MATCH_WEIGHTS"], **weights}
    with pytest.raises(RuntimeError, match=f"MATCH_WEIGHTS: .*{message}"):
        create_app(config)


def test_production_refuses_to_start_without_a_secret(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://u@db.invalid/alongside")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app()


def test_environment_configures_mail_and_database(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://u@db.invalid/alongside")
    monkeypatch.setenv("SECRET_KEY", "from-env")
    monkeypatch.setenv("MAIL_SERVER", "smtp.example.org")
    monkeypatch.setenv("MAIL_PORT", "587")
    monkeypatch.setenv("MAIL_USE_TLS", "true")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg://")
    assert (app.config["MAIL_SERVER"], app.config["MAIL_PORT"], app.config["MAIL_USE_TLS"]) == (
        "smtp.example.org",
        587,
        True,
    )
    assert app.config["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/0"


def test_create_coordinator_reads_password_from_stdin(app, runner):
    result = runner.invoke(
        args=["create-coordinator", "Chief@Example.org"], input="a long enough secret\n"
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.scalars(db.select(User)).one()
        assert (user.email, user.role) == ("chief@example.org", "coordinator")
        assert db.session.scalars(db.select(AuditEvent)).one().action == "coordinator.created"


@pytest.mark.parametrize(
    ("email", "password", "message"),
    [
        ("chief@example.org", "short", "12 characters"),
        ("not-an-email", "a long enough secret", "e-mail"),
    ],
)
def test_create_coordinator_rejects_bad_input(app, runner, email, password, message):
    result = runner.invoke(args=["create-coordinator", email], input=password + "\n")
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(User)) == 0


def test_seed_demo_is_idempotent(app, runner):
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    assert "Demo data loaded" in first.output

    def snapshot():
        with app.app_context():
            return (
                db.session.scalar(db.select(db.func.count()).select_from(User)),
                db.session.scalar(db.select(db.func.count()).select_from(SupportRequest)),
                db.session.scalar(db.select(db.func.count()).select_from(AuditEvent)),
            )

    before = snapshot()
    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0
    assert "nothing changed" in second.output
    assert snapshot() == before

    with app.app_context():
        listeners = db.session.scalars(db.select(ListenerProfile)).all()
        users = db.session.scalars(db.select(User)).all()
        assert len(listeners) >= 8
        assert sum(1 for u in users if u.role == "practitioner") >= 12
        assert sum(1 for u in users if u.role == "coordinator") == 1
        assert len({u.timezone for u in users if u.role == "listener"}) >= 3
        assert len({lang for lp in listeners for lang in lp.languages}) >= 3
        assert len({lp.organization for lp in listeners}) >= 3
        assert before[1] >= 12


def test_the_engine_imports_without_the_web_stack(tmp_path):
    code = (
        "import sys, matching.engine;"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('flask', 'sqlalchemy', 'flask_sqlalchemy')"
        " or m.startswith('matching.models') or m.startswith('matching.services')];"
        "print(bad)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, check=True
    )
    assert out.stdout.strip() == "[]"
