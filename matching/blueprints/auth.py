"""Pages: register, sign in, sign out, change password, calendar settings."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo

from matching.errors import Conflict, Invalid
from matching.extensions import db
from matching.schemas import bodies, load
from matching.security import (
    begin_browser_session,
    browser_session_key,
    client_ip,
    end_browser_session,
    is_safe_next,
)
from matching.services import accounts

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


class LoginForm(FlaskForm):
    email = EmailField("E-mail", validators=[DataRequired()])
    password = PasswordField("Password", validators=[DataRequired()])


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
    if form.validate_on_submit():
        try:
            user = accounts.register(**load(bodies.NewAccount, form_body(form)))
        except (Invalid, Conflict) as err:
            db.session.rollback()
            apply_errors(form, err)
        else:
            db.session.commit()
            begin_browser_session(user)
            flash("Welcome. Your account is ready — next, a few details about you.", "success")
            return redirect(url_for(f"{user.role}.profile"))
    elif request.method == "GET":
        form.timezone.data = request.args.get("tz") or "UTC"
    return render_template("auth/register.html", form=form)


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
        if outcome.user is None:
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
