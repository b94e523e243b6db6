"""Who may see what: HR sees everything; a leader sees the teams they lead and all teams below."""

from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user, login_required

from .models import User
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
