"""Pages for programme events: the list, an event, registering, offers, the roster.

Any signed-in person may use these pages; what they show depends on who asks
(services/events.py decides). The nested `admin` blueprint, under /coordinator/events,
is for coordinators: publish, change, copy to next month, cancel, approve, attendance.
"""

from __future__ import annotations

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from matching.errors import Conflict, Invalid, NotAllowed
from matching.extensions import db
from matching.models import now_utc
from matching.schemas import bodies, load
from matching.schemas.bodies import (
    CAPACITY,
    DESCRIPTION_MAX,
    LOCATION_MAX,
    REASON_MAX,
    TITLE_MAX,
)
from matching.security import guard_pages
from matching.services import events, validate
from matching.vocabulary import (
    EVENT_KIND_WORDS,
    EVENT_MODALITY_WORDS,
    OPEN_TO_WORDS,
    REGISTRATION_WORDS,
)

from .feed import invite_response
from .forms import (
    CheckboxesField,
    ConfirmForm,
    FeedbackForm,
    TimezoneField,
    apply_errors,
    comment_field,
    form_body,
    zone_choices,
)

bp = Blueprint("events", __name__)
guard_pages(bp)
admin = Blueprint("admin", __name__, url_prefix="/coordinator/events")
guard_pages(admin, "coordinator")
bp.register_blueprint(admin)

LOCAL = "%Y-%m-%dT%H:%M"


class EventFeedbackForm(FeedbackForm):
    comment = comment_field("Anything you want to say (optional, shared without your name)")


class EventForm(FlaskForm):
    kind = SelectField("Kind", choices=[SelectChoice(k, w) for k, w in EVENT_KIND_WORDS.items()])
    title = StringField("Title", validators=[Length(max=TITLE_MAX)])
    description = TextAreaField(
        "What it is about (optional)", validators=[Optional(), Length(max=DESCRIPTION_MAX)]
    )
    timezone = TimezoneField("Time zone of these times")
    start = DateTimeLocalField("Starts", format=LOCAL, validators=[DataRequired()])
    end = DateTimeLocalField("Ends", format=LOCAL, validators=[DataRequired()])
    registration_closes = DateTimeLocalField(
        "Registration closes (optional: at the start)", format=LOCAL, validators=[Optional()]
    )
    modality = RadioField(
        "How people join",
        choices=[SelectChoice(m, w) for m, w in EVENT_MODALITY_WORDS.items()],
        default="video",
    )
    location = StringField("Video link (https://…) or place", validators=[Length(max=LOCATION_MAX)])
    capacity = IntegerField("Seats", validators=[NumberRange(*CAPACITY)], default=12)
    requires_approval = BooleanField("A coordinator approves each registration")
    open_to = CheckboxesField(
        "Open to", choices=[SelectChoice(r, w) for r, w in OPEN_TO_WORDS.items()]
    )
    facilitator_id = SelectField("Facilitator", choices=[])


class CancelEventForm(FlaskForm):
    reason = TextAreaField(
        "A short note for everyone registered (optional)",
        validators=[Optional(), Length(max=REASON_MAX)],
    )


# --- everyone -------------------------------------------------------------------------


@bp.get("/events/")
def index():
    rows = events.upcoming(current_user)
    return render_template(
        "events/index.html",
        events=rows,
        mine=events.registrations_of(current_user, rows),
        seats_left=events.seats_left,
        words=REGISTRATION_WORDS,
        kinds=EVENT_KIND_WORDS,
    )


@bp.get("/events/<int:event_id>")
def show(event_id: int):
    event = events.get_event(current_user, event_id)
    return render_template(
        "events/show.html",
        event=event,
        words=REGISTRATION_WORDS,
        kinds=EVENT_KIND_WORDS,
        form=ConfirmForm(),
        feedback_form=EventFeedbackForm(),
        **events.page_state(current_user, event),
    )


def _back_to_event(event_id: int, message: str, category: str = "success"):
    flash(message, category)
    return redirect(url_for("events.show", event_id=event_id))


def _refused(event_id: int, err: Exception):
    db.session.rollback()
    return _back_to_event(event_id, getattr(err, "message", str(err)), "warning")


@bp.post("/events/<int:event_id>/register")
def register(event_id: int):
    if not ConfirmForm().validate_on_submit():
        return _back_to_event(event_id, "That form expired. Please try again.", "warning")
    try:
        registration = events.register(current_user, event_id)
    except (Conflict, NotAllowed) as err:
        return _refused(event_id, err)
    db.session.commit()
    messages = {
        "confirmed": "You have a seat. The invitation is on its way to your inbox.",
        "pending_approval": "A seat is kept for you while a coordinator confirms it.",
        "waitlisted": "The session is full, so you are on the waiting list. "
        "We will e-mail you if a seat comes free.",
    }
    return _back_to_event(event_id, messages[registration.status])


def _registration_action(registration_id: int, action, done: str):
    registration = events.get_registration_of(current_user, registration_id)
    if not ConfirmForm().validate_on_submit():
        return _back_to_event(
            registration.event_id, "That form expired. Please try again.", "warning"
        )
    try:
        action(current_user, registration_id)
    except Conflict as err:
        return _refused(registration.event_id, err)
    db.session.commit()
    return _back_to_event(registration.event_id, done)


@bp.post("/events/registrations/<int:registration_id>/withdraw")
def withdraw(registration_id: int):
    return _registration_action(
        registration_id,
        events.withdraw,
        "You are no longer registered. Thank you for letting us know.",
    )


@bp.post("/events/registrations/<int:registration_id>/accept")
def accept(registration_id: int):
    return _registration_action(
        registration_id, events.accept, "The seat is yours. The invitation is on its way."
    )


@bp.post("/events/registrations/<int:registration_id>/decline")
def decline(registration_id: int):
    return _registration_action(
        registration_id, events.decline, "Thank you. The seat goes to the next person."
    )


@bp.get("/events/registrations/<int:registration_id>/invite.ics")
def invite(registration_id: int):
    data, method = events.invite_for(current_user, registration_id)
    return invite_response(data, method)


@bp.get("/events/offers/<token>")
def offer(token: str):
    """The link in an offer mail: show the offer; the buttons post (a GET changes nothing)."""
    registration = events.registration_for_offer(current_user, token)
    response = make_response(
        render_template(
            "events/offer.html",
            registration=registration,
            event=registration.event,
            form=ConfirmForm(),
            words=REGISTRATION_WORDS,
        )
    )
    # The link is personal: keep it out of Referer headers and caches.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/events/<int:event_id>/feedback")
def feedback(event_id: int):
    form = EventFeedbackForm()
    if not form.validate_on_submit():
        return _back_to_event(event_id, "Choose a rating.", "warning")
    try:
        values = load(bodies.NewFeedback, form_body(form))
        events.add_feedback(current_user, event_id, values["rating"], values["comment"])
    except (Conflict, Invalid, NotAllowed) as err:
        return _refused(event_id, err)
    db.session.commit()
    return _back_to_event(event_id, "Thank you for your feedback.")


@bp.get("/events/<int:event_id>/roster")
def roster(event_id: int):
    event, rows = events.roster(current_user, event_id)
    return render_template(
        "events/roster.html",
        event=event,
        rows=rows,
        words=REGISTRATION_WORDS,
        form=ConfirmForm(),
        started=event.start_at <= now_utc(),
    )


# --- coordinators -----------------------------------------------------------------------


@admin.get("/")
def manage():
    coming, past = events.all_events()
    return render_template(
        "events/manage.html", coming=coming, past=past[:50], kinds=EVENT_KIND_WORDS
    )


def _event_form(**kwargs) -> EventForm:
    form = EventForm(**kwargs)
    form.timezone.choices = zone_choices()
    form.facilitator_id.choices = [SelectChoice("", "Nobody named")] + [
        SelectChoice(str(p.id), f"{p.display_name} ({p.role})")
        for p in events.facilitator_choices()
    ]
    return form


def _body(form: EventForm) -> dict:
    """The form as the API's body: local times become instants in the chosen zone."""
    body = form_body(form)
    zone = validate.timezone(form.timezone.data, "timezone")
    notes = []
    for name in ("start", "end", "registration_closes"):
        local = getattr(form, name).data
        if local is None:
            body[name] = body["start"] if name == "registration_closes" else None
            continue
        instant, twice = validate.local_instant(local, zone, name)
        body[name] = instant.isoformat()
        if twice:
            notes.append(twice)
    body["facilitator_id"] = int(body["facilitator_id"]) if body["facilitator_id"] else None
    for note in notes:
        flash(note, "info")
    return body


def _fill(form: EventForm, values: dict) -> None:
    """Put an event's values (local times) into the form for a new or changed event."""
    for name, value in values.items():
        field = getattr(form, name, None)
        if field is not None:
            field.data = str(value) if name == "facilitator_id" and value else value
    if not values.get("facilitator_id"):
        form.facilitator_id.data = ""


@admin.route("/new", methods=["GET", "POST"])
def new():
    form = _event_form()
    if request.method == "GET":
        form.timezone.data = current_user.timezone
        form.open_to.data = ["practitioner"]
        copy = validate.digits(request.args.get("copy"), "copy")
        if copy:
            _fill(form, events.next_month(events.get_event(current_user, copy)))
    if form.validate_on_submit():
        try:
            event = events.create_event(current_user, load(bodies.NewEvent, _body(form)))
        except (Invalid, Conflict) as err:
            db.session.rollback()
            apply_errors(form, err)
        else:
            db.session.commit()
            flash("The event is published.", "success")
            return redirect(url_for("events.show", event_id=event.id))
    return render_template("events/form.html", form=form, event=None)


@admin.route("/<int:event_id>/edit", methods=["GET", "POST"])
def edit(event_id: int):
    event = events.get_event(current_user, event_id)
    form = _event_form()
    if request.method == "GET":
        _fill(form, events.form_values(event))
    if form.validate_on_submit():
        try:
            events.update_event(current_user, event_id, load(bodies.EventChange, _body(form)))
        except (Invalid, Conflict) as err:
            db.session.rollback()
            apply_errors(form, err)
        else:
            db.session.commit()
            flash("The event is saved; anyone affected hears from us.", "success")
            return redirect(url_for("events.show", event_id=event_id))
    return render_template(
        "events/form.html", form=form, event=event, cancel_form=CancelEventForm()
    )


@admin.post("/<int:event_id>/cancel")
def cancel(event_id: int):
    form = CancelEventForm()
    if not form.validate_on_submit():
        return _back_to_event(event_id, f"Keep the note under {REASON_MAX} characters.", "warning")
    try:
        values = load(bodies.Cancellation, form_body(form))
        events.cancel_event(current_user, event_id, values["reason"])
    except (Conflict, Invalid) as err:
        return _refused(event_id, err)
    db.session.commit()
    return _back_to_event(event_id, "The event is cancelled. Everyone registered hears from us.")


def _decide(registration_id: int, action, done: str):
    registration = events.get_registration(current_user, registration_id)
    back = url_for("events.roster", event_id=registration.event_id)
    if not ConfirmForm().validate_on_submit():
        flash("That form expired. Please try again.", "warning")
        return redirect(back)
    try:
        action()
    except (Conflict, Invalid) as err:
        db.session.rollback()
        flash(err.message, "warning")
        return redirect(back)
    db.session.commit()
    flash(done, "success")
    return redirect(back)


@admin.post("/registrations/<int:registration_id>/approve")
def approve(registration_id: int):
    return _decide(
        registration_id,
        lambda: events.approve(current_user, registration_id),
        "Approved. The invitation is on its way.",
    )


@admin.post("/registrations/<int:registration_id>/reject")
def reject(registration_id: int):
    return _decide(
        registration_id,
        lambda: events.reject(current_user, registration_id),
        "Turned down. The seat goes to the next person.",
    )


@admin.post("/registrations/<int:registration_id>/attendance")
def attendance(registration_id: int):
    attended = request.form.get("attended") == "1"
    return _decide(
        registration_id,
        lambda: events.mark_attendance(current_user, registration_id, attended),
        "Attendance noted.",
    )
