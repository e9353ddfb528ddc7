"""Accounts: registration, verification, sign-in, passwords, API tokens, export and erasure."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

from matching.errors import Conflict, Invalid, NotAllowed
from matching.extensions import db, failures
from matching.models import (
    AccountToken,
    ApiToken,
    AvailabilityWindow,
    ListenerProfile,
    PractitionerProfile,
    SupportRequest,
    TimeOff,
    User,
    UserSession,
    now_utc,
)
from matching.services import (
    audit,
    availability,
    consent,
    events,
    meetings,
    profiles,
    requests,
    rounds,
    transactions,
    validate,
    verification,
)
from matching.tokens import hash_secret, new_secret

SELF_SERVICE_ROLES = ("practitioner", "listener")


def _hasher() -> PasswordHasher:
    """argon2id with the library's recommended cost; tests may configure a cheaper one."""
    return _hasher_for(tuple(sorted(current_app.config.get("ARGON2_PARAMS", {}).items())))


@cache
def _hasher_for(params: tuple) -> PasswordHasher:
    return PasswordHasher(**dict(params))


def _dummy_hash() -> str:
    return _dummy_hash_for(_hasher())


@cache
def _dummy_hash_for(hasher: PasswordHasher) -> str:
    return hasher.hash(secrets.token_hex(16))


def hash_password(raw: str) -> str:
    return _hasher().hash(raw)


def password_matches(user: User | None, raw: str) -> bool:
    """Check a password; spend the same work whether or not the user exists."""
    stored = user.password_hash if user is not None else _dummy_hash()
    try:
        ok = _hasher().verify(stored, raw)
    except (VerificationError, InvalidHashError):
        return False
    return ok and user is not None


def find_by_email(address: str) -> User | None:
    return db.session.scalar(db.select(User).where(User.email == address.strip().lower()))


def register(
    *,
    email: str,
    password: str,
    role: str,
    display_name: str,
    timezone: str,
    allow_roles=SELF_SERVICE_ROLES,
    verified: bool = False,
) -> User:
    """Create an account with an empty profile from values a schema has loaded.

    Accounts made here by the command line and the demo start verified; people who sign
    up themselves go through sign_up, which verifies the address by e-mail first.
    """
    return _new_user(
        email=email,
        password_hash=hash_password(password),
        role=role,
        display_name=display_name,
        timezone=timezone,
        allow_roles=allow_roles,
        verified_at=now_utc() if verified else None,
    )


def _new_user(
    *,
    email: str,
    password_hash: str,
    role: str,
    display_name: str,
    timezone: str,
    allow_roles=SELF_SERVICE_ROLES,
    verified_at: datetime | None = None,
) -> User:
    if role not in allow_roles:
        raise Invalid("Choose " + " or ".join(allow_roles) + ".", fields={"role": "not allowed"})
    if find_by_email(email) is not None:
        raise _email_taken()
    user = User(
        email=email,
        password_hash=password_hash,
        role=role,
        display_name=display_name,
        timezone=timezone,
        email_verified_at=verified_at,
    )
    if role == "practitioner":
        user.practitioner_profile = PractitionerProfile()
    elif role == "listener":
        user.listener_profile = ListenerProfile()
    transactions.add_once(user, _email_taken())
    return user


def sign_up(
    *,
    email: str,
    password: str,
    role: str,
    display_name: str,
    timezone: str,
    consent_version: str,
    now: datetime | None = None,
) -> None:
    """Someone signs up: the same outcome to them whether or not the address is taken.

    A new address gets an account (with the consent recorded) and the verification mail.
    A taken one gets a mail for its owner instead: "you already have an account", or the
    verification mail again while the owner has not confirmed it. Both ways hash the
    password and queue one mail, so the time of the answer tells nothing either.
    """
    now = now or now_utc()
    consent.check_version(consent_version, "consent_version")
    password_hash = hash_password(password)
    existing = find_by_email(email)
    if existing is None:
        try:
            with transactions.savepoint():
                user = _new_user(
                    email=email,
                    password_hash=password_hash,
                    role=role,
                    display_name=display_name,
                    timezone=timezone,
                )
                consent.accept(user, consent_version, now=now)
        except Conflict:
            # Another sign-up of this address won the race; its owner is told as below.
            existing = find_by_email(email)
        else:
            verification.send_verification(user, now=now)
            return
    if existing is not None and existing.active:
        if existing.email_verified:
            verification.send_account_exists(existing, now=now)
        else:
            verification.send_verification(existing, now=now)


def verify_email(raw_token, *, now: datetime | None = None) -> User:
    """Confirm an address with the token from its verification mail; return the account."""
    now = now or now_utc()
    user = verification.redeem(raw_token, verification.VERIFY, now=now)
    if not user.email_verified:
        user.email_verified_at = now
        audit.record(user, "user.email_verified", "user", user.id, "E-mail address confirmed")
    db.session.flush()
    return user


def request_password_reset(email, *, now: datetime | None = None) -> None:
    """Mail a reset link if the address has an account (the caller answers the same anyway).

    An address not confirmed yet gets the verification mail instead: nothing else is sent
    to it, and once confirmed its owner can ask again.
    """
    user = find_by_email(email) if isinstance(email, str) else None
    if user is None or not user.active:
        return
    if user.email_verified:
        verification.send_reset(user, now=now)
    else:
        verification.send_verification(user, now=now)


def reset_password(raw_token, new_password: str, *, now: datetime | None = None) -> User:
    """Set a new password with a reset link; every session, token and feed address ends."""
    user = verification.redeem(raw_token, verification.RESET, now=now)
    _set_password(user, new_password, "user.password_reset", "Password reset by e-mail")
    return user


def update_me(user: User, values: dict) -> dict:
    """Change my name or zone; weekly times keep their wall-clock hours in the new zone."""
    for name in ("display_name", "timezone"):
        if name in values:
            setattr(user, name, values[name])
    db.session.flush()
    return public_user(user)


def _email_taken() -> Conflict:
    return Conflict(
        "An account with that e-mail already exists.",
        fields={"email": "already registered"},
        code="email_taken",
    )


def authenticate(email, password) -> User | None:
    """Return the active user for these credentials, or None (same path for unknown e-mail)."""
    if not isinstance(email, str) or not isinstance(password, str):
        password_matches(None, "")
        return None
    user = find_by_email(email)
    if user is not None and not user.active:
        user = None
    return user if password_matches(user, password) else None


@dataclass(frozen=True)
class SignIn:
    """What a sign-in attempt came to: the user, or why not."""

    user: User | None
    limited: bool = False
    # The password was right but the address is not confirmed yet (a new link was sent).
    unverified: bool = False


def _account_key(email) -> str | None:
    """The failure-count key of the account an attempt names (hashed: no address in Redis)."""
    if not isinstance(email, str) or not email.strip():
        return None
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def sign_in(email, password, *, address: str) -> SignIn:
    """Check credentials, counting failures per account and per address; audited.

    One count serves every way in (pages and API) and, with shared storage, every
    worker. Only failures count: many people signing in from one address are never
    held up. Once an account or an address has used up its failures, attempts are
    refused (even a right password waits) until the window moves on.
    """
    for value, field in ((email, "email"), (password, "password")):
        if isinstance(value, str) and validate.has_control(value):
            raise validate.invalid(field, validate.CONTROL_MESSAGE)
    cfg = current_app.config
    account = _account_key(email)
    named = find_by_email(email) if account else None
    scope = None
    if account and failures.exceeded(cfg["LOGIN_RATE_LIMIT"], "signin-account", account):
        scope = "account"
    elif failures.exceeded(cfg["LOGIN_ADDRESS_RATE_LIMIT"], "signin-address", address):
        scope = "address"
    if scope:
        audit.record(
            None,
            "signin.limited",
            "user",
            named.id if named else None,
            f"Sign-in refused: too many failures for this {scope}",
            scope=scope,
        )
        db.session.flush()
        return SignIn(None, limited=True)
    user = authenticate(email, password)
    if user is None:
        if account:
            failures.hit(cfg["LOGIN_RATE_LIMIT"], "signin-account", account)
        failures.hit(cfg["LOGIN_ADDRESS_RATE_LIMIT"], "signin-address", address)
        audit.record(None, "signin.failed", "user", named.id if named else None, "Sign-in failed")
        db.session.flush()
        return SignIn(None)
    if not user.email_verified:
        verification.send_verification(user)
        audit.record(user, "signin.unverified", "user", user.id, "Sign-in before confirming")
        db.session.flush()
        return SignIn(None, unverified=True)
    audit.record(user, "signin.succeeded", "user", user.id, "Signed in")
    db.session.flush()
    return SignIn(user)


def start_session(user: User, *, now: datetime | None = None) -> str:
    """Open a server-side session; return its key (only the hash is stored)."""
    now = now or now_utc()
    raw = new_secret()
    _end_expired_sessions(user, now)
    db.session.add(
        UserSession(user_id=user.id, key_hash=hash_secret(raw), created_at=now, last_seen_at=now)
    )
    db.session.flush()
    return raw


def _end_expired_sessions(user: User, now: datetime) -> None:
    cfg = current_app.config
    db.session.execute(
        db.delete(UserSession)
        .where(UserSession.user_id == user.id)
        .where(
            (UserSession.last_seen_at < now - timedelta(minutes=cfg["SESSION_IDLE_MINUTES"]))
            | (UserSession.created_at < now - timedelta(hours=cfg["SESSION_MAX_HOURS"]))
        )
    )


def end_session(user: User | None, raw: str | None) -> None:
    """Sign one browser out: its session record is deleted, so its cookie stops working."""
    if raw:
        db.session.execute(db.delete(UserSession).where(UserSession.key_hash == hash_secret(raw)))
    if user is not None:
        audit.record(user, "user.signed_out", "user", user.id, "Signed out")
    db.session.flush()


def end_sessions(user: User, *, keep: str | None = None) -> None:
    """End every session of the user (but the one whose key is ``keep``)."""
    query = db.delete(UserSession).where(UserSession.user_id == user.id)
    if keep:
        query = query.where(UserSession.key_hash != hash_secret(keep))
    db.session.execute(query)


def session_count(user: User, *, now: datetime | None = None) -> int:
    """How many browsers are signed in as this person now."""
    now = now or now_utc()
    cfg = current_app.config
    return db.session.scalar(
        db.select(db.func.count())
        .select_from(UserSession)
        .where(UserSession.user_id == user.id)
        .where(UserSession.last_seen_at >= now - timedelta(minutes=cfg["SESSION_IDLE_MINUTES"]))
        .where(UserSession.created_at >= now - timedelta(hours=cfg["SESSION_MAX_HOURS"]))
    )


def _revoke_tokens(user: User) -> None:
    for token in db.session.scalars(db.select(ApiToken).where(ApiToken.user_id == user.id)):
        token.revoked_at = token.revoked_at or now_utc()


def sign_out_everywhere(user: User) -> None:
    """End every browser session and API token of the user (this browser's too)."""
    end_sessions(user)
    _revoke_tokens(user)
    user.session_version += 1
    audit.record(user, "user.signed_out_everywhere", "user", user.id, "Signed out everywhere")
    db.session.flush()


def change_password(user: User, current: str, new: str, *, keep_session: str | None = None) -> None:
    """Set a new password; every other session, every API token and the feed URL end."""
    if not password_matches(user, current):
        raise Invalid(
            "That is not your current password.", fields={"current_password": "does not match"}
        )
    _set_password(user, new, "user.password_changed", "Password changed", keep=keep_session)


def _set_password(
    user: User, new: str, action: str, summary: str, *, keep: str | None = None
) -> None:
    """Store a new password and end every other way in: sessions, API tokens, feed address."""
    user.password_hash = hash_password(new)
    user.session_version += 1
    end_sessions(user, keep=keep)
    _revoke_tokens(user)
    user.feed_token_hash = None
    verification.end_tokens(user, verification.RESET)
    audit.record(user, action, "user", user.id, summary)
    db.session.flush()


def create_coordinator(*, email: str, password: str, display_name: str) -> User:
    """Create a coordinator from values a schema has loaded; audited."""
    user = register(
        email=email,
        password=password,
        role="coordinator",
        display_name=display_name,
        timezone="UTC",
        allow_roles=("coordinator",),
        verified=True,
    )
    audit.record(None, "coordinator.created", "user", user.id, f"Coordinator {user.email} created")
    return user


def issue_token(user: User, days: int) -> str:
    """Create an API token; only its hash is stored."""
    raw = new_secret()
    db.session.add(
        ApiToken(
            user_id=user.id,
            token_hash=hash_secret(raw),
            expires_at=now_utc() + timedelta(days=days),
        )
    )
    db.session.flush()
    return raw


def revoke_token(token: ApiToken) -> None:
    token.revoked_at = now_utc()
    db.session.flush()


def rotate_feed_token(user: User) -> str:
    """Give the user a new private calendar-feed token; the old one stops working."""
    raw = new_secret()
    user.feed_token_hash = hash_secret(raw)
    db.session.flush()
    return raw


def revoke_feed_token(user: User) -> None:
    user.feed_token_hash = None
    db.session.flush()


def user_for_feed(raw: str) -> User | None:
    if not raw or len(raw) > 200:
        return None
    user = db.session.scalar(db.select(User).where(User.feed_token_hash == hash_secret(raw)))
    return user if user is not None and user.active else None


def public_user(user: User) -> dict:
    return {
        "id": user.id,
        "email": user.email,
        "role": user.role,
        "display_name": user.display_name,
        "timezone": user.timezone,
    }


def export_user(user: User) -> dict:
    """Everything stored about one person, for them to take away."""
    requests_rows = db.session.scalars(
        db.select(SupportRequest)
        .where(SupportRequest.practitioner_id == user.id)
        .order_by(SupportRequest.id)
    )
    return {
        "user": public_user(user)
        | {
            "created_at": user.created_at.isoformat(),
            "active": user.active,
            "email_verified_at": (
                user.email_verified_at.isoformat() if user.email_verified_at else None
            ),
        },
        "consents": consent.consents_of(user),
        "profile": profiles.profile_dict(user),
        "availability": availability.availability_dict(user),
        "time_off": availability.time_off_list(user),
        "requests": requests.request_dicts(list(requests_rows), include_note=True),
        "meetings": [meetings.meeting_dict(m) for m in meetings.meetings_for(user)],
        "feedback": meetings.feedback_by(user),
        "registrations": events.registrations_by(user),
        "calendar_feed_active": user.feed_token_hash is not None,
    }


def erase_user(user: User, password: str) -> None:
    """Cancel future meetings (with invites), then erase personal data and close the account."""
    if user.role not in SELF_SERVICE_ROLES:
        raise NotAllowed("Coordinator accounts are closed by another coordinator.")
    if not password_matches(user, password if isinstance(password, str) else ""):
        raise Invalid("That is not your password.", fields={"password": "does not match"})
    # The other person hears that the conversation is cancelled, and no reason.
    meetings.cancel_future_meetings_of(user, reason="")
    events.withdraw_everything_of(user)
    for req in db.session.scalars(
        db.select(SupportRequest).where(SupportRequest.practitioner_id == user.id)
    ):
        req.note = ""
        req.topics = []
        req.phone = None
        if req.status in ("open", "proposed"):
            req.status = "withdrawn"
    rounds.stale_pending_for_user(user)
    for model in (AvailabilityWindow, TimeOff):
        db.session.execute(db.delete(model).where(model.user_id == user.id))
    for model in (ApiToken, AccountToken):
        db.session.execute(db.delete(model).where(model.user_id == user.id))
    end_sessions(user)
    user.practitioner_profile = None
    user.listener_profile = None
    user.email = f"erased-{user.id}@invalid.invalid"
    user.display_name = "Former member"
    user.password_hash = hash_password(new_secret())
    user.feed_token_hash = None
    user.active = False
    user.erased_at = now_utc()
    user.session_version += 1
    audit.record(user, "user.erased", "user", user.id, "Account closed and personal data erased")
    db.session.flush()
