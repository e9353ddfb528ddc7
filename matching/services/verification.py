"""Single-use links by e-mail (address verification, password reset) and the account mails.

A link carries a random token; only its hash is stored (matching/tokens.py). It works
once and until it expires: VERIFY_LINK_HOURS for a verification, RESET_LINK_MINUTES for
a password reset. The account mails go through the outbox like every other mail, and
the outbox sends nothing but the verification mail to an address not yet confirmed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app, render_template

from matching.errors import Gone, Malformed
from matching.extensions import db
from matching.models import AccountToken, OutboxMessage, User, now_utc
from matching.services import outbox
from matching.tokens import hash_secret, new_secret

VERIFY, RESET = "verify", "reset"
# The outbox kinds of the account mails (outbox.VERIFICATION passes an unverified address).
KINDS = {VERIFY: outbox.VERIFICATION, RESET: "password_reset"}
ACCOUNT_EXISTS = "account_exists"
INVALID_LINK = "This link does not work: it may have been used already, or mistyped."
EXPIRED_LINK = "This link has expired. You can ask for a new one."


def lifetime(purpose: str) -> timedelta:
    cfg = current_app.config
    if purpose == VERIFY:
        return timedelta(hours=cfg["VERIFY_LINK_HOURS"])
    return timedelta(minutes=cfg["RESET_LINK_MINUTES"])


def issue(user: User, purpose: str, *, now: datetime | None = None) -> str:
    """Create a single-use token for the user; return the raw token (only its hash is kept)."""
    now = now or now_utc()
    raw = new_secret()
    db.session.add(
        AccountToken(
            user_id=user.id,
            purpose=purpose,
            token_hash=hash_secret(raw),
            created_at=now,
            expires_at=now + lifetime(purpose),
        )
    )
    db.session.flush()
    return raw


def find(raw, purpose: str, *, now: datetime | None = None) -> AccountToken:
    """The live token for a raw value (not used up): 400 if unknown or used, 410 if expired."""
    now = now or now_utc()
    row = None
    if isinstance(raw, str) and 0 < len(raw) <= 200:
        row = db.session.scalar(
            db.select(AccountToken)
            .where(AccountToken.token_hash == hash_secret(raw))
            .where(AccountToken.purpose == purpose)
        )
    if row is None or row.used_at is not None or not row.user.active:
        raise Malformed(INVALID_LINK, fields={"token": "not valid"}, code="invalid_token")
    if row.expires_at <= now:
        raise Gone(EXPIRED_LINK, fields={"token": "expired"}, code="token_expired")
    return row


def redeem(raw, purpose: str, *, now: datetime | None = None) -> User:
    """Use a token up and return its user; the other tokens of that purpose end with it.

    The token is marked used by a write that only one of two simultaneous clicks can win.
    """
    now = now or now_utc()
    row = find(raw, purpose, now=now)
    won = db.session.execute(
        db.update(AccountToken)
        .where(AccountToken.id == row.id)
        .where(AccountToken.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if won != 1:
        raise Malformed(INVALID_LINK, fields={"token": "not valid"}, code="invalid_token")
    end_tokens(row.user, purpose, now=now)
    return row.user


def end_tokens(user: User, purpose: str, *, now: datetime | None = None) -> None:
    """Make every unused token of this purpose stop working."""
    db.session.execute(
        db.update(AccountToken)
        .where(AccountToken.user_id == user.id)
        .where(AccountToken.purpose == purpose)
        .where(AccountToken.used_at.is_(None))
        .values(used_at=now or now_utc())
        .execution_options(synchronize_session=False)
    )


def _recently_sent(user: User, kind: str, now: datetime) -> bool:
    """Whether this kind of account mail was queued for the person a moment ago.

    Anyone can ask for these mails by typing an address, so one kind goes to one person at
    most once every ACCOUNT_MAIL_MINUTES: nobody's inbox can be flooded through us.
    """
    since = now - timedelta(minutes=current_app.config["ACCOUNT_MAIL_MINUTES"])
    found = db.session.scalar(
        db.select(OutboxMessage.id)
        .where(OutboxMessage.user_id == user.id)
        .where(OutboxMessage.kind == kind)
        .where(OutboxMessage.created_at > since)
        .limit(1)
    )
    return found is not None


def link(path: str) -> str:
    return f"{current_app.config['BASE_URL'].rstrip('/')}/{path.lstrip('/')}"


def _send(user: User, kind: str, template: str, subject: str, **context) -> None:
    cfg = current_app.config
    context = {
        "name": ((user.display_name or "").split() or ["there"])[0],
        "service": cfg["SERVICE_NAME"],
        "home": link("/"),
    } | context
    outbox.queue(
        recipient=user.email,
        user_id=user.id,
        subject=subject,
        text=render_template(f"emails/{template}.txt", **context),
        html=render_template(f"emails/{template}.html", **context),
        kind=kind,
    )


def _send_link(
    user: User, purpose: str, template: str, subject: str, path: str, now: datetime, **context
) -> bool:
    """Queue a mail with a fresh single-use link (path + token); False when one just went."""
    kind = KINDS[purpose]
    if _recently_sent(user, kind, now):
        return False
    raw = issue(user, purpose, now=now)
    _send(user, kind, template, subject, url=link(path + raw), **context)
    return True


def send_verification(user: User, *, now: datetime | None = None) -> bool:
    """Queue the verification mail with a fresh link; False when one just went."""
    return _send_link(
        user,
        VERIFY,
        "account_verify",
        f"Confirm your e-mail address for {current_app.config['SERVICE_NAME']}",
        "/verify/",
        now or now_utc(),
        hours=current_app.config["VERIFY_LINK_HOURS"],
    )


def send_account_exists(user: User, *, now: datetime | None = None) -> bool:
    """Tell the owner of an address that someone tried to register it again."""
    now = now or now_utc()
    if _recently_sent(user, ACCOUNT_EXISTS, now):
        return False
    _send(
        user,
        ACCOUNT_EXISTS,
        "account_exists",
        f"Your {current_app.config['SERVICE_NAME']} account",
        login_url=link("/login"),
        reset_url=link("/password-reset"),
    )
    return True


def send_reset(user: User, *, now: datetime | None = None) -> bool:
    """Queue a password-reset mail with a fresh link; False when one just went."""
    return _send_link(
        user,
        RESET,
        "password_reset",
        f"Choose a new password for {current_app.config['SERVICE_NAME']}",
        "/reset/",
        now or now_utc(),
        minutes=current_app.config["RESET_LINK_MINUTES"],
    )
