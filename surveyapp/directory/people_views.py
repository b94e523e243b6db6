"""People pages (HR): the searchable list, adding, editing (and moving), archiving."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for

from ..access import hr_required
from ..database import page_number
from ..extensions import db
from ..forms import show_error
from ..models import Person, Team
from .forms import ActionForm, PersonForm
from .operations import DirectoryError, add_person, archive_person, unarchive_person, update_person
from .queries import load_tree, people_query, team_choices
from .views import bp


@bp.get("/people")
@hr_required
def people():
    """Everyone, sorted by name, a page at a time; search by name or e-mail, filter by team
    (including the teams below it), optionally with the people who have left."""
    tree = load_tree()
    search = request.args.get("q", "").strip()
    team_id = request.args.get("team", type=int)
    if team_id not in tree.nodes:
        team_id = None
    include_archived = request.args.get("left") == "1"
    query = people_query(tree, search=search, team_id=team_id, include_archived=include_archived)
    page = db.paginate(query, page=page_number(),
                       per_page=int(current_app.config["PEOPLE_PER_PAGE"]), error_out=False)
    filters = {k: v for k, v in (("q", search), ("team", team_id),
                                 ("left", "1" if include_archived else None)) if v}
    return render_template(
        "directory/people.html", page=page, paths={i: tree.path(i) for i in tree.nodes},
        teams=team_choices(tree, active_only=False), search=search, team_id=team_id,
        include_archived=include_archived, filters=filters, has_teams=bool(tree.nodes),
    )


def _team_options(form: PersonForm, person: Person | None = None) -> None:
    tree = load_tree()
    form.team_id.choices = [(0, "Choose a team")] + team_choices(
        tree, keep=[person.team_id] if person else [])


def _save(form: PersonForm, person: Person | None) -> Person:
    team = db.session.get(Team, form.team_id.data) if form.team_id.data else None
    details = dict(email=form.email.data, name=form.name.data, team=team,
                   location=form.location.data, role_level=form.role_level.data,
                   tenure_band=form.tenure_band.data)
    if person is None:
        return add_person(**details)
    return update_person(person, **details)


@bp.route("/people/new", methods=["GET", "POST"])
@hr_required
def new_person():
    """Add one person (``?team=<id>`` preselects the team)."""
    form = PersonForm()
    _team_options(form)
    if request.method == "GET":
        form.team_id.data = request.args.get("team", 0, type=int)
    problems: list[tuple[str | None, str]] = []
    if form.validate_on_submit():
        try:
            person = _save(form, None)
        except DirectoryError as error:
            db.session.rollback()
            problems = show_error(form, error)
        else:
            db.session.commit()
            flash(f"{person.name} added.", "success")
            return redirect(url_for(".people", q=person.email))
    return render_template("directory/person_form.html", form=form, person=None,
                           problems=problems, has_errors=bool(problems))


@bp.route("/people/<int:person_id>", methods=["GET", "POST"])
@hr_required
def person(person_id: int):
    """Change someone's details or team; mark them as having left (or back)."""
    person = db.get_or_404(Person, person_id)
    form = PersonForm()
    _team_options(form, person)
    if request.method == "GET":
        form.process(obj=person)
    problems: list[tuple[str | None, str]] = []
    if form.validate_on_submit():
        try:
            _save(form, person)
        except DirectoryError as error:
            db.session.rollback()
            problems = show_error(form, error)
        else:
            db.session.commit()
            flash(f"Changes to {person.name} saved.", "success")
            return redirect(url_for(".person", person_id=person.id))
    return render_template("directory/person_form.html", form=form, person=person,
                           problems=problems, has_errors=bool(problems), action=ActionForm())


@bp.post("/people/<int:person_id>/archive", endpoint="archive_person")
@hr_required
def archive_person_view(person_id: int):
    person = db.get_or_404(Person, person_id)
    if ActionForm().validate_on_submit():
        archive_person(person)
        db.session.commit()
        flash(f"{person.name} is marked as having left. They will not be invited to new "
              "rounds; their past answers stay in the results.", "success")
    return redirect(url_for(".person", person_id=person_id))


@bp.post("/people/<int:person_id>/unarchive", endpoint="unarchive_person")
@hr_required
def unarchive_person_view(person_id: int):
    person = db.get_or_404(Person, person_id)
    if ActionForm().validate_on_submit():
        try:
            unarchive_person(person)
        except DirectoryError as error:
            db.session.rollback()
            flash(str(error), "error")
        else:
            db.session.commit()
            flash(f"{person.name} is active again.", "success")
    return redirect(url_for(".person", person_id=person_id))
