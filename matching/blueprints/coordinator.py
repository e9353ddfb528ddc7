"""Pages for coordinators: overview, queue, requests, listeners, rounds, reports, audit."""

from __future__ import annotations

from datetime import datetime

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, IntegerField, TextAreaField, TimeField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import HiddenInput

from matching import charts
from matching.errors import Conflict, Invalid, Malformed
from matching.extensions import db
from matching.models import REQUEST_STATUSES, AuditEvent, now_utc
from matching.schemas import bodies, load
from matching.security import guard_pages, is_safe_next
from matching.services import care as care_service
from matching.services import listeners as listeners_service
from matching.services import pairing as pairing_service
from matching.services import queue as queue_service
from matching.services import reports as reports_service
from matching.services import requests as requests_service
from matching.services import rounds as rounds_service
from matching.services import validate
from matching.vocabulary import URGENCIES

from .forms import CheckboxesField, ConfirmForm, apply_errors, form_body, time_choices

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


def score_parts(parts: dict) -> str:
    """A proposal's score by part, as coordinators read it: "same field 30, topics 12"."""
    return ", ".join(f"{PART_LABELS.get(name, name)} {points}" for name, points in parts.items())


PER_PAGE = 50
# A proposal's row carries three times, its reasons and a note, a listener's row a
# form: shorter pages, quicker to read and to serve.
REVIEW_PER_PAGE = 25
ROSTER_PER_PAGE = 25
WAITING_PER_PAGE = 20
# Pairing by hand: listeners who fit, per page; those who do not, shown at most; times.
FIT_PER_PAGE = 20
MISFITS_SHOWN = 50
FREE_TIMES_SHOWN = 8


class VerifyForm(FlaskForm):
    training_valid_until = DateField("Training valid until", validators=[DataRequired()])


class PairForm(FlaskForm):
    """Pair by hand: the listener and the start chosen on the page, rules set aside, a note."""

    listener_id = IntegerField(widget=HiddenInput(), validators=[DataRequired()])
    start = HiddenField(validators=[DataRequired()])
    override = CheckboxesField(
        "Set these rules aside",
        choices=[SelectChoice(code, code) for code in bodies.RULE_CODES],
        validators=[Optional()],
    )
    note = TextAreaField(
        "Why (needed to set a rule aside; coordinators only)",
        validators=[Optional(), Length(max=bodies.NOTE_MAX)],
    )


class TypedTimeForm(FlaskForm):
    """A time to check, typed in the coordinator's zone (a search: no token)."""

    class Meta:
        csrf = False

    date = DateField("Date", validators=[DataRequired()])
    time = TimeField("Time", validators=[DataRequired()])


def _page_number(name: str = "page") -> int:
    """The page asked for; anything but a plain number from 1 to 9999 means the first."""
    try:
        number = validate.digits(request.args.get(name), name, max_len=4)
    except Malformed:
        return 1
    return number or 1


def _back(default: str) -> str:
    """Where to return after a form: the page it came from, if it is ours."""
    target = request.form.get("back")
    return target if is_safe_next(target) else default


@bp.get("/")
def dashboard():
    return render_template(
        "coordinator/dashboard.html",
        counts=queue_service.queue_counts(),
        listeners=listeners_service.listener_counts(),
        running=rounds_service.running_round(),
        latest=rounds_service.latest_round(),
        urgencies=URGENCIES,
        debriefs=care_service.open_debriefs(),
        confirm=ConfirmForm(),
    )


@bp.get("/queue")
def queue():
    filters = queue_service.queue_filters(request.args)
    page = queue_service.list_queue(**filters, cursor=request.args.get("cursor"), limit=PER_PAGE)
    return render_template(
        "coordinator/queue.html",
        page=page,
        pairable=pairing_service.PAIRABLE,
        filters=filters,
        now=now_utc(),
        waiting_words=queue_service.waiting_words,
        urgencies=URGENCIES,
        statuses=REQUEST_STATUSES,
    )


@bp.get("/requests/<int:request_id>")
def request_detail(request_id: int):
    story = queue_service.request_story(current_user, request_id)
    html = render_template(
        "coordinator/request.html",
        story=story,
        pairable=pairing_service.PAIRABLE,
        now=now_utc(),
        waiting_words=queue_service.waiting_words,
    )
    # The audit event of reading the note; after rendering, which reads loaded rows.
    db.session.commit()
    return html


def _typed_start(form: TypedTimeForm) -> tuple[datetime | None, str | None]:
    """The instant of a typed date and time in the coordinator's zone, and a note if twice."""
    if not (request.args.get("date") or request.args.get("time")):
        return None, None
    if not form.validate():
        return None, None
    local = datetime.combine(form.date.data, form.time.data)
    try:
        return validate.local_instant(local, current_user.timezone, "time")
    except Invalid as err:
        apply_errors(form, err)
        return None, None


def _pair_page(request_id: int, form: PairForm, *, listener_id: int | None, start=None):
    """The pairing page: listeners who fit, their free times, what a chosen time breaks."""
    req = pairing_service.get_request(request_id)
    search = request.args.get("q", "")[:80]
    found = pairing_service.candidates(request_id, search=search)
    page_number = _page_number()
    first = (page_number - 1) * FIT_PER_PAGE
    typed = TypedTimeForm(request.args)
    twice = None
    chosen = free = broken = None
    if listener_id is not None:
        chosen = pairing_service.get_listener(listener_id)
        free = time_choices(
            pairing_service.free_times(request_id, listener_id, limit=FREE_TIMES_SHOWN),
            current_user.timezone,
        )
        if start is None:
            start, twice = _typed_start(typed)
        if start is not None:
            broken = pairing_service.broken(request_id, listener_id, start)
    return render_template(
        "coordinator/pair.html",
        req=req,
        person=req.practitioner,
        can_pair=req.status in pairing_service.PAIRABLE,
        search=search,
        fit=found.fit[first : first + FIT_PER_PAGE],
        fit_total=len(found.fit),
        page_number=page_number,
        more=first + FIT_PER_PAGE < len(found.fit),
        misfit=found.misfit[:MISFITS_SHOWN],
        misfit_total=len(found.misfit),
        chosen=chosen,
        free=free,
        typed=typed,
        twice=twice,
        start=start,
        broken=broken,
        form=form,
        note_max=bodies.NOTE_MAX,
    )


def _listener_arg() -> int | None:
    try:
        return validate.digits(request.args.get("listener"), "listener", max_len=10)
    except Malformed:
        return None


@bp.get("/requests/<int:request_id>/pair")
def pair(request_id: int):
    return _pair_page(request_id, PairForm(formdata=None), listener_id=_listener_arg())


@bp.post("/requests/<int:request_id>/pair")
def pair_submit(request_id: int):
    form = PairForm()
    start = None
    if form.validate_on_submit():
        try:
            values = load(bodies.NewPairing, form_body(form) | {"request_id": request_id})
            start = values["start"]
            meeting = pairing_service.pair(
                current_user,
                request_id,
                values["listener_id"],
                start,
                override=values["override"],
                note=values["note"],
            )
        except (Invalid, Conflict) as err:
            db.session.rollback()
            apply_errors(form, err)
        else:
            db.session.commit()
            flash(
                "Paired. The conversation is booked and both people will hear from us.", "success"
            )
            target = url_for("coordinator.request_detail", request_id=request_id)
            return redirect(f"{target}#meeting-{meeting.id}")
    # Fields the page draws itself (hidden, or boxes only for the broken rules).
    for drawn in (form.listener_id, form.start, form.override):
        form.form_errors.extend(drawn.errors)
    listener_id = form.listener_id.data if isinstance(form.listener_id.data, int) else None
    return _pair_page(request_id, form, listener_id=listener_id, start=start)


@bp.get("/listeners")
def listeners():
    search = request.args.get("q", "")[:80]
    show = request.args.get("show", "all")
    show = show if show in listeners_service.ROSTER_FILTERS else "all"
    page_number = _page_number()
    page = listeners_service.roster(
        search=search, show=show, page=page_number, per_page=ROSTER_PER_PAGE
    )
    return render_template(
        "coordinator/listeners.html",
        page=page,
        page_number=page_number,
        search=search,
        show=show,
        form=VerifyForm(),
    )


@bp.post("/listeners/<int:listener_id>/verify")
def verify(listener_id: int):
    form = VerifyForm()
    back = _back(url_for("coordinator.listeners"))
    if not form.validate_on_submit():
        flash("Choose the date the listener's training is valid until.", "warning")
        return redirect(back)
    body = {"training_valid_until": form.training_valid_until.data.isoformat()}
    try:
        values = load(bodies.Verification, body)
        listeners_service.verify_listener(current_user, listener_id, values["training_valid_until"])
    except Invalid as err:
        flash(err.message, "warning")
        return redirect(back)
    db.session.commit()
    flash("Listener verified.", "success")
    return redirect(back)


@bp.get("/rounds")
def rounds():
    return render_template(
        "coordinator/rounds.html",
        rounds=rounds_service.recent_rounds(),
        running=rounds_service.running_round(),
    )


@bp.post("/rounds")
def run_round():
    try:
        matching_round = rounds_service.run_round(current_user)
    except Conflict as err:
        flash(err.message, "warning")
        return redirect(url_for("coordinator.rounds"))
    db.session.commit()
    proposed, unmatched = len(matching_round.proposals), len(matching_round.unmatched)
    flash(f"Round finished: {proposed} proposed, {unmatched} still waiting for a match.", "success")
    return redirect(url_for("coordinator.round_detail", round_id=matching_round.id))


@bp.get("/rounds/<int:round_id>")
def round_detail(round_id: int):
    matching_round = rounds_service.round_header(round_id)
    filters = rounds_service.proposal_filters(request.args)
    counts = rounds_service.proposal_counts(round_id)
    total = None
    if not filters["language"]:
        total = rounds_service.filtered_total(counts, filters["status"], filters["urgency"])
    page = rounds_service.list_proposals(
        round_id,
        **filters,
        cursor=request.args.get("cursor"),
        limit=REVIEW_PER_PAGE,
        total=total,
    )
    unmatched_page = _page_number("unmatched_page")
    offset = (unmatched_page - 1) * WAITING_PER_PAGE
    unmatched = rounds_service.unmatched_requests(
        matching_round, offset=offset, limit=WAITING_PER_PAGE
    )
    notes = [row.request_id for row in page.items if row.note] + [
        req.id for req, _ in unmatched if req.note
    ]
    requests_service.record_note_views(current_user, notes)
    html = render_template(
        "coordinator/round.html",
        round=matching_round,
        pairable=pairing_service.PAIRABLE,
        page=page,
        filters=filters,
        counts=counts,
        unmatched=unmatched,
        unmatched_page=unmatched_page,
        unmatched_more=offset + WAITING_PER_PAGE < len(matching_round.unmatched),
        score_parts=score_parts,
        urgencies=URGENCIES,
        bulk_limit=rounds_service.BULK_LIMIT,
        now=now_utc(),
        waiting_words=queue_service.waiting_words,
    )
    # The audit event of reading the notes; after rendering, which reads loaded rows.
    db.session.commit()
    return html


@bp.post("/rounds/<int:round_id>/approve")
def approve_many(round_id: int):
    back = _back(url_for("coordinator.round_detail", round_id=round_id))
    if request.form.get("scope") == "urgent":
        ids = rounds_service.pending_ids(
            round_id, urgency="urgent", limit=rounds_service.BULK_LIMIT
        )
        if not ids:
            flash("No urgent proposals are waiting in this round.", "info")
            return redirect(back)
    else:
        ids = request.form.getlist("proposal_ids")
        if not ids:
            flash("Tick the proposals you want to approve first.", "warning")
            return redirect(back)
    try:
        outcome = rounds_service.approve_many(current_user, round_id, ids)
    except Invalid as err:
        db.session.rollback()
        flash(err.message, "warning")
        return redirect(back)
    db.session.commit()
    approved, conflicts = outcome["approved"], outcome["conflicts"]
    if approved:
        flash(
            f"Approved {len(approved)}. "
            + (
                "Everyone will hear from us."
                if len(approved) > 1
                else "Both people will hear from us."
            ),
            "success",
        )
    if conflicts:
        flash(f"{len(conflicts)} could not be booked and are still waiting for you:", "warning")
        for item in conflicts[:20]:
            flash(f"Proposal {item.proposal_id}: {item.message}", "warning")
        if len(conflicts) > 20:
            flash(f"… and {len(conflicts) - 20} more.", "warning")
    return redirect(back)


@bp.post("/proposals/<int:proposal_id>/approve")
def approve(proposal_id: int):
    round_id = rounds_service.get_proposal(proposal_id).round_id
    back = _back(url_for("coordinator.round_detail", round_id=round_id))
    try:
        rounds_service.approve_proposal(current_user, proposal_id)
    except Conflict as err:
        db.session.rollback()
        flash(err.message, "warning")
    else:
        db.session.commit()
        flash("Approved. The conversation is booked and both people will hear from us.", "success")
    return redirect(back)


@bp.post("/proposals/<int:proposal_id>/reject")
def reject(proposal_id: int):
    round_id = rounds_service.get_proposal(proposal_id).round_id
    back = _back(url_for("coordinator.round_detail", round_id=round_id))
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
    return redirect(back)


def _report_range():
    """The date range of the query string, or the default one and the form's errors."""
    try:
        return (*reports_service.parse_range(request.args.get("from"), request.args.get("to")), {})
    except Invalid as err:
        return (*reports_service.default_range(), err.fields)


@bp.get("/reports")
def reports():
    from_, to, errors = _report_range()
    figures = reports_service.programme(from_, to)
    return render_template(
        "coordinator/reports.html",
        figures=figures,
        from_=from_,
        to=to,
        errors=errors,
        charts=charts.CHARTS,
        min_group=reports_service.MIN_GROUP,
    )


@bp.get("/reports/<name>.svg")
def chart(name: str):
    if name not in charts.CHARTS:
        abort(404)
    from_, to, _ = _report_range()
    svg = charts.render(name, reports_service.programme(from_, to))
    response = Response(svg, mimetype="image/svg+xml")
    # A chart is an image: no script may run in it, its own styles may.
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/reports/programme.csv")
def programme_csv():
    from_, to, _ = _report_range()
    body = reports_service.programme_csv(from_, to)
    response = Response(body, mimetype="text/csv")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="programme-{from_.isoformat()}-{to.isoformat()}.csv"'
    )
    return response


@bp.get("/audit")
def audit():
    page = _page_number()
    events = db.paginate(
        db.select(AuditEvent).order_by(AuditEvent.id.desc()),
        page=page,
        per_page=50,
        error_out=False,
    )
    return render_template("coordinator/audit.html", events=events)


@bp.post("/debriefs/<int:debrief_id>/arranged")
def debrief_arranged(debrief_id: int):
    """A coordinator has arranged a listener's debrief; it leaves the overview."""
    if not ConfirmForm().validate_on_submit():
        flash("That form expired. Please try again.", "warning")
        return redirect(url_for("coordinator.dashboard"))
    try:
        care_service.arrange_debrief(current_user, debrief_id)
    except Conflict as err:
        db.session.rollback()
        flash(err.message, "info")
    else:
        db.session.commit()
        flash("Noted: the debrief is arranged.", "success")
    return redirect(url_for("coordinator.dashboard"))
