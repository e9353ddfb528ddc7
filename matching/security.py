"""Who is asking: session users, API tokens, role guards, safe redirects."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, g, request
from flask_login import current_user

from matching.errors import NotAllowed, Unauthenticated
from matching.extensions import db, login_manager
from matching.models import ApiToken, User, now_utc
from matching.tokens import hash_secret


@login_manager.user_loader
def load_user(user_key: str) -> User | None:
    """Load the session user; a changed session_version signs old sessions out."""
    user_id, _, version = user_key.partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or user.session_version != int(version):
        return None
    return user


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


def guard_api(bp: Blueprint, *roles: str) -> None:
    """Require a bearer token (and one of the roles, if given) for every route of an API blueprint."""

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
    """Send protective headers with every answer; pages about people are never cached."""

    @app.after_request
    def _headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if response.mimetype == "text/html":
            response.headers.setdefault("Content-Security-Policy", CSP)
        if not request.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response
