"""Defaults, then the instance's config.py, then the environment, then test overrides."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask

from matching.engine import Weights

CRISIS_RESOURCES = (
    "If you are in danger or thinking about harming yourself, please call your local "
    "emergency number now. In the US you can call or text 988; in the UK and Ireland, "
    "Samaritans answer on 116 123; elsewhere, findahelpline.com lists free, confidential "
    "lines. A coordinator will look at your request first."
)


class Defaults:
    SECRET_KEY = None  # set in the environment or instance/config.py; dev fallback below
    SQLALCHEMY_DATABASE_URI = None  # default: sqlite in the instance folder
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    MAX_CONTENT_LENGTH = 1024 * 1024
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_HTTPONLY = True
    WTF_CSRF_TIME_LIMIT = None
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    LOGIN_RATE_LIMIT = "10 per minute;50 per hour"
    API_TOKEN_DAYS = 30
    ARGON2_PARAMS: dict = {}  # e.g. {"time_cost": 1, "memory_cost": 8192} in tests only

    SERVICE_NAME = "Alongside"
    SERVICE_HOST = "alongside.localhost"  # used in UIDs and Message-IDs
    BASE_URL = "http://127.0.0.1:5000"
    CRISIS_RESOURCES = CRISIS_RESOURCES

    MAIL_SERVER = ""
    MAIL_PORT = 25
    MAIL_USE_TLS = False
    MAIL_USE_SSL = False
    MAIL_USERNAME = ""
    MAIL_PASSWORD = ""
    MAIL_DEFAULT_SENDER = "Alongside <no-reply@alongside.localhost>"
    MAIL_TIMEOUT = 10
    MAIL_OUTBOX_DIR = None  # default: instance/outbox
    OUTBOX_DELIVER_AFTER_COMMIT = True
    OUTBOX_MAX_ATTEMPTS = 8
    CALENDAR_SUMMARY = "Peer conversation — Alongside"

    MATCH_HORIZON_DAYS = 14
    MATCH_SESSION_MINUTES = 60
    MATCH_BUFFER_MINUTES = 15
    MATCH_MIN_NOTICE_HOURS = 24
    MATCH_WEIGHTS = {
        "field": 20,
        "topics": 20,
        "continuity": 15,
        "urgency": 15,
        "earliness": 15,
        "load": 15,
    }
    MATCH_SOLVER = "networkx"


ENV_STRINGS = (
    "SECRET_KEY",
    "SERVICE_HOST",
    "BASE_URL",
    "MAIL_SERVER",
    "MAIL_USERNAME",
    "MAIL_PASSWORD",
    "MAIL_DEFAULT_SENDER",
    "MAIL_OUTBOX_DIR",
    "CRISIS_RESOURCES",
    "CALENDAR_SUMMARY",
    "MATCH_SOLVER",
)
ENV_INTS = (
    "MAIL_PORT",
    "MAIL_TIMEOUT",
    "MATCH_HORIZON_DAYS",
    "MATCH_SESSION_MINUTES",
    "MATCH_BUFFER_MINUTES",
    "MATCH_MIN_NOTICE_HOURS",
)
ENV_BOOLS = ("MAIL_USE_TLS", "MAIL_USE_SSL", "SESSION_COOKIE_SECURE", "OUTBOX_DELIVER_AFTER_COMMIT")


def _truthy(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def load_config(app: Flask, test_config: dict | None) -> None:
    """Fill app.config from defaults, instance/config.py, the environment and overrides."""
    app.config.from_object(Defaults)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        env = os.environ
        if env.get("DATABASE_URL"):
            app.config["SQLALCHEMY_DATABASE_URI"] = env["DATABASE_URL"]
        if env.get("REDIS_URL"):
            app.config["RATELIMIT_STORAGE_URI"] = env["REDIS_URL"]
        for name in ENV_STRINGS:
            if env.get(name):
                app.config[name] = env[name]
        for name in ENV_INTS:
            if env.get(name):
                app.config[name] = int(env[name])
        for name in ENV_BOOLS:
            if env.get(name):
                app.config[name] = _truthy(env[name])
    else:
        app.config.update(test_config)

    instance = Path(app.instance_path)
    if not app.config["SQLALCHEMY_DATABASE_URI"]:
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{instance / 'alongside.sqlite'}"
    if not app.config["MAIL_OUTBOX_DIR"]:
        app.config["MAIL_OUTBOX_DIR"] = str(instance / "outbox")
    if not app.config["SECRET_KEY"]:
        if not (app.debug or app.testing or _local_only(app)):
            raise RuntimeError("SECRET_KEY must be set outside development")
        app.config["SECRET_KEY"] = _dev_secret(instance)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {}
    _check_weights(app.config["MATCH_WEIGHTS"])


def _check_weights(weights) -> None:
    """Refuse score weights the engine cannot use, at start-up rather than in a round."""
    try:
        Weights(**weights)
    except (TypeError, ValueError) as err:
        raise RuntimeError(f"MATCH_WEIGHTS: {err}") from None


def _local_only(app: Flask) -> bool:
    """True on the embedded default: SQLite and mail to files, i.e. a laptop demo."""
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    return uri.startswith("sqlite") and not app.config["MAIL_SERVER"]


def _dev_secret(instance: Path) -> str:
    """Keep a random development key in the instance folder, so sessions survive restarts."""
    path = instance / "dev-secret-key"
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key
