"""Teams pages (HR): the tree, adding, renaming, moving, archiving; and a leader's own teams.

The people pages and the CSV import add their routes to this blueprint from their own modules.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select

from ..access import hr_required
from ..extensions import db
from ..forms import show_error
from ..models import Person, Team
from .forms import TOP_LEVEL, ActionForm, TeamForm
from .operations import DirectoryError, archive_team, create_team, unarchive_team, update_team
from .queries import leaders_by_team, load_tree, people_counts, team_choices, top_teams, tree_items

bp = Blueprint("directory", __name__)


@bp.get("/teams")
@hr_required
def teams():
    """The whole organisation tree with each team's people and leaders."""
    tree = load_tree()
    items = tree_items(tree, tree.roots(), people_counts(), leaders_by_team())
    archived = sum(1 for node in tree.nodes.values() if node.archived)
    return render_template("directory/teams.html", items=items, team_count=len(tree.nodes),
                           archived_count=archived)


def _parent_choices(form: TeamForm, tree, team: Team | None = None) -> None:
    """Top level, then every active team outside ``team`` (its current parent always)."""
    inside = set(tree.subtree(team.id)) if team else set()
    keep = [team.parent_id] if team else []
    form.parent_id.choices = [(TOP_LEVEL, "Nothing: a top-level team")] + [
        (team_id, path) for team_id, path in team_choices(tree, keep=keep)
        if team_id not in inside
    ]


@bp.route("/teams/new", methods=["GET", "POST"])
@hr_required
def new_team():
    """Add a team at the top level or inside another (``?parent=<id>`` preselects it)."""
    form = TeamForm()
    tree = load_tree()
    _parent_choices(form, tree)
    if request.method == "GET":
        form.parent_id.data = request.args.get("parent", TOP_LEVEL, type=int)
    problems: list[tuple[str | None, str]] = []
    if form.validate_on_submit():
        parent = db.session.get(Team, form.parent_id.data) if form.parent_id.data else None
        try:
            team = create_team(form.name.data, parent)
        except DirectoryError as error:
            db.session.rollback()
            problems = show_error(form, error)
        else:
            db.session.commit()
            flash(f"Team {team.name} added.", "success")
            return redirect(url_for(".team", team_id=team.id))
    return render_template("directory/team_form.html", form=form, team=None, problems=problems,
                           has_errors=bool(problems))


@bp.get("/teams/<int:team_id>")
@hr_required
def team(team_id: int):
    """One team: where it sits, its leaders, people and sub-teams, and what HR can do with it."""
    team = db.get_or_404(Team, team_id)
    tree = load_tree()
    counts = people_counts()
    [item] = tree_items(tree, [team_id], counts, leaders_by_team())
    left = db.session.scalar(select(func.count(Person.id)).where(
        Person.team_id == team_id, Person.archived_at.is_not(None)))
    return render_template("directory/team.html", team=team, item=item, path=tree.path(team_id),
                           ancestry=[(i, tree.nodes[i].name) for i in tree.ancestry(team_id)[:-1]],
                           left=left, action=ActionForm())


@bp.route("/teams/<int:team_id>/edit", methods=["GET", "POST"])
@hr_required
def edit_team(team_id: int):
    """Rename a team, or move it (with everything inside it) to another place in the tree."""
    team = db.get_or_404(Team, team_id)
    form = TeamForm()
    tree = load_tree()
    _parent_choices(form, tree, team)
    if request.method == "GET":
        form.name.data = team.name
        form.parent_id.data = team.parent_id or TOP_LEVEL
    problems: list[tuple[str | None, str]] = []
    if form.validate_on_submit():
        parent = db.session.get(Team, form.parent_id.data) if form.parent_id.data else None
        try:
            update_team(team, name=form.name.data, parent=parent)
        except DirectoryError as error:
            db.session.rollback()
            problems = show_error(form, error)
        else:
            db.session.commit()
            flash(f"Team {team.name} saved.", "success")
            return redirect(url_for(".team", team_id=team.id))
    return render_template("directory/team_form.html", form=form, team=team, problems=problems,
                           has_errors=bool(problems))


@bp.post("/teams/<int:team_id>/archive", endpoint="archive_team")
@hr_required
def archive_team_view(team_id: int):
    team = db.get_or_404(Team, team_id)
    if ActionForm().validate_on_submit():
        try:
            archive_team(team)
        except DirectoryError as error:
            db.session.rollback()
            flash(str(error), "error")
        else:
            db.session.commit()
            flash(f"Team {team.name} archived. Its history stays; it takes no new people.",
                  "success")
    return redirect(url_for(".team", team_id=team_id))


@bp.post("/teams/<int:team_id>/unarchive", endpoint="unarchive_team")
@hr_required
def unarchive_team_view(team_id: int):
    team = db.get_or_404(Team, team_id)
    if ActionForm().validate_on_submit():
        try:
            unarchive_team(team)
        except DirectoryError as error:
            db.session.rollback()
            flash(str(error), "error")
        else:
            db.session.commit()
            flash(f"Team {team.name} is active again.", "success")
    return redirect(url_for(".team", team_id=team_id))


@bp.get("/my-teams")
@login_required
def my_teams():
    """A leader's teams and every team below them (read-only); HR is sent to the whole tree."""
    if current_user.is_hr:
        return redirect(url_for(".teams"))
    tree = load_tree()
    roots = top_teams(tree, [team.id for team in current_user.teams])
    items = tree_items(tree, roots, people_counts(), leaders_by_team())
    return render_template("directory/my_teams.html", items=items)
