"""HR's round pages: list, create and edit a draft, its statements, launch, send, extend, close.

Every page here is for HR admins only (``require_hr`` below runs before each view). The rules
live in operations.py, instrument_edits.py and invitations.py; these views map forms to them,
commit, and say what happened. No page view writes: a round past its closing date shows as
closing (``Round.phase``) until the job that runs every minute has closed it (jobs.py).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy import select

from ..access import hr_required
from ..clock import organisation_zone, today
from ..database import page_number
from ..directory.queries import load_tree
from ..domain import DomainError
from ..downloads import content_disposition, slug
from ..errors import render_error
from ..extensions import db
from ..forms import show_error
from ..instrument import Instrument
from ..models import MailKind, Round, RoundStatus, Team
from ..reports.storage import readiness
from .forms import ExtendForm, RemindForm, RoundForm, ScheduleReminderForm, statements_form
from .instrument_edits import EditsRefused, StatementEdits, changes_from_published, edit_statements
from .invitations import (
    MailRequest,
    enqueue_batches,
    links_csv,
    queue_invitations,
    queue_reminders,
    refused_invitations,
    sending_status,
)
from .jobs import close as close_job
from .link_exports import export_links, link_export_on, recorded_exports
from .operations import (
    RoundError,
    count_invitees,
    create_round,
    delete_draft,
    extend_round,
    groups_below_minimum,
    launch_round,
    request_close,
    update_draft,
)
from .progress import round_counts, round_progress
from .scheduled_reminders import cancel_reminder, schedule_reminder, scheduled_reminders

bp = Blueprint("rounds", __name__, url_prefix="/rounds")

ROUNDS_PER_PAGE = 25
#: A new round closes this many days after it opens unless HR says otherwise.
DEFAULT_LENGTH_DAYS = 14


@bp.before_request
@hr_required
def require_hr():
    """Anonymous: to the sign-in page; leaders: 403. Runs before every view below."""
    return None


def _get_round(round_id: int) -> Round:
    """:raise 404: when there is no such round."""
    return db.get_or_404(Round, round_id)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n:,} {word}s"


def long_date(day: date) -> str:
    return f"{day:%-d %B %Y}"


def phase(round_: Round) -> str:
    """The round's status as people see it today (``Round.phase``)."""
    return round_.phase(today())


def clock_time(moment: datetime) -> str:
    """A moment as HR reads it on the round's page: "14:07" today, else "14:07 on 3 May"."""
    local = moment.astimezone(organisation_zone())
    if local.date() == today():
        return f"{local:%H:%M}"
    return f"{local:%H:%M} on {local:%-d %B}"


bp.add_app_template_filter(long_date)
bp.add_app_template_filter(phase)
bp.add_app_template_filter(clock_time)


# --- the list --------------------------------------------------------------------------------


@bp.get("")
def index():
    """Every round, newest first, with its response rate."""
    page = db.paginate(select(Round).order_by(Round.created_at.desc(), Round.id.desc()),
                       page=page_number(), per_page=ROUNDS_PER_PAGE, error_out=False)
    counts = round_counts(page.items)
    return render_template("rounds/index.html", page=page, counts=counts)


# --- creating and editing a draft ------------------------------------------------------------


def _team_rows() -> list[tuple[int, str, int]]:
    """(id, path, depth) of every team that is not archived, in tree order."""
    tree = load_tree()
    return [(i, tree.path(i), tree.depth(i)) for i in tree.walk() if not tree.nodes[i].archived]


def _settings_form(data: dict) -> RoundForm:
    form = RoundForm(data=data)
    rows = _team_rows()
    form.teams.choices = [(team_id, path) for team_id, path, _depth in rows]
    form.team_rows = rows
    return form


def _settings(form: RoundForm) -> dict:
    teams = db.session.scalars(select(Team).where(Team.id.in_(form.teams.data or []))).all()
    return {"name": form.name.data, "teams": teams, "opens_on": form.opens_on.data,
            "closes_on": form.closes_on.data, "min_group_size": form.min_group_size.data,
            "min_comment_group_size": form.min_comment_group_size.data, "today": today()}


@bp.route("/new", methods=["GET", "POST"])
def new():
    now = today()
    form = _settings_form({"opens_on": now, "closes_on": now + timedelta(days=DEFAULT_LENGTH_DAYS)})
    errors = []
    if form.validate_on_submit():
        try:
            round_ = create_round(**_settings(form))
        except RoundError as error:
            db.session.rollback()
            errors = show_error(form, error)
        else:
            db.session.commit()
            flash(f"The draft round “{round_.name}” is saved. Check the statements, preview the "
                  "survey, then launch it.", "success")
            return redirect(url_for(".show", round_id=round_.id))
    return render_template("rounds/form.html", form=form, errors=errors, round=None,
                           has_errors=bool(errors))


@bp.route("/<int:round_id>/edit", methods=["GET", "POST"])
def edit(round_id: int):
    round_ = _get_round(round_id)
    if round_.status != RoundStatus.DRAFT:
        flash("Only a draft round can be edited. You can still extend an open round.", "error")
        return redirect(url_for(".show", round_id=round_id))
    form = _settings_form({
        "name": round_.name, "teams": [t.id for t in round_.teams], "opens_on": round_.opens_on,
        "closes_on": round_.closes_on, "min_group_size": round_.min_group_size,
        "min_comment_group_size": round_.min_comment_group_size,
    })
    errors = []
    if form.validate_on_submit():
        try:
            update_draft(round_, **_settings(form))
        except RoundError as error:
            db.session.rollback()
            errors = show_error(form, error)
        else:
            db.session.commit()
            flash("The round's settings are saved.", "success")
            return redirect(url_for(".show", round_id=round_.id))
    return render_template("rounds/form.html", form=form, errors=errors, round=round_,
                           has_errors=bool(errors))


# --- the round's page ------------------------------------------------------------------------


def days_left(closes_on: date, now: date) -> str:
    days = (closes_on - now).days
    if days <= 0:
        return "Closes today"
    return f"{_plural(days, 'day')} left"


@bp.get("/<int:round_id>")
def show(round_id: int):
    round_ = _get_round(round_id)
    now = today()
    context = {"round": round_, "today": now, "RoundStatus": RoundStatus,
               "phase": round_.phase(now)}
    if round_.status == RoundStatus.DRAFT:
        instrument = Instrument.from_dict(round_.instrument)
        people, teams = count_invitees(round_)
        tree = load_tree()
        context |= {
            "instrument": instrument, "changes": changes_from_published(instrument),
            "people": people, "team_count": teams,
            "team_paths": [(tree.path(t.id), t.is_archived) for t in round_.teams],
        }
        return render_template("rounds/draft.html", **context)
    progress = round_progress(round_)
    context |= {"progress": progress, "days_left": days_left(round_.closes_on, now),
                "invitations": sending_status(round_, MailKind.INVITATION),
                "refused": refused_invitations(round_),
                "reminders": sending_status(round_, MailKind.REMINDER,
                                            may_count=progress.to_remind is not None),
                "exports": recorded_exports(round_.id), "link_export_on": link_export_on(),
                "reports": readiness(round_.id) if round_.status == RoundStatus.CLOSED else None,
                "scheduled": [r for r in scheduled_reminders(round_.id) if r.started_at is None],
                "reminder_hour": current_app.config["REMINDER_HOUR"]}
    return render_template("rounds/show.html", **context)


# --- the statements of a draft ---------------------------------------------------------------


def _statement_edits(form, remove: str | None) -> StatementEdits:
    """What the statements page asks for; ``remove``: the statement whose button was pressed."""
    return StatementEdits(
        wordings={key: field.data or "" for key, field in form.statement_fields.items()},
        additions={key: field.data or "" for key, field in form.add_fields.items()},
        remove=remove)


def _show_refusals(form, refused: EditsRefused) -> list[tuple[str | None, str]]:
    """Put each refused edit beside the field that made it (refusals name statements and
    capabilities by key); return those that belong to no field, for the summary."""
    fields = {**form.statement_fields, **form.add_fields}
    errors = []
    for refusal in refused.refusals:
        field = fields.get(refusal.field)
        errors += show_error(form, DomainError(str(refusal), field.name if field else None))
    return errors


@bp.route("/<int:round_id>/statements", methods=["GET", "POST"])
def statements(round_id: int):
    round_ = _get_round(round_id)
    if round_.status != RoundStatus.DRAFT:
        flash("The survey of a launched round can no longer change.", "error")
        return redirect(url_for(".show", round_id=round_id))
    instrument = Instrument.from_dict(round_.instrument)
    form = statements_form(instrument)
    remove = request.form.get("remove") if request.method == "POST" else None
    if form.is_submitted():
        form.validate()
        if remove in form.statement_fields:  # an empty statement can still be removed
            form.statement_fields[remove].errors = []
    errors = []
    if form.is_submitted() and not form.errors:
        try:
            edit_statements(round_, _statement_edits(form, remove))
        except EditsRefused as refused:
            errors = _show_refusals(form, refused)
        else:
            db.session.commit()
            if remove:
                flash("The statement is removed.", "success")
                return redirect(url_for(".statements", round_id=round_id))
            flash("The statements are saved.", "success")
            return redirect(url_for(".show", round_id=round_id))
    return render_template("rounds/statements.html", round=round_, instrument=instrument,
                           form=form, errors=errors, has_errors=bool(form.errors or errors))


# --- launching and deleting a draft ----------------------------------------------------------


@bp.route("/<int:round_id>/launch", methods=["GET", "POST"])
def launch(round_id: int):
    round_ = _get_round(round_id)
    if round_.status != RoundStatus.DRAFT:
        flash("This round has already been launched.", "info")
        return redirect(url_for(".show", round_id=round_id))
    errors = []
    if request.method == "POST":
        try:
            invited = launch_round(round_, today=today())
        except RoundError as error:
            db.session.rollback()
            errors = [(None, str(error))]
        else:
            db.session.commit()
            who = "1 person is" if invited == 1 else f"{invited} people are"
            flash(f"“{round_.name}” is open and {who} invited. "
                  "Send the invitations from here, or download the links to send them yourself.",
                  "success")
            return redirect(url_for(".show", round_id=round_id))
    people, teams = count_invitees(round_)
    return render_template("rounds/launch.html", round=round_, people=people, team_count=teams,
                           small_teams=groups_below_minimum(round_), errors=errors,
                           has_errors=bool(errors))


@bp.route("/<int:round_id>/delete", methods=["GET", "POST"])
def delete(round_id: int):
    round_ = _get_round(round_id)
    if round_.status != RoundStatus.DRAFT:
        flash("Only a draft round can be deleted.", "error")
        return redirect(url_for(".show", round_id=round_id))
    if request.method == "POST":
        name = round_.name
        delete_draft(round_)
        db.session.commit()
        flash(f"The draft “{name}” is deleted.", "success")
        return redirect(url_for(".index"))
    return render_template("rounds/delete.html", round=round_)


# --- an open round: sending, links, extending, closing ---------------------------------------


def _report_sending(request: MailRequest) -> None:
    if request.queued:
        flash(f"Sending {_plural(request.queued, 'invitation')}: this page shows the progress.",
              "success")
    elif request.batch_ids:
        flash("Trying again now to send the invitations left: this page shows the progress.",
              "info")
    else:
        flash("There were no invitations left to send.", "info")


def _report_reminders(request: MailRequest, counted: int | None) -> None:
    """Say what a press of "Send reminders" set going. Reminders go only to people who have
    not submitted, so how many is said only where the page may show that number
    (``counted``: the people a new reminder would reach, None when hidden); a resumed
    reminder's count would tell about the few it had not reached yet, so it is never said."""
    if request.resumed:
        flash("The last reminder goes on to everyone it has not reached yet who has not "
              "submitted: this page shows when it is done.", "success")
    elif counted is None:
        flash("Reminders are being sent to everyone whose invitation was e-mailed and who has "
              "not submitted yet: this page shows when they have gone.", "success")
    elif request.queued:
        flash(f"Sending {_plural(request.queued, 'reminder')}: this page shows the progress.",
              "success")
    else:
        flash("There was no one left to remind.", "info")


@bp.post("/<int:round_id>/send")
def send(round_id: int):
    """Record the sending and queue its batches; the workers send (invitations.py)."""
    round_ = _get_round(round_id)
    try:
        request_ = queue_invitations(round_, current_user)
    except RoundError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        enqueue_batches(request_.batch_ids)
        _report_sending(request_)
    return redirect(url_for(".show", round_id=round_id))


def _batch_seen(form: RemindForm) -> int | None:
    """The number of reminder batches HR saw when pressing the button: None when the button
    sent none that reads as a number (a new reminder then starts); -1 when it names one HR
    cannot have seen, below zero or past the database's integers (it is then out of date)."""
    form.validate()
    batch = form.batch.data
    if batch is None:
        return None
    return -1 if form.batch.errors else batch


@bp.post("/<int:round_id>/remind")
def remind(round_id: int):
    round_ = _get_round(round_id)
    form = RemindForm()
    resume = form.resume.data == "1"
    counted = None if resume else round_progress(round_).to_remind
    try:
        request_ = queue_reminders(round_, current_user, new_batch=not resume,
                                   expected_batch=_batch_seen(form),
                                   countable=counted is not None)
    except RoundError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        enqueue_batches(request_.batch_ids)
        _report_reminders(request_, counted)
    return redirect(url_for(".show", round_id=round_id))


@bp.route("/<int:round_id>/reminders", methods=["GET", "POST"])
def reminders(round_id: int):
    """Reminders scheduled ahead: the list, and a form to add a day."""
    round_ = _get_round(round_id)
    now = today()
    if round_.phase(now) != RoundStatus.OPEN:
        flash("Reminders can only be scheduled for an open round.", "error")
        return redirect(url_for(".show", round_id=round_id))
    form = ScheduleReminderForm(data={"send_on": min(now + timedelta(days=3), round_.closes_on)})
    errors = []
    if form.validate_on_submit():
        try:
            scheduled = schedule_reminder(round_, form.send_on.data, current_user)
        except RoundError as error:
            db.session.rollback()
            errors = show_error(form, error)
        else:
            db.session.commit()
            flash(f"A reminder will go out on {scheduled.send_on:%A %-d %B} at "
                  f"{current_app.config['REMINDER_HOUR']:02d}:00.", "success")
            return redirect(url_for(".reminders", round_id=round_id))
    return render_template("rounds/reminders.html", round=round_, form=form, errors=errors,
                           has_errors=bool(errors), scheduled=scheduled_reminders(round_id),
                           hour=current_app.config["REMINDER_HOUR"])


@bp.post("/<int:round_id>/reminders/<int:reminder_id>/cancel")
def cancel_scheduled_reminder(round_id: int, reminder_id: int):
    round_ = _get_round(round_id)
    try:
        cancel_reminder(round_, reminder_id)
    except RoundError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash("The scheduled reminder is cancelled.", "success")
    return redirect(url_for(".reminders", round_id=round_id))


@bp.route("/<int:round_id>/links", methods=["GET", "POST"])
def links(round_id: int):
    """Download the personal links of everyone who has not submitted, for HR's own mail
    system: a page that says what it means, then a POST that records the export and returns
    the CSV (UTF-8 with a byte-order mark, which tells Excel the encoding).

    :raise 403: when the organisation has switched link export off (``LINK_EXPORT``).
    """
    round_ = _get_round(round_id)
    if not link_export_on():
        return render_error(403, "Downloading survey links is switched off",
                            "Your organisation sends every invitation and reminder from this "
                            "application (the setting LINK_EXPORT is off). Use the round's page "
                            "to send them.")
    if round_.phase(today()) != RoundStatus.OPEN:
        flash("A draft round has no links yet: launch it first."
              if round_.status == RoundStatus.DRAFT else
              "This round has closed: its links no longer work.", "error")
        return redirect(url_for(".show", round_id=round_id))
    if request.method == "GET":
        return render_template("rounds/links.html", round=round_, today=today(),
                               exports=recorded_exports(round_.id))
    try:
        rows = export_links(round_, user=current_user)
    except RoundError as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(url_for(".show", round_id=round_id))
    # Recorded before a single link leaves: if the commit fails, no file is sent.
    db.session.commit()
    response = Response("\ufeff" + links_csv(rows), content_type="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = content_disposition(
        f"links-{slug(round_.name, 'round')}.csv")
    # Each link lets its holder answer as that person: keep it out of every cache.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/<int:round_id>/extend", methods=["GET", "POST"])
def extend(round_id: int):
    round_ = _get_round(round_id)
    if round_.phase(today()) != RoundStatus.OPEN:
        flash("Only an open round can be extended.", "error")
        return redirect(url_for(".show", round_id=round_id))
    # A week later, or the calendar's last day for a round that already closes in its last week.
    week_later = min(round_.closes_on, date.max - timedelta(days=7)) + timedelta(days=7)
    form = ExtendForm(data={"closes_on": week_later})
    errors = []
    if form.validate_on_submit():
        try:
            extend_round(round_, form.closes_on.data, today=today())
        except RoundError as error:
            db.session.rollback()
            errors = show_error(form, error)
        else:
            db.session.commit()
            flash(f"“{round_.name}” now closes on {long_date(round_.closes_on)}.", "success")
            return redirect(url_for(".show", round_id=round_id))
    return render_template("rounds/extend.html", round=round_, form=form, errors=errors,
                           has_errors=bool(errors))


@bp.route("/<int:round_id>/close", methods=["GET", "POST"])
def close(round_id: int):
    round_ = _get_round(round_id)
    if round_.phase(today()) != RoundStatus.OPEN:
        flash("Only an open round can be closed.", "error")
        return redirect(url_for(".show", round_id=round_id))
    if request.method == "POST":
        try:
            request_close(round_)
        except RoundError as error:
            db.session.rollback()
            flash(str(error), "error")
            return redirect(url_for(".show", round_id=round_id))
        db.session.commit()
        close_job.enqueue(round_.id)
        flash(f"“{round_.name}” is closed: no one can answer any more. Its responses are being "
              "tallied and its reports prepared; this page shows when they are ready.", "success")
        return redirect(url_for(".show", round_id=round_id))
    return render_template("rounds/close.html", round=round_, progress=round_progress(round_))
