"""Pages for practitioners: profile, availability, asking for a listener, sessions."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from matching.errors import Conflict, Invalid
from matching.extensions import db
from matching.schemas import bodies, load
from matching.schemas.bodies import GENDER_MAX, NOTE_MAX, ORGANIZATION_MAX, PHONE_MAX
from matching.security import guard_pages
from matching.services import meetings, profiles
from matching.services import requests as requests_service
from matching.vocabulary import REQUEST_WORDS, URGENCIES, URGENCY_CHOICE_WORDS

from . import people_pages
from .forms import (
    ConfirmForm,
    ListField,
    ModalitiesField,
    apply_errors,
    field_choices,
    form_body,
)

bp = Blueprint("practitioner", __name__, url_prefix="/practitioner")
guard_pages(bp, "practitioner")


class ProfileForm(FlaskForm):
    organization = StringField("Where you work", validators=[Length(max=ORGANIZATION_MAX)])
    field = SelectField("Your field", choices=field_choices())
    languages = ListField("Languages you can talk in (two-letter codes, e.g. en, es)")
    modalities = ModalitiesField()
    topics = ListField("Topics you might want to talk about (optional, comma-separated)")
    listener_gender = StringField(
        "Preferred gender of your listener (optional)",
        validators=[Optional(), Length(max=GENDER_MAX)],
    )
    listener_gender_required = BooleanField("Only match me with a listener of that gender")


class RequestForm(FlaskForm):
    urgency = RadioField(
        "How soon would you like to talk?",
        choices=[SelectChoice(u, URGENCY_CHOICE_WORDS[u]) for u in URGENCIES],
        default="routine",
    )
    modalities = ModalitiesField()
    topics = ListField("Topics (optional, comma-separated)")
    note = TextAreaField(
        "Anything the coordinator should know (optional, only coordinators see this)",
        validators=[Length(max=NOTE_MAX)],
    )
    phone = StringField(
        "Phone number for a phone conversation",
        validators=[Optional(), Length(max=PHONE_MAX)],
        render_kw={"type": "tel", "autocomplete": "tel"},
    )


people_pages.register(bp, "practitioner", ProfileForm)


@bp.get("/")
def dashboard():
    active = requests_service.active_request(current_user)
    upcoming = meetings.meetings_for(current_user, upcoming_only=True)
    return render_template(
        "practitioner/dashboard.html",
        active=active,
        words=REQUEST_WORDS,
        meetings=upcoming,
        confirm=ConfirmForm(),
        missing=profiles.missing_for_matching(current_user),
        feedback_due=meetings.awaiting_feedback(current_user),
    )


@bp.route("/request", methods=["GET", "POST"])
def new_request():
    form = RequestForm()
    if request.method == "GET":
        form.modalities.data = list(current_user.practitioner_profile.modalities)
    missing = profiles.missing_for_matching(current_user)
    refused = None
    if form.validate_on_submit():
        try:
            req = requests_service.create_request(
                current_user, load(bodies.NewRequest, form_body(form))
            )
        except (Invalid, Conflict) as err:
            db.session.rollback()
            if err.code == requests_service.PROFILE_INCOMPLETE:
                refused = err.message
            else:
                apply_errors(form, err)
        else:
            db.session.commit()
            if req.urgency == "urgent":
                flash(current_app.config["CRISIS_RESOURCES"], "crisis")
                flash("A coordinator will look at your request first.", "info")
            flash("Thank you. We will look for a listener and e-mail you an invitation.", "success")
            return redirect(url_for("practitioner.dashboard"))
    # Until the profile and times exist the page shows what is missing instead of the form.
    return render_template(
        "practitioner/request.html",
        form=None if missing else form,
        missing=missing,
        refused=refused,
    )


@bp.post("/request/<int:request_id>/withdraw")
def withdraw(request_id: int):
    if not ConfirmForm().validate_on_submit():
        flash("That form expired. Please try again.", "warning")
        return redirect(url_for("practitioner.dashboard"))
    requests_service.withdraw_request(current_user, request_id)
    db.session.commit()
    flash("Your request is withdrawn. You can ask again whenever you like.", "info")
    return redirect(url_for("practitioner.dashboard"))
