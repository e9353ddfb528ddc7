"""Pages for listeners: profile, availability, pause, sessions."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from matching.errors import Invalid
from matching.extensions import db
from matching.schemas.bodies import (
    GENDER_MAX,
    ORGANIZATION_MAX,
    PLACE_MAX,
    SESSIONS_PER_DAY,
    SESSIONS_PER_WEEK,
    VIDEO_URL_MAX,
)
from matching.security import guard_pages
from matching.services import care, meetings, profiles, validate

from . import people_pages
from .forms import CheckboxesField, ConfirmForm, ListField, ModalitiesField, field_choices

bp = Blueprint("listener", __name__, url_prefix="/listener")
guard_pages(bp, "listener")


class ProfileForm(FlaskForm):
    organization = StringField(
        "Where you work or volunteer", validators=[Length(max=ORGANIZATION_MAX)]
    )
    fields = CheckboxesField("Fields you have worked in", choices=field_choices())
    languages = ListField("Languages you can listen in (two-letter codes, e.g. en, es)")
    modalities = ModalitiesField()
    topics = ListField("Topics you are comfortable with (optional, comma-separated)")
    gender = StringField(
        "Your gender (optional, used only for a practitioner's stated preference)",
        validators=[Optional(), Length(max=GENDER_MAX)],
    )
    max_sessions_per_week = IntegerField(
        "At most this many conversations a week", validators=[NumberRange(*SESSIONS_PER_WEEK)]
    )
    max_sessions_per_day = SelectField(
        "At most this many a day",
        coerce=int,
        choices=[SelectChoice(str(n)) for n in range(SESSIONS_PER_DAY[0], SESSIONS_PER_DAY[1] + 1)],
    )
    video_url = StringField(
        "Your own video meeting link (optional)",
        validators=[Optional(), Length(max=VIDEO_URL_MAX)],
        render_kw={"type": "url", "placeholder": "https://"},
    )
    place = StringField(
        "Where you meet in person (optional)", validators=[Optional(), Length(max=PLACE_MAX)]
    )


people_pages.register(bp, "listener", ProfileForm)


class PauseForm(FlaskForm):
    until = DateField("Pause to and including", validators=[DataRequired()])


@bp.get("/")
def dashboard():
    lp = current_user.listener_profile
    return render_template(
        "listener/dashboard.html",
        meetings=meetings.meetings_for(current_user, upcoming_only=True),
        paused=profiles.is_paused(current_user),
        pause_form=PauseForm(),
        confirm=ConfirmForm(),
        lp=lp,
        missing=profiles.missing_for_matching(current_user),
        load=care.week_load(current_user),
        debrief=care.debrief_prompt(current_user),
        feedback_due=meetings.awaiting_feedback(current_user),
    )


@bp.post("/debrief")
def debrief():
    """Ask for a debrief with a coordinator; it reaches the coordinators' overview."""
    if ConfirmForm().validate_on_submit():
        care.request_debrief(current_user)
        db.session.commit()
        flash(
            "Thank you for saying so. A coordinator will get in touch to find a time to talk.",
            "success",
        )
    else:
        flash("That form expired. Please try again.", "warning")
    return redirect(url_for("listener.dashboard"))


@bp.post("/pause")
def pause():
    form = PauseForm()
    if form.validate_on_submit():
        try:
            last = validate.day_in_range(form.until.data, "until")
            # Paused through the chosen day: until the first instant of the next one.
            until = validate.start_of_day(last + timedelta(days=1), current_user.timezone, "until")
            profiles.pause_listener(current_user, until)
        except Invalid as err:
            flash(err.message, "warning")
        else:
            db.session.commit()
            flash(
                f"You are paused to and including {last:%a %-d %b}. Take the time you need; "
                "no new conversations will be proposed.",
                "success",
            )
    else:
        flash("Choose a date to pause until.", "warning")
    return redirect(url_for("listener.dashboard"))


@bp.post("/resume")
def resume():
    if ConfirmForm().validate_on_submit():
        profiles.pause_listener(current_user, None)
        db.session.commit()
        flash("Welcome back. You can be matched again.", "success")
    return redirect(url_for("listener.dashboard"))
