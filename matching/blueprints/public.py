"""The front door."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user

from matching.extensions import db

bp = Blueprint("public", __name__)

HOME = {
    "practitioner": "practitioner.dashboard",
    "listener": "listener.dashboard",
    "coordinator": "coordinator.dashboard",
}


def home_for(user) -> str:
    return url_for(HOME[user.role])


@bp.get("/")
def index():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    return render_template("public/index.html")


@bp.get("/healthz")
def health():
    db.session.execute(db.text("SELECT 1"))
    return {"status": "ok"}
