"""Staff accounts pages (HR only): the list, adding, editing, deactivating, new passwords."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms import SelectChoice

from ..access import hr_required
from ..auth.forms import SetPasswordForm
from ..clock import organisation_zone
from ..database import page_number
from ..directory.queries import load_tree, team_choices
from ..extensions import db
from ..forms import show_error
from ..models import Role, User
from ..orgtree import OrgTree
from .forms import NewUserForm, UserForm
from .operations import (
    AccountError,
    create_user,
    deactivate_user,
    reactivate_user,
    set_user_password,
    teams_by_id,
    update_user,
    users_page,
)

bp = Blueprint("accounts", __name__)


@dataclass(frozen=True)
class UserRow:
    user: User
    role: str
    teams: list[str]
    last_login: str


def _when(moment: datetime | None) -> str:
    if moment is None:
        return "Never"
    return moment.astimezone(organisation_zone()).strftime("%-d %b %Y, %H:%M")


def _team_paths(user: User, tree: OrgTree) -> list[str]:
    return sorted(tree.path(team.id) for team in user.teams)


def _team_options(tree: OrgTree, keep=()) -> list[SelectChoice]:
    """The teams a leader can be given; archived ones (only those in ``keep``, the user's
    current teams) are marked, so that HR sees why they are there."""
    return [
        SelectChoice(team_id, path + (" (archived)" if tree.nodes[team_id].archived else ""))
        for team_id, path in team_choices(tree, keep=keep)
    ]


@bp.get("/users")
@hr_required
def users():
    """List every staff account, active ones first, a page at a time."""
    page = users_page(page_number(),
                      int(current_app.config["PEOPLE_PER_PAGE"]))
    tree = load_tree()
    rows = [
        UserRow(user, Role.LABELS[user.role], _team_paths(user, tree), _when(user.last_login_at))
        for user in page.items
    ]
    return render_template("accounts/users.html", page=page, rows=rows)


@bp.route("/users/new", methods=["GET", "POST"])
@hr_required
def new_user():
    """Add a leader (with the teams they lead) or an HR admin, with a first password."""
    form = NewUserForm()
    tree = load_tree()
    form.teams.choices = _team_options(tree)
    problems: list[tuple[str | None, str]] = []
    if form.validate_on_submit():
        try:
            user = create_user(
                email=form.email.data, name=form.name.data, role=form.role.data,
                password=form.password.data, teams=teams_by_id(form.teams.data),
            )
        except AccountError as error:
            db.session.rollback()
            problems = show_error(form, error)
        else:
            db.session.commit()
            flash(f"Account created for {user.name}. Give them their password in person or "
                  "by phone; they can change it after signing in.", "success")
            return redirect(url_for(".users"))
    return render_template("accounts/user_form.html", form=form, problems=problems,
                           has_errors=bool(problems), user=None, has_teams=bool(tree.nodes),
                           role_labels=Role.LABELS)


@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
@hr_required
def edit_user(user_id: int):
    """Change a user's name, e-mail, role and teams; links to their password and status."""
    user = db.get_or_404(User, user_id)
    form = UserForm()
    tree = load_tree()
    form.teams.choices = _team_options(tree, keep=[team.id for team in user.teams])
    if request.method == "GET":
        form.name.data, form.email.data, form.role.data = user.name, user.email, user.role
        form.teams.data = [team.id for team in user.teams]
    problems: list[tuple[str | None, str]] = []
    if form.validate_on_submit():
        try:
            update_user(
                user, acting=current_user._get_current_object(), email=form.email.data,
                name=form.name.data, role=form.role.data, teams=teams_by_id(form.teams.data),
            )
        except AccountError as error:
            db.session.rollback()
            problems = show_error(form, error)
        else:
            db.session.commit()
            flash(f"Changes to {user.name}'s account saved.", "success")
            return redirect(url_for(".users"))
    return render_template("accounts/user_form.html", form=form, problems=problems,
                           has_errors=bool(problems), user=user, has_teams=bool(tree.nodes),
                           role_labels=Role.LABELS)


@bp.route("/users/<int:user_id>/deactivate", methods=["GET", "POST"])
@hr_required
def deactivate(user_id: int):
    """Ask for confirmation, then deactivate the account (it can be reactivated)."""
    user = db.get_or_404(User, user_id)
    problems: list[tuple[str | None, str]] = []
    if request.method == "POST":
        try:
            deactivate_user(user, acting=current_user._get_current_object())
        except AccountError as error:
            db.session.rollback()
            problems = [(None, str(error))]
        else:
            db.session.commit()
            flash(f"{user.name}'s account is deactivated. They can no longer sign in.", "success")
            return redirect(url_for(".edit_user", user_id=user.id))
    return render_template("accounts/deactivate.html", user=user, problems=problems,
                           has_errors=bool(problems)), (409 if problems else 200)


@bp.post("/users/<int:user_id>/reactivate")
@hr_required
def reactivate(user_id: int):
    """Let a deactivated user sign in again."""
    user = db.get_or_404(User, user_id)
    reactivate_user(user)
    db.session.commit()
    flash(f"{user.name}'s account is active again. They can sign in with their password.",
          "success")
    return redirect(url_for(".edit_user", user_id=user.id))


@bp.route("/users/<int:user_id>/password", methods=["GET", "POST"])
@hr_required
def set_password(user_id: int):
    """Set a new password for someone else (HR changes their own on their account page)."""
    user = db.get_or_404(User, user_id)
    if user.id == current_user.id:
        return redirect(url_for("auth.change_password"))
    form = SetPasswordForm()
    if form.validate_on_submit():
        try:
            set_user_password(user, form.password.data)
        except AccountError as error:
            db.session.rollback()
            form.password.errors.append(str(error))
        else:
            db.session.commit()
            flash(f"New password set for {user.name}. They have been signed out everywhere; "
                  "give them the new password in person or by phone.", "success")
            return redirect(url_for(".edit_user", user_id=user.id))
    return render_template("accounts/set_password.html", form=form, user=user)
