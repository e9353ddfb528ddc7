"""Programme figures -> SVG charts, drawn by pygal on the server.

Plain data in, SVG bytes out: no Flask, no database. pygal's own script (fetched from
elsewhere by default) is switched off, so the SVG carries no script at all and the
pages' Content-Security-Policy holds; the inline configuration script pygal always
writes is removed from the tree before it is serialised. Rendering is memoised on the figures themselves:
the same figures give the same bytes, so each worker draws a chart once per change.
"""

from __future__ import annotations

import json
import sys
from functools import lru_cache
from xml.etree import ElementTree

import pygal
from pygal.style import Style

# pygal appends a legacy import hook for its map plugins (unused here) to sys.meta_path;
# it lacks find_spec, so every later failed import warns. Take it out again.
sys.meta_path[:] = [f for f in sys.meta_path if type(f).__module__ != "pygal"]

STYLE = Style(
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#2b2d33",
    foreground_strong="#2b2d33",
    foreground_subtle="#8a8d96",
    colors=("#3d6b64", "#c9a66b", "#8a4b12", "#5f6470", "#7fa69f"),
    font_family="system-ui, sans-serif",
    title_font_size=16,
    label_font_size=12,
    major_label_font_size=12,
    legend_font_size=12,
    value_font_size=11,
)

CHARTS = ("requests", "share", "waiting", "load", "feedback")
NO_DATA = "Withheld or no data"


def _config(chart_class, title: str, **extra):
    return chart_class(
        title=title,
        style=STYLE,
        js=(),
        width=720,
        height=320,
        no_data_text=NO_DATA,
        show_legend=extra.pop("show_legend", True),
        legend_at_bottom=True,
        print_values=False,
        **extra,
    )


def _short(week: str) -> str:
    return week[5:]  # "2026-03-02" -> "03-02"


def render(name: str, figures: dict) -> bytes:
    """The named chart of programme figures as SVG bytes."""
    if name not in CHARTS:
        raise KeyError(name)
    return _render(name, json.dumps(figures, sort_keys=True))


@lru_cache(maxsize=128)
def _render(name: str, figures_json: str) -> bytes:
    figures = json.loads(figures_json)
    weeks = figures["weeks"]
    labels = [_short(w["week"]) for w in weeks]
    if name == "requests":
        chart = _config(pygal.Bar, "Requests per week", x_label_rotation=0)
        chart.x_labels = labels
        chart.add("requests", [w["requests"] for w in weeks])
        chart.add("matched", [w["matched"] for w in weeks])
    elif name == "share":
        chart = _config(pygal.Line, "Share of requests matched, per week", range=(0, 100))
        chart.x_labels = labels
        chart.add(
            "% matched",
            [
                round(100 * w["matched"] / w["requests"])
                if w["requests"] and w["matched"] is not None
                else None
                for w in weeks
            ],
        )
    elif name == "waiting":
        chart = _config(pygal.HorizontalBar, "Hours from request to first conversation")
        waits = figures["time_to_first_meeting_hours"]
        if waits["median"] is not None:
            chart.add("median", [waits["median"]])
            chart.add("90th percentile", [waits["p90"]])
    elif name == "load":
        chart = _config(pygal.Bar, "Listeners by number of conversations", show_legend=False)
        load = figures["listener_load"]
        chart.x_labels = [str(item["sessions"]) for item in load]
        chart.add("listeners", [item["listeners"] for item in load])
    else:
        chart = _config(pygal.Bar, "Feedback ratings", show_legend=False)
        ratings = figures["feedback"]["ratings"]
        chart.x_labels = [str(item["rating"]) for item in ratings]
        chart.add("responses", [item["count"] for item in ratings])
    return _without_scripts(chart)


def _without_scripts(chart) -> bytes:
    """The SVG without pygal's inline configuration script (no script runs from a chart)."""
    root = chart.render_tree()
    for parent in list(root.iter()):
        for child in list(parent):
            if isinstance(child.tag, str) and child.tag.rsplit("}", 1)[-1] == "script":
                parent.remove(child)
    return b"<?xml version='1.0' encoding='utf-8'?>\n" + ElementTree.tostring(root)
