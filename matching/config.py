"""Defaults, then the instance's config.py, then the environment, then test overrides."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask
from limits import parse_many

from matching.engine import Weights
from matching.ical import DEFAULT_SUMMARY

CRISIS_RESOURCES = (
    "If you are in danger or thinking about harming yourself, please call your local "
    "emergency number now. In the US you can call or text 988; in the UK and Ireland, "
    "Samaritans answer on 116 123; elsewhere, findahelpline.com lists free, confidential "
    "lines."
)


LOOPBACK = ("127.0.0.1", "localhost", "::1")


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
    # Sign-in failures are counted per account and per address, in storage that every
    # worker shares (REDIS_URL). Only failures count; a successful sign-in never does.
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_KEY_PREFIX = "alongside"
    LOGIN_RATE_LIMIT = "10 per 15 minutes"  # failures per account (normalised e-mail)
    LOGIN_ADDRESS_RATE_LIMIT = "100 per 15 minutes"  # failures per client address
    # Counting in each process's memory is wrong with several workers; with PostgreSQL
    # (a production setup) the app refuses to start on it unless this says it is meant.
    LOGIN_LIMITS_IN_MEMORY = False
    # Server-side sessions: signed out after this long unused, and this long after sign-in.
    SESSION_IDLE_MINUTES = 60
    SESSION_MAX_HOURS = 12
    # How many proxies in front of the app set X-Forwarded-For/-Proto/-Host (0: none,
    # so those headers are ignored and the client address is the connection's).
    TRUSTED_PROXIES = 0
    TRUSTED_HOSTS = None  # default: the host of BASE_URL
    API_TOKEN_DAYS = 30
    # Links sent by e-mail work once, and for this long.
    VERIFY_LINK_HOURS = 24
    RESET_LINK_MINUTES = 60
    # One kind of account mail (verification, reset, "you have an account") goes to one
    # person at most once in this many minutes, however often someone asks for it.
    ACCOUNT_MAIL_MINUTES = 10
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
    CALENDAR_SUMMARY = DEFAULT_SUMMARY  # a conversation's calendar title (keep it neutral)
    # A video conversation without the listener's own link meets in a room made from
    # this template: {room} becomes a name nobody can guess, fixed for the conversation.
    VIDEO_ROOM_URL = "https://meet.jit.si/alongside-{room}"
    # Workshops and seminars: their calendar title (keep it neutral), and how long a seat
    # freed for the next person on the waiting list is held for them.
    EVENT_CALENDAR_SUMMARY = "Group session — Alongside"
    EVENT_OFFER_HOURS = 24

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
    # "auto": OR-Tools when the `fast` extra is installed, networkx otherwise.
    MATCH_SOLVER = "auto"
    # A round still marked running after this long was abandoned (its worker died).
    MATCH_ROUND_TIMEOUT_MINUTES = 15
    # A listener who has held this many conversations within this many days is offered
    # a debrief with a coordinator.
    DEBRIEF_AFTER_SESSIONS = 4
    DEBRIEF_WITHIN_DAYS = 14


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
    "VIDEO_ROOM_URL",
    "EVENT_CALENDAR_SUMMARY",
    "MATCH_SOLVER",
    "LOGIN_RATE_LIMIT",
    "LOGIN_ADDRESS_RATE_LIMIT",
)
ENV_INTS = (
    "MAIL_PORT",
    "MAIL_TIMEOUT",
    "MATCH_HORIZON_DAYS",
    "MATCH_SESSION_MINUTES",
    "MATCH_BUFFER_MINUTES",
    "MATCH_MIN_NOTICE_HOURS",
    "SESSION_IDLE_MINUTES",
    "SESSION_MAX_HOURS",
    "TRUSTED_PROXIES",
    "MATCH_ROUND_TIMEOUT_MINUTES",
    "EVENT_OFFER_HOURS",
    "VERIFY_LINK_HOURS",
    "RESET_LINK_MINUTES",
    "ACCOUNT_MAIL_MINUTES",
    "DEBRIEF_AFTER_SESSIONS",
    "DEBRIEF_WITHIN_DAYS",
)
ENV_BOOLS = (
    "MAIL_USE_TLS",
    "MAIL_USE_SSL",
    "SESSION_COOKIE_SECURE",
    "OUTBOX_DELIVER_AFTER_COMMIT",
    "LOGIN_LIMITS_IN_MEMORY",
)


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
        if env.get("TRUSTED_HOSTS"):
            app.config["TRUSTED_HOSTS"] = [h.strip() for h in env["TRUSTED_HOSTS"].split(",")]
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
        # Writers queue for SQLite's one write lock; give them time rather than an error.
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"timeout": 30}}
    _check_weights(app.config["MATCH_WEIGHTS"])
    if app.config["MATCH_SOLVER"] not in ("auto", "networkx", "ortools"):
        raise RuntimeError("MATCH_SOLVER must be auto, networkx or ortools")
    _check_limit_storage(app)
    _check_video_rooms(app.config["VIDEO_ROOM_URL"])
    if not 1 <= int(app.config["EVENT_OFFER_HOURS"]) <= 24 * 14:
        raise RuntimeError("EVENT_OFFER_HOURS must be between 1 and 336")
    _derive_from_base_url(app)


def _check_limit_storage(app: Flask) -> None:
    """Refuse per-process sign-in counting on a production database unless it is chosen."""
    for name in ("LOGIN_RATE_LIMIT", "LOGIN_ADDRESS_RATE_LIMIT"):
        try:
            parse_many(app.config[name])
        except ValueError as err:
            raise RuntimeError(f"{name}: {err}") from None
    in_memory = app.config["RATELIMIT_STORAGE_URI"].startswith("memory")
    production_db = app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")
    if in_memory and production_db and not app.config["LOGIN_LIMITS_IN_MEMORY"]:
        raise RuntimeError(
            "Sign-in limits need storage that every worker shares: set REDIS_URL, or set "
            "LOGIN_LIMITS_IN_MEMORY=true to count in each process's memory (one worker only)."
        )


def _derive_from_base_url(app: Flask) -> None:
    """Accept only BASE_URL's host, and send cookies over HTTPS only when it is https."""
    base = urlsplit(app.config["BASE_URL"])
    if app.config["TRUSTED_HOSTS"] is None and base.hostname:
        hosts = [base.hostname]
        if base.hostname in LOOPBACK:
            hosts = list(LOOPBACK)
        app.config["TRUSTED_HOSTS"] = hosts
    if base.scheme == "https":
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["REMEMBER_COOKIE_SECURE"] = True


def _check_video_rooms(template: str) -> None:
    """Refuse a room template that would give every conversation the same, or an open, room."""
    if "{room}" not in template or not template.startswith("https://"):
        raise RuntimeError("VIDEO_ROOM_URL must start with https:// and contain {room}")


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
