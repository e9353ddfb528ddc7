"""Pages for coordinators: the programme at a glance, listeners, rounds, mail, audit."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateField
from wtforms.validators import DataRequired

from matching.errors import Invalid
from matching.extensions import db
from matching.models import AuditEvent, SupportRequest
from matching.security import guard_pages
from matching.services import listeners as listeners_service

bp = Blueprint("coordinator", __name__, url_prefix="/coordinator")
guard_pages(bp, "coordinator")


class VerifyForm(FlaskForm):
    training_valid_until = DateField("Training valid until", validators=[DataRequired()])


@bp.get("/")
def dashboard():
    counts = dict(
        db.session.execute(
            db.select(SupportRequest.status, db.func.count()).group_by(SupportRequest.status)
        ).all()
    )
    listeners, _ = listeners_service.list_listeners()
    unverified = [item for item in listeners if not item["verified"]]
    return render_template(
        "coordinator/dashboard.html", counts=counts, listeners=listeners, unverified=unverified
    )


@bp.get("/listeners")
def listeners():
    items, _ = listeners_service.list_listeners()
    return render_template("coordinator/listeners.html", listeners=items, form=VerifyForm())


@bp.post("/listeners/<int:listener_id>/verify")
def verify(listener_id: int):
    form = VerifyForm()
    if not form.validate_on_submit():
        flash("Choose the date the listener's training is valid until.", "warning")
        return redirect(url_for("coordinator.listeners"))
    try:
        listeners_service.verify_listener(
            current_user, listener_id, form.training_valid_until.data.isoformat()
        )
    except Invalid as err:
        flash(err.message, "warning")
        return redirect(url_for("coordinator.listeners"))
    db.session.commit()
    flash("Listener verified.", "success")
    return redirect(url_for("coordinator.listeners"))


@bp.get("/audit")
def audit():
    page = request.args.get("page", "1")
    page = int(page) if page.isdigit() and 0 < int(page) < 10_000 else 1
    events = db.paginate(
        db.select(AuditEvent).order_by(AuditEvent.id.desc()),
        page=page,
        per_page=50,
        error_out=False,
    )
    return render_template("coordinator/audit.html", events=events)
