"""Pages for a person's conversations: move, cancel, feedback, the calendar feed, failed mail.

Moving offers the next times free for both people as one-click choices; cancelling
(and asking for a different listener) goes through a confirmation page.

Any signed-in person may use these pages; a meeting they do not attend answers
404 (coordinators see every meeting). The nested `outbox` blueprint is for
coordinators only.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateTimeLocalField, HiddenField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from matching.errors import Conflict, Invalid, NotAllowed
from matching.extensions import db
from matching.models import now_utc
from matching.schemas import bodies, load
from matching.schemas.bodies import REASON_MAX
from matching.security import guard_pages
from matching.services import accounts, meetings, notices, outbox, validate
from matching.services.calendar import conversation_place
from matching.vocabulary import MEETING_WORDS, OUTCOME_WORDS

from .feed import invite_response
from .forms import ConfirmForm, FeedbackForm, form_body, time_choices

bp = Blueprint("meetings", __name__)
guard_pages(bp)
mail = Blueprint("outbox", __name__, url_prefix="/coordinator/outbox")
guard_pages(mail, "coordinator")
bp.register_blueprint(mail)


class RescheduleForm(FlaskForm):
    start = DateTimeLocalField(
        "New start (your time)", format="%Y-%m-%dT%H:%M", validators=[DataRequired()]
    )


class MoveToForm(FlaskForm):
    """One of the offered free times, as an instant (a button on the meeting page)."""

    choice = HiddenField(validators=[DataRequired()])


class CancelForm(FlaskForm):
    reason = TextAreaField(
        "A short note for the other person (optional)",
        validators=[Optional(), Length(max=REASON_MAX)],
    )
    another_listener = BooleanField("I would like a different listener")


class OutcomeForm(FlaskForm):
    outcome = SelectField(
        "Did the conversation take place?",
        choices=[SelectChoice(value, words) for value, words in OUTCOME_WORDS.items()],
    )


@bp.get("/meetings/")
def index():
    rows = meetings.meetings_for(current_user)
    now = now_utc()
    return render_template(
        "meetings/index.html",
        words=MEETING_WORDS,
        upcoming=[m for m in rows if m.end_at > now and m.status == "scheduled"],
        past=[m for m in reversed(rows) if not (m.end_at > now and m.status == "scheduled")],
    )


@bp.get("/meetings/<int:meeting_id>")
def show(meeting_id: int):
    meeting = meetings.get_meeting(current_user, meeting_id)
    now = now_utc()
    attendee = meetings.attends(current_user, meeting)
    given = meetings.feedback_by(current_user) if attendee else []
    movable = meetings.is_movable(meeting, now)
    return render_template(
        "meetings/show.html",
        meeting=meeting,
        place=conversation_place(meeting, current_user),
        words=MEETING_WORDS,
        attendee=attendee,
        movable=movable,
        ended=meeting.end_at <= now,
        feedback_given=any(f["meeting_id"] == meeting.id for f in given),
        free_times=time_choices(
            meetings.free_times(current_user, meeting.id, now=now), current_user.timezone
        )
        if movable
        else [],
        reschedule_form=RescheduleForm(),
        feedback_form=FeedbackForm(),
        outcome_form=OutcomeForm(),
    )


@bp.get("/meetings/<int:meeting_id>/invite.ics")
def invite(meeting_id: int):
    data, method = meetings.invite_for(current_user, meeting_id)
    return invite_response(data, method)


def _done(meeting_id: int, message: str):
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("meetings.show", meeting_id=meeting_id))


def _refused(meeting_id: int, err: Exception):
    db.session.rollback()
    flash(getattr(err, "message", str(err)), "warning")
    return redirect(url_for("meetings.show", meeting_id=meeting_id))


def _act(meeting_id: int, form: FlaskForm, refusal: str, action, done: str):
    """Run a page action on a meeting once its form is valid; flash how it went."""
    if not form.validate_on_submit():
        return _refused(meeting_id, Invalid(refusal))
    try:
        action()
    except (Conflict, Invalid, NotAllowed) as err:
        return _refused(meeting_id, err)
    return _done(meeting_id, done)


@bp.post("/meetings/<int:meeting_id>/reschedule")
def reschedule(meeting_id: int):
    if "choice" in request.form:
        return _move_to_choice(meeting_id)
    form = RescheduleForm()

    def move():
        start, twice = validate.local_instant(form.start.data, current_user.timezone, "start")
        meetings.reschedule_meeting(current_user, meeting_id, start)
        if twice:
            flash(twice, "info")

    return _act(
        meeting_id,
        form,
        "Choose a new date and time.",
        move,
        "The conversation has moved. Both of you get a new invitation.",
    )


def _move_to_choice(meeting_id: int):
    """Move to one of the offered free times (checked again, as any move is)."""
    form = MoveToForm()

    def move():
        values = load(bodies.Reschedule, {"start": form.choice.data})
        meetings.reschedule_meeting(current_user, meeting_id, values["start"])

    return _act(
        meeting_id,
        form,
        "Choose one of the times offered.",
        move,
        "The conversation has moved. Both of you get a new invitation.",
    )


@bp.get("/meetings/<int:meeting_id>/cancel")
def confirm_cancel(meeting_id: int):
    """Ask before cancelling; the practitioner may also ask for a different listener."""
    meeting = meetings.get_meeting(current_user, meeting_id)
    if meeting.status != "scheduled":
        flash("This conversation is no longer scheduled.", "info")
        return redirect(url_for("meetings.show", meeting_id=meeting_id))
    practitioner = current_user.id == meeting.practitioner_id
    form = CancelForm()
    form.another_listener.data = practitioner and request.args.get("another") == "1"
    return render_template(
        "meetings/cancel.html", meeting=meeting, form=form, practitioner=practitioner
    )


@bp.post("/meetings/<int:meeting_id>/cancel")
def cancel(meeting_id: int):
    form = CancelForm()
    done = "The conversation is cancelled. Both of you get a cancellation."
    if form.another_listener.data:
        done = (
            "The conversation is cancelled, and your request is open again: "
            "we will look for a different listener."
        )

    def cancel_it():
        values = load(bodies.Cancellation, form_body(form))
        meetings.cancel_meeting_by_id(
            current_user,
            meeting_id,
            values["reason"],
            another_listener=values["another_listener"],
        )

    return _act(
        meeting_id,
        form,
        f"Keep the note under {REASON_MAX} characters.",
        cancel_it,
        done,
    )


@bp.post("/meetings/<int:meeting_id>/feedback")
def feedback(meeting_id: int):
    form = FeedbackForm()

    def give():
        values = load(bodies.NewFeedback, form_body(form))
        meetings.add_feedback(current_user, meeting_id, values["rating"], values["comment"])

    return _act(meeting_id, form, "Choose a rating.", give, "Thank you for your feedback.")


@bp.post("/meetings/<int:meeting_id>/outcome")
def outcome(meeting_id: int):
    form = OutcomeForm()
    return _act(
        meeting_id,
        form,
        "Choose whether the conversation took place.",
        lambda: meetings.mark_outcome(current_user, meeting_id, form.outcome.data),
        "Thank you, that is noted.",
    )


@bp.get("/meetings/calendar")
def calendar():
    return render_template(
        "meetings/calendar.html",
        active=current_user.feed_token_hash is not None,
        url=None,
        form=ConfirmForm(),
    )


@bp.post("/meetings/calendar/rotate")
def rotate_calendar():
    form = ConfirmForm()
    if not form.validate_on_submit():
        flash("That form expired. Please try again.", "warning")
        return redirect(url_for("meetings.calendar"))
    raw = accounts.rotate_feed_token(current_user)
    db.session.commit()
    # The address is shown once: only its hash is stored.
    return render_template(
        "meetings/calendar.html",
        active=True,
        url=notices.feed_url(raw),
        form=ConfirmForm(),
    )


@bp.post("/meetings/calendar/revoke")
def revoke_calendar():
    form = ConfirmForm()
    if not form.validate_on_submit():
        flash("That form expired. Please try again.", "warning")
        return redirect(url_for("meetings.calendar"))
    accounts.revoke_feed_token(current_user)
    db.session.commit()
    flash("Your calendar address no longer works.", "info")
    return redirect(url_for("meetings.calendar"))


@mail.get("/")
def failed():
    return render_template(
        "meetings/outbox.html",
        messages=outbox.failed_messages(),
        counts=outbox.status_counts(),
        form=ConfirmForm(),
    )


@mail.post("/<int:message_id>/retry")
def retry(message_id: int):
    if not ConfirmForm().validate_on_submit():
        flash("That form expired. Please try again.", "warning")
        return redirect(url_for("meetings.outbox.failed"))
    try:
        outbox.retry(current_user, message_id)
    except Conflict as err:
        db.session.rollback()
        flash(err.message, "warning")
        return redirect(url_for("meetings.outbox.failed"))
    db.session.commit()
    flash("The message is queued again.", "success")
    return redirect(url_for("meetings.outbox.failed"))
