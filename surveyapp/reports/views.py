"""Results for leaders and HR: the dashboard of a team (or the organisation) in a round, and
its downloads (served from the reports stored when the round closed, when there are some)."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user, login_required

from ..access import hr_required
from ..analysis.confidentiality import ORGANISATION
from ..analysis.report import IDEAS_LISTED
from ..downloads import content_disposition, slug
from ..extensions import db
from ..models import Round, RoundTeam
from ..rounds.link_exports import notice_text, recorded_exports
from .access import reportable_rounds, require_report, visible_groups
from .export import csv_rows, to_csv
from .pdf import heat_rules, pdf_inputs, render_pdf
from .queries import load_context, team_report
from .storage import CSV, PDF, file_names, readiness, stored_report, zipped

bp = Blueprint("reports", __name__, url_prefix="/reports")
#: A download's file name when the round's and the team's names hold no letter or digit.
REPORT = "report"


@bp.after_request
def no_store(response):
    # Results must not stay in shared caches or the browser's history cache.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/")
@login_required
def index():
    """Send the user to the newest results they may see, or say why there are none."""
    rounds = reportable_rounds()
    round_id = request.args.get("round", type=int)
    group_id = request.args.get("team", type=int)
    if round_id is not None and group_id is not None:
        return redirect(url_for(".dashboard", round_id=round_id, team_id=group_id))
    for round_ in rounds:
        if current_user.is_hr:
            return redirect(url_for(".dashboard", round_id=round_.id, team_id=ORGANISATION))
        groups = visible_groups(round_)
        if groups:
            return redirect(url_for(".dashboard", round_id=round_.id, team_id=groups[0].team_id))
    return render_template("reports/empty.html")


@bp.get("/<int:round_id>/<int:team_id>")
@login_required
def dashboard(round_id: int, team_id: int):
    target = require_report(round_id, team_id)
    organisation = current_app.config["ORGANISATION_NAME"]
    report = team_report(target.round, team_id, organisation)
    return render_template(
        "reports/dashboard.html", report=report, exports=recorded_exports(round_id),
        rounds=reportable_rounds(),
        groups=visible_groups(target.round), ORGANISATION=ORGANISATION,
        ideas_listed=IDEAS_LISTED, every_idea=request.args.get("ideas") == "all",
    )


@bp.get("/heat.css")
def heat_css():
    """Heatmap cell colours for means 1.0 to 5.0 in steps of 0.1 (no data: cacheable): the
    rules the PDF's stylesheet carries too, so that page and PDF colour a mean alike."""
    response = current_app.response_class(f"{heat_rules()}\n", mimetype="text/css")
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


@bp.get("/<int:round_id>/<int:team_id>/aggregates.csv")
@login_required
def csv(round_id: int, team_id: int):
    """Aggregates of the team and every team in it, as CSV (never individual responses)."""
    target = require_report(round_id, team_id)
    organisation = current_app.config["ORGANISATION_NAME"]
    ctx = load_context(target.round)
    name = f"{target.round.name}-{ctx.name(team_id, organisation)}"
    stored = stored_report(round_id, team_id, CSV)
    if stored is None:
        rows = csv_rows(ctx, team_id, ctx.require_tallies(), organisation,
                        notice=notice_text(recorded_exports(round_id)))
        stored = ("\ufeff" + to_csv(rows)).encode("utf-8")
    return _download(stored, "text/csv", f"{slug(name, REPORT)}.csv")


@bp.get("/<int:round_id>/<int:team_id>/report.pdf")
@login_required
def pdf(round_id: int, team_id: int):
    """The team's report as a PDF (A4)."""
    target = require_report(round_id, team_id)
    organisation = current_app.config["ORGANISATION_NAME"]
    name = f"{target.round.name}-{_group_name(target.round, team_id, organisation)}"
    pdf_bytes = stored_report(round_id, team_id, PDF)
    if pdf_bytes is None:  # not rendered yet, or out of date: render it now
        inputs = pdf_inputs(target.round, team_id, organisation)
        db.session.rollback()  # end the read transaction before the slow part
        pdf_bytes = render_pdf(inputs.report, inputs.aggregates, inputs.exports)
    return _download(pdf_bytes, "application/pdf", f"{slug(name, REPORT)}.pdf")


def _group_name(round_: Round, group_id: int, organisation: str) -> str:
    """The group's name as its report gives it (the organisation's name for the whole)."""
    if group_id == ORGANISATION:
        return organisation
    team = db.session.get(RoundTeam, (round_.id, group_id))
    return team.name if team is not None else REPORT


@bp.get("/<int:round_id>/all-reports.zip")
@hr_required
def every_report(round_id: int):
    """Every group's PDF of a closed round in one ZIP file, from the reports prepared when it
    closed; streamed, one PDF at a time. While some are still being prepared, the round's
    page says how far it is."""
    target = require_report(round_id, ORGANISATION)
    ready = readiness(round_id)
    if not ready.complete:
        flash(f"The reports are still being prepared ({ready.ready} of {ready.total} ready): "
              "download them all once they are.", "info")
        return redirect(url_for("rounds.show", round_id=round_id))
    organisation = current_app.config["ORGANISATION_NAME"]
    names = file_names(load_context(target.round), organisation)
    response = current_app.response_class(
        stream_with_context(zipped(round_id, names)), mimetype="application/zip")
    response.headers["Content-Disposition"] = content_disposition(
        f"{slug(target.round.name, REPORT)}-reports.zip")
    return response


def _download(body: str | bytes, mimetype: str, filename: str):
    """Return ``body`` as a file the browser saves as ``filename`` (any script)."""
    response = current_app.response_class(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = content_disposition(filename)
    return response
