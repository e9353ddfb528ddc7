"""Pages: register, confirm the address, sign in and out, passwords (changed or reset)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo

from matching import consent_text
from matching.errors import Conflict, Gone, Invalid, Malformed
from matching.extensions import db
from matching.schemas import bodies, load
from matching.security import (
    begin_browser_session,
    browser_session_key,
    client_ip,
    end_browser_session,
    is_safe_next,
)
from matching.services import accounts, consent, verification

from .forms import ConfirmForm, TimezoneField, apply_errors, form_body, zone_choices
from .public import home_for

bp = Blueprint("auth", __name__)


class RegisterForm(FlaskForm):
    role = RadioField(
        "I am joining as",
        choices=[
            SelectChoice("practitioner", "A practitioner looking for a peer listener"),
            SelectChoice("listener", "A trained volunteer listener"),
        ],
        validators=[DataRequired()],
    )
    # Name, e-mail and password are checked by the API's schema, which reports every
    # problem at once; required-field checks here would hide the rest until a resubmit.
    display_name = StringField("Name to show")
    email = EmailField("E-mail")
    timezone = TimezoneField()
    password = PasswordField("Password (at least 12 characters)")
    consent_version = BooleanField("I have read this and I agree")


class LoginForm(FlaskForm):
    email = EmailField("E-mail", validators=[DataRequired()])
    password = PasswordField("Password", validators=[DataRequired()])


class ResetRequestForm(FlaskForm):
    email = EmailField("E-mail", validators=[DataRequired()])


class NewPasswordForm(FlaskForm):
    password = PasswordField("New password (at least 12 characters)")
    confirm = PasswordField(
        "New password again", validators=[EqualTo("password", "The two do not match.")]
    )


class PasswordForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[DataRequired()])
    new_password = PasswordField(
        "New password (at least 12 characters)", validators=[DataRequired()]
    )
    confirm = PasswordField(
        "New password again",
        validators=[DataRequired(), EqualTo("new_password", "The two do not match.")],
    )


@bp.route("/register", methods=["GET", "POST"])
def register():
    form = RegisterForm()
    form.timezone.choices = zone_choices()
    # Without a zone in the link, the page picks the browser's (static/timezone.js).
    browser_zone = request.method == "GET" and not request.args.get("tz")
    if form.validate_on_submit():
        body = form_body(form)
        # The box ticked means: the text on this page, in the version shown now.
        body["consent_version"] = consent.current_version() if form.consent_version.data else ""
        try:
            accounts.sign_up(**load(bodies.NewAccount, body))
        except (Invalid, Conflict) as err:
            db.session.rollback()
            apply_errors(form, err)
        else:
            db.session.commit()
            # The same page whether the address was new or already had an account.
            return redirect(url_for("auth.check_email", why="register"))
    elif request.method == "GET":
        form.timezone.data = request.args.get("tz") or "UTC"
    return render_template(
        "auth/register.html", form=form, consent=consent_text, browser_zone=browser_zone
    )


@bp.get("/check-email")
def check_email():
    why = "reset" if request.args.get("why") == "reset" else "register"
    return render_template("auth/check_email.html", why=why)


def _link_problem(err: Malformed | Gone, template: str):
    """A link that is used up, mistyped or expired: say so calmly, offer the next step."""
    return render_template(template, problem=err.message, token=None), err.status


@bp.route("/verify/<token>", methods=["GET", "POST"])
def verify(token: str):
    """Confirm an address: the link from the mail opens this page, its button confirms.

    A button rather than the link itself, so a mail scanner opening links signs no one in.
    """
    form = ConfirmForm()
    try:
        if not form.validate_on_submit():
            verification.find(token, verification.VERIFY)
            return render_template("auth/verify.html", form=form, token=token, problem=None)
        user = accounts.verify_email(token)
    except (Malformed, Gone) as err:
        db.session.rollback()
        return _link_problem(err, "auth/verify.html")
    db.session.commit()
    begin_browser_session(user)
    if consent.needs_consent(user):
        return redirect(url_for("account.consent"))
    flash("Your e-mail address is confirmed. Welcome.", "success")
    if user.role in consent.CONSENTING_ROLES:
        flash("Next, a few details about you.", "info")
        return redirect(url_for(f"{user.role}.profile"))
    return redirect(home_for(user))


@bp.route("/password-reset", methods=["GET", "POST"])
def password_reset():
    form = ResetRequestForm()
    if form.validate_on_submit():
        try:
            values = load(bodies.ResetRequest, {"email": form.email.data})
        except Invalid as err:
            apply_errors(form, err)
        else:
            accounts.request_password_reset(values["email"])
            db.session.commit()
            return redirect(url_for("auth.check_email", why="reset"))
    return render_template("auth/password_reset.html", form=form)


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset(token: str):
    form = NewPasswordForm()
    try:
        verification.find(token, verification.RESET)
    except (Malformed, Gone) as err:
        return _link_problem(err, "auth/reset.html")
    if form.validate_on_submit():
        try:
            values = load(
                bodies.ResetConfirmation, {"token": token, "password": form.password.data}
            )
            accounts.reset_password(values["token"], values["password"])
        except Invalid as err:
            db.session.rollback()
            apply_errors(form, err)
        except (Malformed, Gone) as err:
            db.session.rollback()
            return _link_problem(err, "auth/reset.html")
        else:
            db.session.commit()
            end_browser_session()
            flash(
                "Your password is changed, and you are signed out everywhere. "
                "Please sign in with the new one.",
                "success",
            )
            return redirect(url_for("auth.login"))
    return render_template("auth/reset.html", form=form, token=token, problem=None)


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        try:
            outcome = accounts.sign_in(form.email.data, form.password.data, address=client_ip())
        except Invalid as err:
            apply_errors(form, err)
            return render_template("auth/login.html", form=form)
        db.session.commit()  # the audit row of a failure or a refusal is kept too
        if outcome.limited:
            form.form_errors.append("Too many attempts. Please wait a little and try again.")
            return render_template("auth/login.html", form=form), 429
        if outcome.unverified:
            form.form_errors.append(
                "Please confirm your e-mail address first. We have sent you a link; "
                "it can take a few minutes to arrive."
            )
        elif outcome.user is None:
            form.form_errors.append("That e-mail and password do not match an account.")
        else:
            begin_browser_session(outcome.user)
            target = request.args.get("next")
            return redirect(target if is_safe_next(target) else home_for(outcome.user))
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        accounts.end_session(current_user._get_current_object(), browser_session_key())
        db.session.commit()
    end_browser_session()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.post("/account/sign-out-everywhere")
@login_required
def sign_out_everywhere():
    if not ConfirmForm().validate_on_submit():
        flash("That form expired. Please try again.", "warning")
        return redirect(url_for("auth.password"))
    accounts.sign_out_everywhere(current_user._get_current_object())
    db.session.commit()
    end_browser_session()
    flash("You are signed out everywhere: every browser and every API token.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def password():
    form = PasswordForm()
    if form.validate_on_submit():
        body = {
            "current_password": form.current_password.data,
            "new_password": form.new_password.data,
        }
        try:
            values = load(bodies.PasswordChange, body)
            accounts.change_password(
                current_user,
                values["current_password"],
                values["new_password"],
                keep_session=browser_session_key(),
            )
        except Invalid as err:
            db.session.rollback()
            apply_errors(form, err)
        else:
            db.session.commit()
            login_user(current_user._get_current_object())  # this browser carries on
            flash(
                "Your password is changed. Other sessions and tokens were signed out, "
                "and your calendar address stopped working.",
                "success",
            )
            return redirect(home_for(current_user))
    return render_template(
        "auth/password.html",
        form=form,
        confirm=ConfirmForm(),
        sessions=accounts.session_count(current_user),
    )


@bp.get("/account/closed")
def closed():
    """After closing an account (signed out by then)."""
    return render_template("account/closed.html")
