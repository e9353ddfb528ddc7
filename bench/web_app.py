"""The app under gunicorn for bench/web.py, plus the bare baseline route.

The baseline renders a 50-row template with no database and no sign-in, in the same
gunicorn, so each page's throughput is read against what this machine can serve at all.
"""

from __future__ import annotations

from flask import Blueprint, render_template_string

from matching import create_app

BARE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Bare</title></head>
<body><table><thead><tr><th>#</th><th>Name</th><th>Urgency</th><th>Waiting</th></tr></thead>
<tbody>{% for row in rows %}<tr><td>{{ row.n }}</td><td>{{ row.name }}</td>
<td>{{ row.urgency }}</td><td>{{ row.waiting }}</td></tr>{% endfor %}</tbody></table></body></html>"""
ROWS = [
    {"n": n, "name": f"Person {n}", "urgency": ("routine", "soon", "urgent")[n % 3], "waiting": n}
    for n in range(50)
]

bare = Blueprint("bench_bare", __name__)


@bare.get("/bench/bare")
def bare_route():
    return render_template_string(BARE, rows=ROWS)


app = create_app()
app.register_blueprint(bare)
