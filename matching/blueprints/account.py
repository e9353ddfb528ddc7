"""Pages for one's own account: consent, settings (name and zone), export, closing it.

Any signed-in person may use these, also before agreeing to the consent text: reading
it, agreeing, taking one's data and leaving never wait for anything else.
"""

from __future__ import annotations

import json

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired

from matching import consent_text
from matching.errors import Invalid, NotAllowed
from matching.extensions import db
from matching.schemas import bodies, load
from matching.schemas.bodies import NAME_MAX
from matching.security import end_browser_session, guard_pages, is_safe_next
from matching.services import accounts, consent, meetings

from .forms import ConfirmForm, TimezoneField, apply_errors, form_body, zone_choices
from .public import home_for

bp = Blueprint("account", __name__)
guard_pages(bp, consent_needed=False)


class SettingsForm(FlaskForm):
    display_name = StringField("Name to show", render_kw={"maxlength": NAME_MAX})
    timezone = TimezoneField()


class CloseForm(FlaskForm):
    password = PasswordField("Your password", validators=[DataRequired()])


@bp.route("/consent", methods=["GET", "POST"], endpoint="consent")
def consent_page():
    """The consent text; practitioners' and listeners' pages wait here until it is accepted."""
    form = ConfirmForm()
    target = request.args.get("next")
    back = target if is_safe_next(target) else home_for(current_user)
    if not consent.needs_consent(current_user):
        if request.method == "POST":
            return redirect(back)
        return render_template("account/consent.html", form=form, consent=consent_text, done=True)
    if form.validate_on_submit():
        consent.accept(current_user, consent.current_version())
        db.session.commit()
        flash("Thank you. You can carry on.", "success")
        return redirect(back)
    return render_template("account/consent.html", form=form, consent=consent_text, done=False)


@bp.route("/account/settings", methods=["GET", "POST"])
def settings():
    form = SettingsForm(obj=current_user)
    form.timezone.choices = zone_choices()
    if form.validate_on_submit():
        try:
            accounts.update_me(current_user, load(bodies.MeUpdate, form_body(form)))
        except Invalid as err:
            db.session.rollback()
            apply_errors(form, err)
        else:
            db.session.commit()
            flash("Saved. Times are now shown in your new zone.", "success")
            return redirect(url_for("account.settings"))
    return render_template("account/settings.html", form=form)


@bp.get("/account/export")
def export():
    return render_template("account/export.html")


@bp.get("/account/export.json")
def export_file():
    """Everything stored about me, as the API's export, to keep."""
    body = json.dumps(accounts.export_user(current_user), indent=2, ensure_ascii=False)
    response = Response(body, mimetype="application/json")
    response.headers["Content-Disposition"] = 'attachment; filename="alongside-my-data.json"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/account/delete", methods=["GET", "POST"])
def close():
    """Close the account: future conversations are cancelled, personal data erased."""
    form = CloseForm()
    upcoming = meetings.meetings_for(current_user, upcoming_only=True)
    if form.validate_on_submit():
        try:
            accounts.erase_user(current_user._get_current_object(), form.password.data)
        except (Invalid, NotAllowed) as err:
            db.session.rollback()
            apply_errors(form, err)
        else:
            db.session.commit()
            end_browser_session()
            return redirect(url_for("auth.closed"))
    return render_template("account/delete.html", form=form, upcoming=upcoming)
