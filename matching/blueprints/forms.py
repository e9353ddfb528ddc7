"""Form pieces shared by the page blueprints."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional
from wtforms.widgets import CheckboxInput, ListWidget

from matching.errors import Invalid
from matching.services.validate import zone_names

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def zone_choices() -> list[SelectChoice]:
    return [SelectChoice(z, z.replace("_", " ")) for z in zone_names()]


class TimezoneField(SelectField):
    def __init__(self, label="Time zone", **kwargs):
        super().__init__(label, choices=[], **kwargs)

    def pre_validate(self, form):
        self.choices = zone_choices()
        super().pre_validate(form)


def split_list(raw: str | None) -> list[str]:
    """'en, es' -> ['en', 'es']"""
    return [part.strip() for part in (raw or "").replace(";", ",").split(",") if part.strip()]


def apply_errors(form: FlaskForm, err: Invalid, aliases: dict | None = None) -> None:
    """Show a service's field errors next to the matching form fields."""
    aliases = aliases or {}
    shown = False
    for name, message in err.fields.items():
        field = getattr(form, aliases.get(name, name.split("[")[0].split(".")[0]), None)
        if field is not None and hasattr(field, "errors"):
            field.errors = [*list(field.errors), message]
            shown = True
    if not shown:
        form.form_errors.append(err.message)


class ListField(StringField):
    """A comma-separated list in one text box."""

    def __init__(self, label=None, **kwargs):
        kwargs.setdefault("validators", [Optional()])
        super().__init__(label, **kwargs)

    def _value(self):
        if isinstance(self.data, list):
            return ", ".join(self.data)
        return super()._value()

    @property
    def items(self) -> list[str]:
        return split_list(self.data) if isinstance(self.data, str) else list(self.data or [])
