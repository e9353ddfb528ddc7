"""The transactional outbox: mail is queued with the change it reports, sent after commit.

queue() only adds a row to the caller's transaction, so a rolled-back change sends
nothing. deliver_due() runs outside any request transaction: it claims due rows
(committing the claim before talking to SMTP), sends each through mail.py and
records the outcome. A worker that dies mid-send leaves its rows "sending" with a
lease; once the lease runs out another worker may claim them again.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from sqlalchemy import and_, event, or_, update
from sqlalchemy.orm import Session

from matching import mail
from matching.errors import Conflict, NotFound
from matching.extensions import db
from matching.models import OutboxMessage, User, now_utc
from matching.services import audit

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(hours=6)

# The only mail an address that is not yet confirmed may receive: the one confirming it.
VERIFICATION = "verification"

# Row ids written in the open transaction, and those whose transaction committed.
_WRITTEN = "outbox_written"
_COMMITTED = "outbox_committed"


def queue(
    *,
    recipient: str,
    subject: str,
    text: str,
    html: str,
    user_id: int | None = None,
    meeting_id: int | None = None,
    ics: bytes | None = None,
    ics_method: str | None = None,
    kind: str = "notice",
    dedupe_key: str | None = None,
) -> OutboxMessage | None:
    """Add one message to the current transaction; it leaves only if that commits.

    Nothing but the verification mail goes to the address of an account that has not
    confirmed it: any other message for it is dropped here (None), whoever queues it.
    """
    if kind != VERIFICATION and not _confirmed(recipient, user_id):
        log.info("outbox: not sending %s to an unconfirmed address", kind)
        return None
    row = OutboxMessage(
        kind=kind,
        dedupe_key=dedupe_key,
        recipient=recipient,
        user_id=user_id,
        meeting_id=meeting_id,
        subject=subject,
        text_body=text,
        html_body=html,
        ics=ics,
        ics_method=ics_method,
        status="queued",
        attempts=0,
        next_attempt_at=now_utc(),
    )
    db.session.add(row)
    db.session.flush()
    db.session.info.setdefault(_WRITTEN, set()).add(row.id)
    return row


def _confirmed(recipient: str, user_id: int | None) -> bool:
    """False when the message is for an account whose address is not confirmed yet."""
    query = db.select(User.email_verified_at)
    if user_id is not None:
        query = query.where(User.id == user_id)
    else:
        query = query.where(User.email == recipient.strip().lower())
    found = db.session.execute(query.limit(1)).first()
    return found is None or found.email_verified_at is not None


@event.listens_for(Session, "after_commit")
def _remember_committed(session: Session) -> None:
    written = session.info.pop(_WRITTEN, None)
    if written:
        session.info.setdefault(_COMMITTED, set()).update(written)


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back(session: Session) -> None:
    # The rows went with the transaction; their ids may even be reused.
    session.info.pop(_WRITTEN, None)


def take_committed() -> set[int]:
    """Return (and forget) the ids of messages whose transaction has committed."""
    return db.session.info.pop(_COMMITTED, set())


def deliver_committed(settings: Mapping) -> Counter:
    """Try to send the messages this request committed; never raise.

    Used on the embedded default so that invites leave without a worker. A
    message that cannot go now stays queued for the worker to retry.
    """
    ids = take_committed()
    if not ids or not settings.get("OUTBOX_DELIVER_AFTER_COMMIT"):
        return Counter()
    try:
        return deliver_due(settings, limit=len(ids), only_ids=ids)
    except Exception:
        log.exception("delivering mail after commit failed; it stays queued")
        db.session.rollback()
        return Counter()


def _due(now: datetime):
    return or_(
        and_(OutboxMessage.status == "queued", OutboxMessage.next_attempt_at <= now),
        and_(OutboxMessage.status == "sending", OutboxMessage.claimed_until < now),
    )


def claim(limit: int, *, now: datetime | None = None, only_ids: Iterable[int] | None = None):
    """Mark up to ``limit`` due messages as ours for one lease and commit; return their ids."""
    now = now or now_utc()
    candidates = db.select(OutboxMessage.id).where(_due(now)).order_by(OutboxMessage.id)
    if only_ids is not None:
        candidates = candidates.where(OutboxMessage.id.in_(list(only_ids)))
    candidates = candidates.limit(limit)
    mark = {"status": "sending", "claimed_until": now + LEASE}
    if db.session.get_bind().dialect.name == "postgresql":
        # Rows another worker holds are skipped rather than waited for.
        ids = list(db.session.scalars(candidates.with_for_update(skip_locked=True)))
        if ids:
            db.session.execute(
                update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(**mark),
                execution_options={"synchronize_session": False},
            )
    else:
        ids = []
        for row_id in list(db.session.scalars(candidates)):
            # The condition is checked again by the write itself: only one claimer wins.
            result = db.session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row_id)
                .where(_due(now))
                .values(**mark),
                execution_options={"synchronize_session": False},
            )
            if result.rowcount == 1:
                ids.append(row_id)
    db.session.commit()
    return ids


def outgoing(row: OutboxMessage, settings: Mapping) -> mail.OutgoingMail:
    """Return the e-mail for one outbox row; its Message-ID is the same on every attempt."""
    return mail.OutgoingMail(
        message_id=f"<outbox-{row.id}@{settings['SERVICE_HOST']}>",
        sender=settings["MAIL_DEFAULT_SENDER"],
        recipient=row.recipient,
        subject=row.subject,
        text=row.text_body,
        html=row.html_body,
        ics=row.ics,
        ics_method=row.ics_method,
        ics_filename="cancel.ics" if row.ics_method == "CANCEL" else "invite.ics",
        date=row.created_at,
    )


def retry_delay(attempts: int) -> timedelta:
    """Wait 1, 2, 4, ... minutes after each failed attempt, at most six hours."""
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LONGEST_RETRY)


def deliver_due(
    settings: Mapping,
    limit: int = 100,
    *,
    now: datetime | None = None,
    only_ids: Iterable[int] | None = None,
) -> Counter:
    """Claim due messages, send each and record the outcome; return counts by outcome."""
    now = now or now_utc()
    outcome: Counter = Counter()
    for row_id in claim(limit, now=now, only_ids=only_ids):
        row = db.session.get(OutboxMessage, row_id, populate_existing=True)
        if row is None:
            continue
        try:
            mail.deliver(mail.build_message(outgoing(row, settings)), settings)
        except mail.DeliveryError as err:
            _failed(row, str(err), temporary=err.temporary, now=now, settings=settings)
        except ValueError as err:
            # A message mail.py refuses to build will not improve by waiting.
            _failed(
                row, f"cannot build message: {err}", temporary=False, now=now, settings=settings
            )
        else:
            row.status = "sent"
            row.sent_at = now_utc()
            row.claimed_until = None
            row.last_error = ""
        outcome[row.status] += 1
        db.session.commit()
    return outcome


def _failed(
    row: OutboxMessage, error: str, *, temporary: bool, now: datetime, settings: Mapping
) -> None:
    row.attempts += 1
    row.last_error = error[:2000]
    row.claimed_until = None
    if not temporary or row.attempts >= int(settings.get("OUTBOX_MAX_ATTEMPTS") or 8):
        row.status = "failed"
        log.warning("outbox message %s failed: %s", row.id, error)
    else:
        row.status = "queued"
        row.next_attempt_at = now + retry_delay(row.attempts)


def retry(actor: User, message_id: int) -> OutboxMessage:
    """Put a failed message back in the queue, to be sent at the next delivery."""
    row = db.session.get(OutboxMessage, message_id)
    if row is None:
        raise NotFound("No such message.")
    if row.status != "failed":
        raise Conflict("Only a failed message can be retried.", code="not_failed")
    row.status = "queued"
    row.attempts = 0
    row.next_attempt_at = now_utc()
    audit.record(actor, "outbox.retry", "outbox_message", row.id, f"Retry mail to {row.recipient}")
    db.session.flush()
    return row


def failed_messages(limit: int = 100) -> list[OutboxMessage]:
    return list(
        db.session.scalars(
            db.select(OutboxMessage)
            .where(OutboxMessage.status == "failed")
            .order_by(OutboxMessage.id.desc())
            .limit(limit)
        )
    )


def status_counts() -> dict[str, int]:
    rows = db.session.execute(
        db.select(OutboxMessage.status, db.func.count()).group_by(OutboxMessage.status)
    ).all()
    return {status: count for status, count in rows}
