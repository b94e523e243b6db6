"""Who may see what: HR sees everything; a leader sees the teams they lead and all teams below."""

from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user, login_required
from sqlalchemy import select

from .extensions import db
from .models import Team, User
from .orgtree import OrgTree


def hr_required(view):
    """Decorate a view that only HR admins may use: 401 flow for anonymous, 403 for leaders."""

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not current_user.is_hr:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def visible_team_ids(user: User, tree: OrgTree) -> set[int]:
    """Return the ids of every team ``user`` may see."""
    if user.is_hr:
        return set(tree.nodes)
    return tree.subtree_of_any(team.id for team in user.teams)


def may_see_team(user: User, team_id: int) -> bool:
    """Whether ``user`` may see the team: ``team_id in visible_team_ids(user, tree)``, worked
    out from the team's ancestors alone (a few rows) instead of the whole tree, for requests
    that check one team, such as a report's download."""
    if user.is_hr:
        return True
    led = {team.id for team in user.teams}
    if not led:
        return False
    ancestors = (select(Team.id, Team.parent_id).where(Team.id == team_id)
                 .cte("ancestors", recursive=True))
    ancestors = ancestors.union_all(
        select(Team.id, Team.parent_id).join(ancestors, Team.id == ancestors.c.parent_id))
    return not led.isdisjoint(db.session.scalars(select(ancestors.c.id)))
