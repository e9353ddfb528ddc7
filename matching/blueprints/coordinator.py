"""Pages for coordinators: the programme at a glance, listeners, rounds, mail, audit."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateField
from wtforms.validators import DataRequired

from matching.errors import Conflict, Invalid
from matching.extensions import db
from matching.models import AuditEvent, SupportRequest
from matching.schemas import bodies, load
from matching.security import guard_pages
from matching.services import listeners as listeners_service
from matching.services import rounds as rounds_service

bp = Blueprint("coordinator", __name__, url_prefix="/coordinator")
guard_pages(bp, "coordinator")


# Names of the score's parts as coordinators read them.
PART_LABELS = {
    "field": "same field",
    "topics": "topics",
    "continuity": "met before",
    "urgency": "urgency and waiting",
    "earliness": "soon",
    "load": "light week",
}


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
    body = {"training_valid_until": form.training_valid_until.data.isoformat()}
    try:
        values = load(bodies.Verification, body)
        listeners_service.verify_listener(current_user, listener_id, values["training_valid_until"])
    except Invalid as err:
        flash(err.message, "warning")
        return redirect(url_for("coordinator.listeners"))
    db.session.commit()
    flash("Listener verified.", "success")
    return redirect(url_for("coordinator.listeners"))


@bp.get("/rounds")
def rounds():
    return render_template("coordinator/rounds.html", rounds=rounds_service.recent_rounds())


@bp.post("/rounds")
def run_round():
    matching_round = rounds_service.run_round(current_user)
    db.session.commit()
    proposed, unmatched = len(matching_round.proposals), len(matching_round.unmatched)
    flash(f"Round finished: {proposed} proposed, {unmatched} still waiting for a match.", "success")
    return redirect(url_for("coordinator.round_detail", round_id=matching_round.id))


@bp.get("/rounds/<int:round_id>")
def round_detail(round_id: int):
    matching_round = rounds_service.get_round(round_id)
    return render_template(
        "coordinator/round.html",
        round=matching_round,
        unmatched=rounds_service.unmatched_requests(matching_round),
        part_labels=PART_LABELS,
    )


@bp.post("/proposals/<int:proposal_id>/approve")
def approve(proposal_id: int):
    round_id = rounds_service.get_proposal(proposal_id).round_id
    try:
        rounds_service.approve_proposal(current_user, proposal_id)
    except Conflict as err:
        db.session.rollback()
        flash(err.message, "warning")
    else:
        db.session.commit()
        flash("Approved. The conversation is booked and both people will hear from us.", "success")
    return redirect(url_for("coordinator.round_detail", round_id=round_id))


@bp.post("/proposals/<int:proposal_id>/reject")
def reject(proposal_id: int):
    round_id = rounds_service.get_proposal(proposal_id).round_id
    never_again = request.form.get("never_again") == "1"
    try:
        rounds_service.reject_proposal(current_user, proposal_id, never_again)
    except Conflict as err:
        db.session.rollback()
        flash(err.message, "warning")
    else:
        db.session.commit()
        if never_again:
            flash("Rejected. This pair will not be proposed again.", "success")
        else:
            flash("Rejected. The request goes back into the next round.", "success")
    return redirect(url_for("coordinator.round_detail", round_id=round_id))


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
