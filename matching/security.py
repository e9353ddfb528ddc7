"""Who is asking: session users, API tokens, role guards, safe redirects, addresses."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, g, request, session
from flask_login import current_user, login_user, logout_user
from werkzeug.middleware.proxy_fix import ProxyFix

from matching.extensions import db, login_manager
from matching.models import ApiToken, User, UserSession, now_utc

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
    row = session_record(session.get(SESSION_KEY))
    if row is None or row.user_id != int(user_id) or not row.user.active:
        return None
    return row.user


def session_record(raw) -> UserSession | None:
    """The live session record for a cookie's key; refreshes its last use now and then."""
    if not isinstance(raw, str) or not raw or len(raw) > 200:
        return None
    row = db.session.scalar(db.select(UserSession).where(UserSession.key_hash == hash_secret(raw)))
    if row is None:
        return None
    cfg = current_app.config
    now = now_utc()
    if now - row.last_seen_at > timedelta(minutes=cfg["SESSION_IDLE_MINUTES"]):
        return None
    if now - row.created_at > timedelta(hours=cfg["SESSION_MAX_HOURS"]):
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        # Users are loaded before any view runs (register below), so this commit holds
        # nothing but the touch.
        row.last_seen_at = now
        db.session.commit()
    return row


def begin_browser_session(user: User) -> None:
    """Sign this browser in with a new server-side session (a fresh cookie, no fixation)."""
    from matching.services import accounts  # a cycle: accounts uses hash_secret from here

    raw = accounts.start_session(user)
    db.session.commit()
    session.clear()
    session[SESSION_KEY] = raw
    login_user(user)


def browser_session_key() -> str | None:
    """The key of this browser's session (to keep it when others end)."""
    raw = session.get(SESSION_KEY)
    return raw if isinstance(raw, str) else None


def end_browser_session() -> None:
    """Forget this browser's session in the cookie (the caller deleted the record)."""
    logout_user()
    session.clear()


def new_secret() -> str:
    """Return a long random URL-safe token."""
    return secrets.token_urlsafe(32)


def hash_secret(raw: str) -> str:
    """Hash a high-entropy token for storage (tokens are random, so no salt is needed)."""
    return hashlib.sha256(raw.encode()).hexdigest()


def token_user(raw: str) -> tuple[User, ApiToken] | None:
    """Find the live token and its user for a raw bearer token."""
    row = db.session.scalar(db.select(ApiToken).where(ApiToken.token_hash == hash_secret(raw)))
    if row is None or row.revoked_at is not None or row.expires_at <= now_utc():
        return None
    if not row.user.active:
        return None
    return row.user, row


def guard_pages(bp: Blueprint, *roles: str) -> None:
    """Require a signed-in user with one of the roles for every route of a page blueprint."""

    @bp.before_request
    def _require_role():
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if roles and current_user.role not in roles:
            abort(403)
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


def guard_api(bp: Blueprint, *roles: str) -> None:
    """Require a bearer token (and one of the roles, if given) for every route of an API blueprint."""
    from matching.errors import NotAllowed, Unauthenticated

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


CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def register(app) -> None:
    """Trusted proxies, the audit address, early user loading, refusals, protective headers."""
    from matching.services import audit

    proxies = app.config["TRUSTED_PROXIES"]
    if proxies:
        app.wsgi_app = ProxyFix(
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies, x_port=proxies
        )
    hsts = urlsplit(app.config["BASE_URL"]).scheme == "https"

    @app.before_request
    def _who_is_asking():
        g.audit_address = audit.set_client_address(client_ip())
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
    from matching.services import audit

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
