"""Blueprints: pages per role, the JSON API and the calendar feed."""

from __future__ import annotations

from flask import Flask, url_for
from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter

from matching.blueprints import (
    account,
    api,
    auth,
    coordinator,
    events,
    feed,
    listener,
    meetings,
    practitioner,
    public,
)
from matching.models import now_utc
from matching.services.notices import local_time
from matching.services.profiles import pause_last_day

# The largest id of an integer primary key (PostgreSQL's integer).
MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """<int:...> in a route: a number larger than any id is not found (404), never a 500."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)

    def to_python(self, value: str) -> int:
        if len(value) > len(str(self.max)) or int(value) > self.max:
            raise NotFound()  # not ValidationError: the router would then answer 405
        return super().to_python(value)


def register(app: Flask) -> None:
    """Register every blueprint, and the template helpers the pages share."""
    app.url_map.converters["int"] = IdConverter
    for module in (
        public,
        auth,
        practitioner,
        listener,
        coordinator,
        feed,
        meetings,
        events,
        account,
    ):
        app.register_blueprint(module.bp)
    api.register(app)
    app.add_template_filter(localtime, "localtime")
    app.add_template_global(today, "today")
    app.add_template_filter(last_day_of_pause, "last_day_of_pause")
    app.add_template_global(paths_for, "paths_for")


def localtime(value, zone: str, fmt: str = "%a %d %b, %H:%M") -> str:
    """Show a UTC instant in a person's zone, with the zone named ('' for none)."""
    return "" if value is None else local_time(value, zone, fmt)


def today():
    """Today's date in UTC."""
    return now_utc().date()


def last_day_of_pause(paused_until, zone: str) -> str:
    """The last day a pause covers, in the person's zone: "Mon 14 Dec"."""
    day = pause_last_day(paused_until, zone)
    return "" if day is None else day.strftime("%a %-d %b")


def paths_for(endpoint: str, name: str, **values):
    """url_for(endpoint, name=id, **values) for many ids at the price of one url_for.

    Long lists link every row to its own page or form; building each path with url_for
    is most of such a page's time. The path is built once with a stand-in id, and each
    row's id is put in its place: ``{% set path = paths_for('x.show', 'item_id') %}``,
    then ``{{ path(row.id) }}``.
    """
    stand_in = str(MAX_ID)
    before, _, after = url_for(endpoint, **{name: MAX_ID}, **values).partition(stand_in)

    def path(value: int) -> str:
        return f"{before}{int(value)}{after}"

    return path
