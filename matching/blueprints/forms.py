"""Form pieces shared by the page blueprints.

A page form draws the fields and reads what the browser sends; the values then go
through the same schema as the API body of the same name (matching/schemas/bodies.py),
so a page and the API refuse the same things with the same sentences.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask_wtf import FlaskForm
from wtforms import SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from matching.errors import Invalid
from matching.schemas.bodies import COMMENT_MAX
from matching.services.validate import zone_names
from matching.vocabulary import FIELDS, MODALITIES, RATING_WORDS, field_label, modality_label

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class ConfirmForm(FlaskForm):
    """Nothing but the form token: a button that changes something."""


def comment_field(label: str) -> TextAreaField:
    """The optional comment of a rating (bodies.NewFeedback); who reads it varies."""
    return TextAreaField(label, validators=[Optional(), Length(max=COMMENT_MAX)])


class FeedbackForm(FlaskForm):
    """A rating after a conversation, and an optional comment for the coordinators."""

    rating = SelectField(
        "How was it?",
        coerce=int,
        choices=[SelectChoice(str(n), w) for n, w in RATING_WORDS.items()],
    )
    comment = comment_field("Anything you want the coordinators to know (optional)")


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def field_choices() -> list[SelectChoice]:
    """The professional fields as a form offers them."""
    return [SelectChoice(f, field_label(f)) for f in FIELDS]


class ModalitiesField(CheckboxesField):
    """The ways to meet, as boxes to tick."""

    def __init__(self, label="Ways to meet", **kwargs):
        choices = [SelectChoice(m, modality_label(m)) for m in MODALITIES]
        super().__init__(label, choices=choices, **kwargs)


def zone_choices() -> list[SelectChoice]:
    return [SelectChoice(z, z.replace("_", " ")) for z in zone_names()]


class TimezoneField(SelectField):
    def __init__(self, label="Time zone", **kwargs):
        super().__init__(label, choices=[], **kwargs)

    def pre_validate(self, form):
        self.choices = zone_choices()
        super().pre_validate(form)


def time_choices(starts, timezone: str) -> list[tuple[str, str]]:
    """Free times as (instant, words in the viewer's zone) for the one-click buttons."""
    zone = ZoneInfo(timezone)
    return [(s.isoformat(), s.astimezone(zone).strftime("%a %d %b, %H:%M")) for s in starts]


def split_list(raw: str | None) -> list[str]:
    """'en, es' -> ['en', 'es']"""
    return [part.strip() for part in (raw or "").replace(";", ",").split(",") if part.strip()]


class ListField(StringField):
    """A comma-separated list in one text box; its data is the list."""

    def __init__(self, label=None, **kwargs):
        kwargs.setdefault("validators", [Optional()])
        kwargs.setdefault("default", list)
        super().__init__(label, **kwargs)

    def process_formdata(self, valuelist):
        if valuelist:
            self.data = split_list(valuelist[0])

    def _value(self):
        if isinstance(self.data, list):
            return ", ".join(self.data)
        return super()._value()


def form_body(form: FlaskForm) -> dict:
    """The form's values under their field names: the body its schema loads."""
    return {field.name: _body_value(field) for field in form if field.name != "csrf_token"}


def _body_value(field):
    if isinstance(field, SelectMultipleField):
        return list(field.data or [])
    if isinstance(field, StringField) and field.data is None:
        return ""  # a text box the browser did not send is an empty one
    return field.data


def apply_errors(form: FlaskForm, err: Invalid) -> None:
    """Show a schema's or service's field errors next to the matching form fields."""
    shown = False
    for name, message in err.fields.items():
        field = getattr(form, name.split("[")[0].split(".")[0], None)
        if field is not None and hasattr(field, "errors"):
            field.errors = [*list(field.errors), message]
            shown = True
    if not shown:
        form.form_errors.append(err.message)
