"""Build one e-mail and deliver it, to a file in the outbox folder or over SMTP.

This is the only module that talks to SMTP. It takes plain data and a settings
mapping (the app's config works), so it runs without an app or a database.
"""

from __future__ import annotations

import hashlib
import os
import re
import smtplib
import ssl
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

DEFAULT_TIMEOUT = 10.0
_METHOD_LINE = re.compile(rb"^METHOD:([A-Za-z-]+)\r?$", re.MULTILINE)
_UNSAFE_FILENAME_CHARS = re.compile(r"[^A-Za-z0-9.-]+")


@dataclass(frozen=True, slots=True)
class OutgoingMail:
    """One message to one person, optionally carrying a calendar invite."""

    message_id: str
    sender: str
    recipient: str
    subject: str
    text: str
    html: str
    ics: bytes | None = None
    ics_method: str | None = None
    ics_filename: str = "invite.ics"
    date: datetime | None = None


class DeliveryError(Exception):
    """Delivery failed; ``temporary`` says whether trying again later may help."""

    def __init__(self, message: str, *, temporary: bool, code: int | None = None) -> None:
        super().__init__(message)
        self.temporary = temporary
        self.code = code


def build_message(mail: OutgoingMail) -> EmailMessage:
    """Return the MIME message for one recipient.

    With an invite the layout is multipart/mixed holding multipart/alternative
    (text/plain, text/html, text/calendar; method=...) and the same .ics as an
    attachment: the shape that Outlook, Gmail and Thunderbird show as an
    invitation with accept/decline buttons.
    """
    if not (mail.message_id.startswith("<") and mail.message_id.endswith(">")):
        raise ValueError("message_id must look like <local@host>")

    message = EmailMessage()
    message["Message-ID"] = mail.message_id
    message["Date"] = format_datetime(_utc(mail.date or datetime.now(UTC)))
    message["From"] = mail.sender
    message["To"] = mail.recipient
    if len(message["To"].addresses) != 1:
        raise ValueError("an outgoing mail has exactly one recipient")
    message["Subject"] = mail.subject
    # Out-of-office replies should not answer an automated notice.
    message["Auto-Submitted"] = "auto-generated"

    message.set_content(mail.text)
    message.add_alternative(mail.html, subtype="html")
    if mail.ics is None:
        if mail.ics_method is not None:
            raise ValueError("ics_method given without ics")
        return message

    method = _calendar_method(mail.ics, mail.ics_method)
    # Bytes with base64 keep the calendar's CRLF line ends exactly as written.
    message.add_alternative(
        mail.ics,
        maintype="text",
        subtype="calendar",
        params={"method": method, "charset": "utf-8"},
    )
    message.make_mixed()
    message.add_attachment(
        mail.ics,
        maintype="application",
        subtype="ics",
        filename=mail.ics_filename,
        # Older Outlook versions look for the file name in Content-Type.
        params={"name": mail.ics_filename},
    )
    return message


def deliver(message: EmailMessage, settings: Mapping) -> None:
    """Send ``message`` over SMTP, or write it to the outbox folder without MAIL_SERVER.

    Raises DeliveryError: ``temporary=True`` for anything worth retrying (no
    connection, timeouts, 4xx replies, bad credentials), ``temporary=False``
    when the server refuses this message for good (5xx).
    """
    if not settings.get("MAIL_SERVER"):
        write_to_outbox(message, settings["MAIL_OUTBOX_DIR"])
        return
    _send_smtp(message, settings)


def outbox_filename(message_id: str) -> str:
    """Return the stable .eml file name for a Message-ID.

    The readable part is sanitised; the hash keeps two ids that sanitise alike
    from sharing a file.
    """
    bare = message_id.strip().removeprefix("<").removesuffix(">")
    readable = _UNSAFE_FILENAME_CHARS.sub("_", bare)[:100].strip("._") or "message"
    digest = hashlib.sha256(message_id.strip().encode()).hexdigest()[:10]
    return f"{readable}-{digest}.eml"


def write_to_outbox(message: EmailMessage, directory: str | os.PathLike[str]) -> Path:
    """Write ``message`` atomically as one .eml file named after its Message-ID."""
    message_id = message["Message-ID"]
    if not message_id:
        raise ValueError("a message needs a Message-ID to be written to the outbox")
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / outbox_filename(str(message_id))
    data = message.as_bytes()
    handle, temp_name = tempfile.mkstemp(dir=folder, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as temp:
            temp.write(data)
            temp.flush()
            os.fsync(temp.fileno())
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return target


def _send_smtp(message: EmailMessage, settings: Mapping) -> None:
    host = settings["MAIL_SERVER"]
    use_ssl = bool(settings.get("MAIL_USE_SSL"))
    use_tls = bool(settings.get("MAIL_USE_TLS"))
    if use_ssl and use_tls:
        raise DeliveryError("MAIL_USE_SSL and MAIL_USE_TLS exclude each other", temporary=True)
    port = int(settings.get("MAIL_PORT") or (465 if use_ssl else 587 if use_tls else 25))
    timeout = float(settings.get("MAIL_TIMEOUT") or DEFAULT_TIMEOUT)
    username = settings.get("MAIL_USERNAME")
    password = settings.get("MAIL_PASSWORD")

    try:
        if use_ssl:
            client = smtplib.SMTP_SSL(
                host, port, timeout=timeout, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(host, port, timeout=timeout)
        with client:
            if use_tls:
                client.starttls(context=ssl.create_default_context())
            if username:
                client.login(username, password or "")
            refused = client.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        raise _refused(exc.recipients) from exc
    except smtplib.SMTPAuthenticationError as exc:
        # Wrong credentials are the server's configuration, not this message's fault.
        raise DeliveryError(_describe(exc), temporary=True, code=exc.smtp_code) from exc
    except smtplib.SMTPResponseException as exc:
        raise DeliveryError(
            _describe(exc), temporary=not _permanent(exc.smtp_code), code=exc.smtp_code
        ) from exc
    except (smtplib.SMTPException, OSError) as exc:
        # Refused or dropped connections, timeouts, TLS failures: try again later.
        raise DeliveryError(
            f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__,
            temporary=True,
        ) from exc
    if refused:
        raise _refused(refused)


def _refused(recipients: Mapping[str, tuple[int, bytes]]) -> DeliveryError:
    codes = [code for code, _ in recipients.values()]
    permanent = bool(codes) and all(_permanent(code) for code in codes)
    details = "; ".join(
        f"{address}: {code} {_text(reply)}" for address, (code, reply) in recipients.items()
    )
    return DeliveryError(
        f"recipient refused: {details}", temporary=not permanent, code=max(codes, default=None)
    )


def _permanent(code: int) -> bool:
    return 500 <= code < 600


def _describe(exc: smtplib.SMTPResponseException) -> str:
    return f"{type(exc).__name__}: {exc.smtp_code} {_text(exc.smtp_error)}"


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply


def _calendar_method(ics: bytes, declared: str | None) -> str:
    found = _METHOD_LINE.search(ics)
    if found is None:
        raise ValueError("an invite's .ics needs a METHOD line")
    method = found.group(1).decode("ascii").upper()
    if declared is not None and declared.upper() != method:
        raise ValueError(f"ics_method {declared!r} differs from the file's METHOD:{method}")
    return method


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("the message date must be timezone-aware")
    return value.astimezone(UTC)


__all__ = [
    "DeliveryError",
    "OutgoingMail",
    "build_message",
    "deliver",
    "outbox_filename",
    "write_to_outbox",
]
