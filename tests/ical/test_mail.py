"""Building one e-mail and delivering it to files or to a real SMTP server."""

from __future__ import annotations

import email
import email.policy
import socket
from dataclasses import replace
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import parsedate_to_datetime

import icalendar
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from matching.ical import DEFAULT_SUMMARY, Attendee, CalendarEvent, invite
from matching.mail import (
    DeliveryError,
    OutgoingMail,
    build_message,
    deliver,
    outbox_filename,
    write_to_outbox,
)

SENDER = "Alongside <noreply@alongside.example>"
RECIPIENT = "zoe@clinic.example"


def make_ics(method: str = "REQUEST") -> bytes:
    event = CalendarEvent(
        uid="meeting-42@alongside.example",
        sequence=0 if method == "REQUEST" else 1,
        start=datetime(2026, 7, 14, 13, 0, tzinfo=UTC),
        end=datetime(2026, 7, 14, 13, 50, tzinfo=UTC),
        dtstamp=datetime(2026, 7, 1, 8, 30, tzinfo=UTC),
        status="CONFIRMED" if method == "REQUEST" else "CANCELLED",
        attendees=(Attendee(RECIPIENT, "Zoë Ann"), Attendee("sam@volunteers.example", "Sam")),
        summary=DEFAULT_SUMMARY,
        description="A 50-minute conversation.",
    )
    return invite(
        event,
        method=method,
        organizer_email="noreply@alongside.example",
        organizer_name="Alongside",
    )


def make_mail(**changes) -> OutgoingMail:
    mail = OutgoingMail(
        message_id="<outbox-42@alongside.example>",
        sender=SENDER,
        recipient=RECIPIENT,
        subject="Your conversation on Tuesday 14 July, 09:00 (New York time)",
        text="Hello Zoë,\n\nYour conversation is on Tuesday 14 July at 09:00 New York time.\n",
        html="<p>Hello Zoë,</p><p>Your conversation is on Tuesday 14 July at 09:00.</p>",
        ics=make_ics(),
        ics_method="REQUEST",
        date=datetime(2026, 7, 1, 8, 30, tzinfo=UTC),
    )
    return replace(mail, **changes)


def reparse(message: EmailMessage) -> EmailMessage:
    """Serialise and read back, as a receiving client would."""
    return email.message_from_bytes(message.as_bytes(), policy=email.policy.default)


def layout(message: EmailMessage) -> list:
    """Return the MIME tree as nested content types."""
    if message.is_multipart():
        return [message.get_content_type(), [layout(part) for part in message.iter_parts()]]
    return message.get_content_type()


def calendar_parts(message: EmailMessage) -> tuple[EmailMessage, EmailMessage]:
    """Return the inline text/calendar part and the .ics attachment."""
    alternative = next(message.iter_parts())
    inline = [p for p in alternative.iter_parts() if p.get_content_type() == "text/calendar"]
    attachments = list(message.iter_attachments())
    assert len(inline) == 1
    assert len(attachments) == 1
    return inline[0], attachments[0]


INVITE_LAYOUT = [
    "multipart/mixed",
    [
        ["multipart/alternative", ["text/plain", "text/html", "text/calendar"]],
        "application/ics",
    ],
]


# --- building -------------------------------------------------------------------------


def test_invite_mail_has_the_layout_clients_show_as_an_invitation():
    message = reparse(build_message(make_mail()))

    assert layout(message) == INVITE_LAYOUT
    inline, attachment = calendar_parts(message)
    assert inline.get_param("method") == "REQUEST"
    assert inline.get_content_charset() == "utf-8"
    assert inline.get_content_disposition() is None
    assert attachment.get_filename() == "invite.ics"
    assert attachment.get_param("name") == "invite.ics"
    assert attachment.get_content_disposition() == "attachment"


def test_both_calendar_parts_carry_the_exact_ics_bytes():
    ics = make_ics()
    message = reparse(build_message(make_mail(ics=ics)))

    inline, attachment = calendar_parts(message)
    assert inline.get_payload(decode=True) == ics
    assert attachment.get_payload(decode=True) == ics


def test_mail_without_ics_is_text_and_html():
    message = reparse(build_message(make_mail(ics=None, ics_method=None)))

    assert layout(message) == ["multipart/alternative", ["text/plain", "text/html"]]
    plain, html = message.iter_parts()
    assert "Tuesday 14 July at 09:00 New York time" in plain.get_content()
    assert "<p>Hello Zoë,</p>" in html.get_content()


def test_headers():
    message = reparse(build_message(make_mail()))

    assert message["Message-ID"] == "<outbox-42@alongside.example>"
    assert message["From"] == SENDER
    assert message["To"] == RECIPIENT
    assert message["Subject"] == "Your conversation on Tuesday 14 July, 09:00 (New York time)"
    assert parsedate_to_datetime(message["Date"]) == datetime(2026, 7, 1, 8, 30, tzinfo=UTC)
    assert message["Auto-Submitted"] == "auto-generated"


def test_date_defaults_to_now():
    message = build_message(make_mail(date=None))

    assert parsedate_to_datetime(message["Date"]).tzinfo is not None


def test_method_is_read_from_the_file_when_not_given():
    message = reparse(build_message(make_mail(ics=make_ics("CANCEL"), ics_method=None)))

    inline, _ = calendar_parts(message)
    assert inline.get_param("method") == "CANCEL"


@pytest.mark.parametrize(
    "changes",
    [
        {"ics_method": "CANCEL"},  # differs from METHOD:REQUEST inside the file
        {"ics": b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"},  # no METHOD
        {"ics": None},  # a method without a calendar
        {"recipient": "zoe@clinic.example, sam@volunteers.example"},
        {"message_id": "outbox-42@alongside.example"},
        {"date": datetime(2026, 7, 1, 8, 30)},  # naive
    ],
)
def test_inconsistent_mail_is_refused(changes):
    with pytest.raises(ValueError):
        build_message(make_mail(**changes))


# --- SMTP ---------------------------------------------------------------------------


@pytest.mark.smtp
@pytest.mark.parametrize("method", ["REQUEST", "CANCEL"])
def test_delivered_invite_keeps_layout_and_method(smtp_server, method):
    deliver(build_message(make_mail(ics=make_ics(method), ics_method=method)), smtp_server.settings)

    [received] = smtp_server.received
    assert received.rcpt_tos == [RECIPIENT]
    assert received.mail_from == "noreply@alongside.example"
    message = received.message
    assert message["Message-ID"] == "<outbox-42@alongside.example>"
    assert layout(message) == INVITE_LAYOUT
    inline, attachment = calendar_parts(message)
    calendar = icalendar.Calendar.from_ical(inline.get_payload(decode=True))
    assert str(calendar["METHOD"]) == method
    assert inline.get_param("method") == str(calendar["METHOD"])
    assert attachment.get_payload(decode=True) == inline.get_payload(decode=True)


@pytest.mark.smtp
def test_smtp_451_is_temporary(smtp_server):
    smtp_server.answer_rcpt(RECIPIENT, "451 4.3.0 Mailbox busy, try later")

    with pytest.raises(DeliveryError) as caught:
        deliver(build_message(make_mail()), smtp_server.settings)

    assert caught.value.temporary is True
    assert caught.value.code == 451
    assert "451" in str(caught.value)
    assert smtp_server.received == []


@pytest.mark.smtp
def test_smtp_550_is_permanent(smtp_server):
    smtp_server.answer_rcpt(RECIPIENT, "550 5.1.1 No such user")

    with pytest.raises(DeliveryError) as caught:
        deliver(build_message(make_mail()), smtp_server.settings)

    assert caught.value.temporary is False
    assert caught.value.code == 550
    assert "No such user" in str(caught.value)
    assert smtp_server.received == []


@pytest.mark.smtp
def test_other_recipients_are_not_affected_by_a_refusal(smtp_server):
    smtp_server.answer_rcpt("someone.else@clinic.example", "550 5.1.1 No such user")

    deliver(build_message(make_mail()), smtp_server.settings)

    assert len(smtp_server.received) == 1


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_nothing_listening_is_temporary():
    # The probe socket is closed again, so the connection is refused.
    settings = {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": _free_port(), "MAIL_TIMEOUT": 5}

    with pytest.raises(DeliveryError) as caught:
        deliver(build_message(make_mail()), settings)

    assert caught.value.temporary is True
    assert isinstance(caught.value.__cause__, OSError)


def test_ssl_and_starttls_together_are_refused_as_a_configuration_error():
    settings = {"MAIL_SERVER": "127.0.0.1", "MAIL_USE_SSL": True, "MAIL_USE_TLS": True}

    with pytest.raises(DeliveryError, match="exclude each other") as caught:
        deliver(build_message(make_mail()), settings)

    assert caught.value.temporary is True


# --- file transport -----------------------------------------------------------------


def test_without_mail_server_the_message_is_written_to_the_outbox(tmp_path, smtp_server):
    settings = {"MAIL_SERVER": "", "MAIL_OUTBOX_DIR": str(tmp_path / "outbox")}

    deliver(build_message(make_mail()), settings)

    files = list((tmp_path / "outbox").iterdir())
    assert [f.name for f in files] == [outbox_filename("<outbox-42@alongside.example>")]
    written = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert written["Message-ID"] == "<outbox-42@alongside.example>"
    assert layout(written) == INVITE_LAYOUT
    assert smtp_server.received == []


def test_redelivery_overwrites_instead_of_duplicating(tmp_path):
    settings = {"MAIL_OUTBOX_DIR": str(tmp_path)}

    deliver(build_message(make_mail(subject="first")), settings)
    deliver(build_message(make_mail(subject="second")), settings)
    deliver(build_message(make_mail(message_id="<outbox-43@alongside.example>")), settings)

    names = sorted(f.name for f in tmp_path.iterdir())
    assert len(names) == 2
    assert not any(name.endswith(".tmp") for name in names)
    first = tmp_path / outbox_filename("<outbox-42@alongside.example>")
    assert email.message_from_bytes(first.read_bytes())["Subject"] == "second"


def test_outbox_file_names_are_safe_stable_and_distinct():
    awkward = "<../../etc/passwd@x>"
    look_alike = "<.._.._etc_passwd@x>"

    name = outbox_filename(awkward)

    assert "/" not in name and "\\" not in name
    assert not name.startswith(".")
    assert name.endswith(".eml")
    assert name == outbox_filename(awkward)
    assert name != outbox_filename(look_alike)
    assert outbox_filename("<outbox-42@alongside.example>").startswith(
        "outbox-42_alongside.example-"
    )


def test_write_to_outbox_needs_a_message_id(tmp_path):
    message = EmailMessage()
    message.set_content("no id")

    with pytest.raises(ValueError):
        write_to_outbox(message, tmp_path)
    assert list(tmp_path.iterdir()) == []


# --- login, STARTTLS and silent servers ------------------------------------------------


def _check_login(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == b"alongside" and auth_data.password == b"s3cret"
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def smtp_server_with_login(smtp_server):
    """An SMTP server on a second port that accepts one login (plain text, local only)."""
    controller = Controller(
        smtp_server.handler,
        hostname="127.0.0.1",
        port=_free_port(),
        authenticator=_check_login,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield {"MAIL_SERVER": controller.hostname, "MAIL_PORT": controller.port}
    finally:
        controller.stop()


@pytest.mark.smtp
def test_login_with_the_configured_credentials(smtp_server, smtp_server_with_login):
    settings = {**smtp_server_with_login, "MAIL_USERNAME": "alongside", "MAIL_PASSWORD": "s3cret"}

    deliver(build_message(make_mail()), settings)

    assert len(smtp_server.received) == 1


@pytest.mark.smtp
def test_wrong_credentials_are_temporary_so_the_message_waits(smtp_server, smtp_server_with_login):
    settings = {**smtp_server_with_login, "MAIL_USERNAME": "alongside", "MAIL_PASSWORD": "wrong"}

    with pytest.raises(DeliveryError) as caught:
        deliver(build_message(make_mail()), settings)

    assert caught.value.temporary is True
    assert caught.value.code == 535
    assert smtp_server.received == []


@pytest.mark.smtp
def test_starttls_not_offered_is_temporary(smtp_server):
    settings = {**smtp_server.settings, "MAIL_USE_TLS": True}

    with pytest.raises(DeliveryError) as caught:
        deliver(build_message(make_mail()), settings)

    assert caught.value.temporary is True
    assert smtp_server.received == []


def test_a_server_that_never_answers_is_temporary():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # accepts connections, never sends a greeting
        settings = {
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": silent.getsockname()[1],
            "MAIL_TIMEOUT": 0.2,
        }

        with pytest.raises(DeliveryError) as caught:
            deliver(build_message(make_mail()), settings)

    assert caught.value.temporary is True
    # smtplib reports the read timeout as a dropped connection.
    assert "timed out" in str(caught.value)
