"""Reading the directory for pages: the tree with its counts and leaders, and the people list."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import Select, func, or_, select

from ..domain import without_nul
from ..extensions import db
from ..models import Person, Team, User, leadership
from ..orgtree import OrgTree


def load_tree() -> OrgTree:
    """Return every team, archived ones included (``Node.archived``), as an ``OrgTree``: the one
    way pages, operations and commands read the tree (paths, subtrees, who sees what)."""
    rows = db.session.execute(
        select(Team.id, Team.parent_id, Team.name, Team.archived_at.is_not(None))
    )
    # bool(): a driver may hand back the comparison as 0/1; Node.archived is a bool.
    return OrgTree.build((id_, parent, name, bool(archived)) for id_, parent, name, archived in rows)


def people_counts() -> dict[int, int]:
    """Active people per team (in the team itself, not counting teams below)."""
    rows = db.session.execute(
        select(Person.team_id, func.count(Person.id))
        .where(Person.archived_at.is_(None))
        .group_by(Person.team_id)
    ).all()
    return {team_id: count for team_id, count in rows}


def leaders_by_team() -> dict[int, list[str]]:
    """Names of the active leaders of each team, in name order."""
    rows = db.session.execute(
        select(leadership.c.team_id, User.name)
        .join(User, User.id == leadership.c.user_id)
        .where(User.is_active_account.is_(True))
        .order_by(User.name)
    ).all()
    result: dict[int, list[str]] = {}
    for team_id, name in rows:
        result.setdefault(team_id, []).append(name)
    return result


@dataclass
class TreeItem:
    """A team as the tree pages show it."""

    id: int
    name: str
    path: str
    archived: bool
    #: Active people in the team itself.
    people: int
    #: Active people in the team and every team below it.
    people_total: int
    leaders: list[str] = field(default_factory=list)
    children: list[TreeItem] = field(default_factory=list)


def tree_items(tree: OrgTree, roots: Iterable[int], counts: dict[int, int],
               leaders: dict[int, list[str]]) -> list[TreeItem]:
    """Nest the teams below each of ``roots`` (in name order) with their counts and leaders."""

    def build(team_id: int) -> TreeItem:
        node = tree.nodes[team_id]
        children = [build(child) for child in tree.children.get(team_id, [])]
        own = counts.get(team_id, 0)
        return TreeItem(
            id=team_id, name=node.name, path=tree.path(team_id), archived=node.archived,
            people=own, people_total=own + sum(c.people_total for c in children),
            leaders=leaders.get(team_id, []), children=children,
        )

    return [build(root) for root in roots]


def top_teams(tree: OrgTree, team_ids: Iterable[int]) -> list[int]:
    """Of ``team_ids``, those not below another of them, in tree order."""
    wanted = set(team_ids) & set(tree.nodes)
    tops = [t for t in wanted if not any(a in wanted for a in tree.ancestry(t)[:-1])]
    order = {team_id: position for position, team_id in enumerate(tree.walk())}
    return sorted(tops, key=order.__getitem__)


def team_choices(tree: OrgTree, *, active_only: bool = True,
                 keep: Iterable[int | None] = ()) -> list[tuple[int, str]]:
    """Return (id, path) of the teams in tree order, for a select.

    With ``active_only``, archived teams are left out except those in ``keep``: a form's current
    choices, so that saving the form does not silently drop them.
    """
    keep = set(keep)
    return [
        (team_id, tree.path(team_id)) for team_id in tree.walk()
        if not (active_only and tree.nodes[team_id].archived) or team_id in keep
    ]


def people_query(tree: OrgTree, *, search: str = "", team_id: int | None = None,
                 include_archived: bool = False) -> Select:
    """People matching ``search`` (in name or e-mail, any letter case) in ``team_id`` or any team
    below it, ordered by name then e-mail."""
    query = select(Person)
    search = without_nul(search).strip()
    if search:
        query = query.where(or_(
            Person.name.icontains(search, autoescape=True),
            Person.email.icontains(search.lower(), autoescape=True),
        ))
    if team_id is not None and team_id in tree.nodes:
        query = query.where(Person.team_id.in_(tree.subtree(team_id)))
    if not include_archived:
        query = query.where(Person.archived_at.is_(None))
    return query.order_by(func.lower(Person.name), Person.name, Person.email)
