"""Pages that practitioners and listeners share: profile, weekly times, time off.

register(bp, role) adds them to a role's blueprint, so both roles have the same pages
under their own prefix (/practitioner/availability, /listener/availability, ...).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, FieldList, FormField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Optional

from matching.errors import Invalid
from matching.extensions import db
from matching.schemas import bodies, load
from matching.services import availability, profiles, validate

from .forms import WEEKDAYS, ConfirmForm, apply_errors, form_body

ROWS = 14
# Rows shown at least, and empty rows shown after the last filled one (up to ROWS).
SHOWN_ROWS, SPARE_ROWS = 7, 3
WEEKDAYS_MON_FRI = range(5)
# A 24-hour clock time typed as text, whatever the browser's language (HH:MM).
CLOCK_INPUT = {
    "placeholder": "09:00",
    "pattern": "([01][0-9]|2[0-3]):[0-5][0-9]",
    "inputmode": "numeric",
    "maxlength": 5,
    "size": 5,
    "autocomplete": "off",
}


class WindowForm(FlaskForm):
    class Meta:
        csrf = False

    # Optional: a row left empty (or not sent at all) is skipped, not an error.
    weekday = SelectField(
        "Day",
        validators=[Optional()],
        choices=[SelectChoice("", "—")] + [SelectChoice(str(i), d) for i, d in enumerate(WEEKDAYS)],
    )
    start = StringField("From", validators=[Optional()], render_kw=CLOCK_INPUT)
    end = StringField(
        "To", validators=[Optional()], render_kw=CLOCK_INPUT | {"placeholder": "12:00"}
    )


class AvailabilityForm(FlaskForm):
    windows = FieldList(FormField(WindowForm), min_entries=ROWS, max_entries=ROWS)


class TimeOffForm(FlaskForm):
    start = DateTimeLocalField("From", validators=[DataRequired()], format="%Y-%m-%dT%H:%M")
    end = DateTimeLocalField("Until", validators=[DataRequired()], format="%Y-%m-%dT%H:%M")


def register(bp: Blueprint, role: str, profile_form: type[FlaskForm]) -> None:
    """Add the profile, weekly-times and time-off pages to a role's blueprint."""
    bp.add_url_rule(
        "/profile", "profile", lambda: profile_page(role, profile_form), methods=["GET", "POST"]
    )
    bp.add_url_rule(
        "/availability", "availability", lambda: availability_page(role), methods=["GET", "POST"]
    )
    bp.add_url_rule("/time-off", "add_time_off", lambda: add_time_off(role), methods=["POST"])
    bp.add_url_rule(
        "/time-off/<int:time_off_id>/delete",
        "delete_time_off",
        lambda time_off_id: delete_time_off(role, time_off_id),
        methods=["POST"],
    )


def profile_page(role: str, form_class: type[FlaskForm]):
    """Show and save the signed-in person's profile, checked by the API's profile schema."""
    form = form_class(obj=current_user.profile)
    if form.validate_on_submit():
        try:
            profiles.update_profile(current_user, load(bodies.PROFILES[role], form_body(form)))
        except Invalid as err:
            db.session.rollback()
            apply_errors(form, err)
        else:
            db.session.commit()
            flash("Your profile is saved.", "success")
            return redirect(url_for(f"{role}.dashboard"))
    return render_template(f"{role}/profile.html", form=form)


def _rows(form: AvailabilityForm) -> tuple[list[dict], list[int]]:
    """The filled rows as windows, and the table row number (from 1) each came from."""
    rows, numbers = [], []
    for number, entry in enumerate(form.windows.entries, start=1):
        w = entry.form
        if not w.weekday.data and not w.start.data and not w.end.data:
            continue
        rows.append(
            {
                "weekday": int(w.weekday.data) if (w.weekday.data or "").isdigit() else -1,
                "start": (w.start.data or "")[:5],
                "end": (w.end.data or "")[:5],
            }
        )
        numbers.append(number)
    return rows, numbers


def availability_page(role: str):
    """Show the weekly windows and time off; save the weekly windows.

    "Copy to weekdays" on a row (a button, so it works without script too; with script
    static/availability.js does the same in the page) fills Monday to Friday with that
    row's times and shows the result to check and save.
    """
    form = AvailabilityForm(prefix="av")
    if request.method == "POST" and request.form.get("copy", "").isdigit():
        _copy_to_weekdays(form, int(request.form["copy"]))
    elif request.method == "POST":
        if form.validate():
            rows, numbers = _rows(form)
            try:
                availability.set_windows(
                    current_user, load(bodies.Windows, {"windows": rows})["windows"]
                )
            except Invalid as err:
                form.form_errors.append(
                    "; ".join(f"row {_row_label(k, numbers)}: {v}" for k, v in err.fields.items())
                    or err.message
                )
            else:
                db.session.commit()
                flash("Your weekly times are saved.", "success")
                return redirect(url_for(f"{role}.availability"))
    else:
        _show_saved_windows(form)
    return _availability_template(role, form, TimeOffForm(prefix="off", formdata=None))


def add_time_off(role: str):
    """Add a stretch of time off, given in the person's own zone."""
    off_form = TimeOffForm(prefix="off")
    if off_form.validate():
        zone = current_user.timezone
        try:
            # Wall-clock times in the person's zone: a time the clocks skip is refused
            # with the gap named; one they pass twice means the first.
            start, start_twice = validate.local_instant(off_form.start.data, zone, "start")
            end, end_twice = validate.local_instant(off_form.end.data, zone, "end")
            availability.add_time_off(current_user, start, end)
        except Invalid as err:
            apply_errors(off_form, err)
        else:
            db.session.commit()
            for note in (start_twice, end_twice):
                if note:
                    flash(note, "info")
            flash("Time off added.", "success")
            return redirect(url_for(f"{role}.availability"))
    form = AvailabilityForm(prefix="av", formdata=None)
    _show_saved_windows(form)
    return _availability_template(role, form, off_form)


def _copy_to_weekdays(form: AvailabilityForm, index: int) -> None:
    """Fill empty rows with row ``index``'s times on each weekday that lacks them."""
    entries = form.windows.entries
    if index >= len(entries):
        return
    source = entries[index].form
    start, end = (source.start.data or "")[:5], (source.end.data or "")[:5]
    if not (validate.HHMM.match(start) and validate.HHMM.match(end)) or start == end:
        form.form_errors.append("Fill in that row's times first, then copy them.")
        return
    present = {(e.form.weekday.data, e.form.start.data, e.form.end.data) for e in entries}
    empty = [e.form for e in entries if not (e.form.weekday.data or e.form.start.data)]
    for day in WEEKDAYS_MON_FRI:
        if (str(day), start, end) in present:
            continue
        if not empty:
            form.form_errors.append("There are not enough empty rows: save, then copy again.")
            return
        row = empty.pop(0)
        row.weekday.data, row.start.data, row.end.data = str(day), start, end
    flash("Copied to Monday to Friday. Check the times, then save.", "info")


def shown_rows(form: AvailabilityForm) -> int:
    """How many rows the editor shows: the filled ones and a few empty ones."""
    filled = [
        number
        for number, entry in enumerate(form.windows.entries, start=1)
        if entry.form.weekday.data or entry.form.start.data or entry.form.end.data
    ]
    return min(ROWS, max(SHOWN_ROWS, (filled[-1] if filled else 0) + SPARE_ROWS))


def _show_saved_windows(form: AvailabilityForm) -> None:
    current = availability.availability_dict(current_user)["windows"]
    for entry, window in zip(form.windows.entries, current, strict=False):
        entry.form.weekday.data = str(window["weekday"])
        entry.form.start.data = window["start"]
        entry.form.end.data = window["end"]


def _availability_template(role: str, form: AvailabilityForm, off_form: TimeOffForm):
    zone = ZoneInfo(current_user.timezone)
    time_off = [
        {
            "id": item["id"],
            "start": datetime.fromisoformat(item["start"]).astimezone(zone),
            "end": datetime.fromisoformat(item["end"]).astimezone(zone),
        }
        for item in availability.time_off_list(current_user)
    ]
    return render_template(
        "shared/availability.html",
        form=form,
        off_form=off_form,
        delete_form=ConfirmForm(),
        time_off=time_off,
        role=role,
        shown=shown_rows(form),
    )


def _row_label(key: str, numbers: list[int]) -> str:
    """Turn the schema's "windows[i].end" into the table row the person filled in."""
    if key.startswith("windows[") and "]" in key:
        index = key[8 : key.index("]")]
        if index.isdigit() and int(index) < len(numbers):
            return str(numbers[int(index)])
    return key


def delete_time_off(role: str, time_off_id: int):
    if not ConfirmForm().validate_on_submit():
        flash("That form expired. Please try again.", "warning")
        return redirect(url_for(f"{role}.availability"))
    availability.delete_time_off(current_user, time_off_id)
    db.session.commit()
    flash("Time off removed.", "success")
    return redirect(url_for(f"{role}.availability"))
