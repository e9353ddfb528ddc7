"""Who is asking: session users, API tokens, role guards, safe redirects, addresses."""

from __future__ import annotations

import functools
import json
from datetime import timedelta
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, g, redirect, request, session, url_for
from flask_login import current_user, login_user, logout_user
from sqlalchemy import bindparam
from sqlalchemy.orm import joinedload
from werkzeug.middleware.proxy_fix import ProxyFix

from matching.errors import Malformed, NotAllowed, Unauthenticated
from matching.extensions import db, login_manager
from matching.models import ApiToken, User, UserSession, now_utc
from matching.services import accounts, audit, consent, validate
from matching.tokens import hash_secret

# JSON bodies nest no deeper than this: the API's largest body (availability) needs 3.
MAX_JSON_DEPTH = 16

# The signed cookie carries this random key; the database keeps only its hash.
SESSION_KEY = "sid"
# last_seen_at is written at most this often: the idle timeout is in minutes, so a
# minute's precision is enough, and most page views then write nothing at all.
TOUCH_EVERY = timedelta(minutes=1)


@login_manager.user_loader
def load_user(user_key: str) -> User | None:
    """The user of this browser's live session record, or None (signed out, expired)."""
    user_id, _, _ = user_key.partition(":")
    if not user_id.isdigit():
        return None
    user = session_user(session.get(SESSION_KEY))
    if user is None or user.id != int(user_id) or not user.active:
        return None
    return user


# The cookie also names the role signed in, as a hint only: it says which profile to
# read with the user (a wrong or missing hint costs one query later, nothing else).
ROLE_HINT = "role"
PROFILES = {"practitioner": User.practitioner_profile, "listener": User.listener_profile}


@functools.cache
def _session_lookup(consent_version: str, role_hint: str | None = None):
    """A session's user, times, and whether the user accepted this consent version.

    Every signed-in page runs it, so it is one query, built once (building a statement
    costs about as much as running it); a practitioner's or listener's profile, which
    nearly all their pages read, comes with it.
    """
    query = (
        db.select(
            User,
            UserSession.id,
            UserSession.created_at,
            UserSession.last_seen_at,
            consent.accepted_current(User.id, consent_version),
        )
        .join(UserSession, UserSession.user_id == User.id)
        .where(UserSession.key_hash == bindparam("key_hash"))
    )
    if role_hint in PROFILES:
        query = query.options(joinedload(PROFILES[role_hint]))
    return query


def session_user(raw) -> User | None:
    """The user of the live session record for a cookie's key; refreshes its last use now and then."""
    if not isinstance(raw, str) or not raw or len(raw) > 200:
        return None
    hint = session.get(ROLE_HINT)
    known = hint if isinstance(hint, str) and hint in PROFILES else None
    lookup = _session_lookup(consent.current_version(), known)
    found = db.session.execute(lookup, {"key_hash": hash_secret(raw)}).first()
    if found is None:
        return None
    user, session_id, created_at, last_seen_at, accepted = found
    cfg = current_app.config
    now = now_utc()
    if now - last_seen_at > timedelta(minutes=cfg["SESSION_IDLE_MINUTES"]):
        return None
    if now - created_at > timedelta(hours=cfg["SESSION_MAX_HOURS"]):
        return None
    consent.remember_accepted(user.id, accepted)
    if now - last_seen_at >= TOUCH_EVERY:
        # Users are loaded before any view runs (register below), so this commit holds
        # nothing but the touch.
        db.session.execute(
            db.update(UserSession).where(UserSession.id == session_id).values(last_seen_at=now)
        )
        db.session.commit()
    return user


def begin_browser_session(user: User) -> None:
    """Sign this browser in with a new server-side session (a fresh cookie, no fixation)."""
    raw = accounts.start_session(user)
    db.session.commit()
    session.clear()
    session[SESSION_KEY] = raw
    session[ROLE_HINT] = user.role
    login_user(user)


def browser_session_key() -> str | None:
    """The key of this browser's session (to keep it when others end)."""
    raw = session.get(SESSION_KEY)
    return raw if isinstance(raw, str) else None


def end_browser_session() -> None:
    """Forget this browser's session in the cookie (the caller deleted the record)."""
    logout_user()
    session.clear()


@functools.cache
def _token_lookup(consent_version: str):
    """A token with its user, and whether the user accepted this consent version: one query."""
    return (
        db.select(ApiToken, consent.accepted_current(ApiToken.user_id, consent_version))
        .where(ApiToken.token_hash == bindparam("token_hash"))
        .options(joinedload(ApiToken.user))
    )


def token_user(raw: str) -> tuple[User, ApiToken] | None:
    """Find the live token and its user for a raw bearer token."""
    found = db.session.execute(
        _token_lookup(consent.current_version()), {"token_hash": hash_secret(raw)}
    ).first()
    if found is None:
        return None
    row, accepted = found
    if row.revoked_at is not None or row.expires_at <= now_utc():
        return None
    consent.remember_accepted(row.user_id, accepted)
    if not row.user.active:
        return None
    return row.user, row


def guard_pages(bp: Blueprint, *roles: str, consent_needed: bool = True) -> None:
    """Require a signed-in user with one of the roles for every route of a page blueprint.

    Practitioners and listeners who have not accepted the current consent text are sent
    to the consent page first (and come back here); coordinators give none.
    """

    @bp.before_request
    def _require_role():
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if roles and current_user.role not in roles:
            abort(403)
        if consent_needed and consent.needs_consent(current_user):
            target = request.full_path if request.method == "GET" else None
            next_path = target.rstrip("?") if target and is_safe_next(target) else None
            return redirect(url_for("account.consent", next=next_path))
        return None


def api_user() -> User:
    """Return the user authenticated by the bearer token of this API request."""
    return g.api_user


def is_safe_next(target: str | None) -> bool:
    """Allow only local paths as redirect targets after sign-in."""
    if not target:
        return False
    if target.startswith("//") or "\\" in target or any(ord(c) < 32 for c in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc and target.startswith("/")


def client_ip() -> str:
    """The client's address: the connection's, or what the trusted proxies report."""
    return request.remote_addr or "unknown"


CONSENT_REQUIRED = "consent_required"


def guard_api(bp: Blueprint, *roles: str, consent_needed: bool = True) -> None:
    """Require a bearer token (and one of the roles, if given) for every route of an API blueprint.

    Practitioners and listeners who have not accepted the current consent text get 403
    consent_required (POST /api/v1/me/consent accepts it); coordinators give none.
    """

    @bp.before_request
    def _require_token():
        header = request.headers.get("Authorization", "")
        scheme, _, raw = header.partition(" ")
        found = token_user(raw.strip()) if scheme.lower() == "bearer" and raw.strip() else None
        if found is None:
            raise Unauthenticated("Send a valid token: Authorization: Bearer <token>.")
        g.api_user, g.api_token = found
        if roles and g.api_user.role not in roles:
            raise NotAllowed("Your role cannot do that.")
        if consent_needed and consent.needs_consent(g.api_user):
            raise NotAllowed(
                "Please read GET /api/v1/consent and accept it with POST /api/v1/me/consent.",
                code=CONSENT_REQUIRED,
            )


CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def check_api_input() -> None:
    """Refuse, before any view or schema reads them, API inputs no value may carry.

    A JSON body nested deeper than MAX_JSON_DEPTH is malformed (400): a deep body costs
    the parser and any recursive code after it. Control characters (NUL included) in a
    JSON key or string, or in a query parameter, are invalid values (422): no field
    takes them, and PostgreSQL cannot store NUL at all.
    """
    for name, value in request.args.items(multi=True):
        if validate.has_control(name):
            raise validate.invalid("query", validate.CONTROL_MESSAGE)
        if validate.has_control(value):
            raise validate.invalid(name, validate.CONTROL_MESSAGE)
    data = request.get_data(cache=True)
    if not data:
        return
    try:
        body = json.loads(data)
    except RecursionError:
        raise Malformed("The body is nested too deeply.") from None
    except ValueError:
        return  # the view answers 400 for a body that is not JSON
    stack = [(body, "", 1)]
    while stack:
        value, path, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise Malformed("The body is nested too deeply.")
        if isinstance(value, dict):
            for key, item in value.items():
                field = f"{path}.{key}" if path else key
                if validate.has_control(key):
                    raise validate.invalid(path or "body", validate.CONTROL_MESSAGE)
                stack.append((item, field, depth + 1))
        elif isinstance(value, list):
            stack.extend((item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value))
        elif isinstance(value, str) and validate.has_control(value):
            raise validate.invalid(path or "body", validate.CONTROL_MESSAGE)


def register(app) -> None:
    """Trusted proxies, input bounds, the audit address, user loading, refusals, headers."""
    proxies = app.config["TRUSTED_PROXIES"]
    if proxies:
        app.wsgi_app = ProxyFix(
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies, x_port=proxies
        )
    hsts = urlsplit(app.config["BASE_URL"]).scheme == "https"

    @app.before_request
    def _who_is_asking():
        g.audit_address = audit.set_client_address(client_ip())
        if request.path.startswith("/api/"):
            check_api_input()
        if request.endpoint != "static" and SESSION_KEY in session:
            # Load the session user now, before any view writes, so the occasional
            # last-seen update commits on its own.
            _ = current_user.is_authenticated

    @app.teardown_request
    def _forget_address(_exc):
        token = g.pop("audit_address", None)
        if token is not None:
            audit.reset_client_address(token)

    @app.after_request
    def _audit_refusal(response):
        if response.status_code == 403:
            _record_refusal()
        return response

    @app.after_request
    def _headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if response.mimetype == "text/html":
            response.headers.setdefault("Content-Security-Policy", CSP)
        if not request.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
        if hsts:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response


def _record_refusal() -> None:
    """Audit a 403 in its own transaction: whatever the refused request wrote is undone."""
    db.session.rollback()
    actor = g.get("api_user")
    if actor is None and current_user.is_authenticated:
        actor = current_user._get_current_object()
    audit.record(
        actor,
        "request.refused",
        "endpoint",
        None,
        f"Refused {request.method} {request.url_rule.rule if request.url_rule else 'unknown'}",
        method=request.method,
        endpoint=request.endpoint or "",
    )
    db.session.commit()
