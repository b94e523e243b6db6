"""The people import: compare a parsed file with the directory (the plan), then apply the plan.

``plan_import`` only reads: it loads the tree once and the file's people by e-mail in a few
bulk queries (never one per row), and returns what would change. ``apply_import`` writes exactly
that plan with bulk statements and flushes; the caller commits, so applying is one transaction.

The rules: people are matched by e-mail. Someone new is added; someone known gets the file's
name and team, and the attributes of the attribute columns the file has (an empty cell clears
the value; a missing column keeps it). Someone who had left (archived) comes back. People not
in the file are left as they are. Teams are matched by path in any letter case; missing ones are
created. A row that would put someone in an archived team, or create a team inside one, is an
error. A file with any error changes nothing.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from sqlalchemy import func, insert, select, update

from ..extensions import db
from ..models import Person, Team, utcnow
from ..orgtree import PATH_SEPARATOR, OrgTree
from .csv_import import ImportRow, ParsedFile, RowError
from .queries import load_tree

#: E-mails per query when loading the file's people (well below every database's limit).
EMAIL_CHUNK = 2000
FIELD_LABELS = {"name": "Name", "location": "Location", "role_level": "Role level",
                "tenure_band": "Tenure band", "status": "Status"}
ATTRIBUTES = ("location", "role_level", "tenure_band")


class ImportRefused(Exception):
    """The plan has errors and cannot be applied."""


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: str | None
    new: str | None

    @property
    def label(self) -> str:
        return FIELD_LABELS[self.field]


@dataclass(frozen=True)
class PlannedPerson:
    """One line of the file and what it does. ``team`` is the (new) team's path."""

    line: int
    email: str
    name: str
    team: str
    person_id: int | None = None
    #: For a moved person: the path of the team they are in now.
    old_team: str | None = None
    changes: tuple[FieldChange, ...] = ()


@dataclass
class ImportPlan:
    new: list[PlannedPerson] = field(default_factory=list)
    updated: list[PlannedPerson] = field(default_factory=list)
    moved: list[PlannedPerson] = field(default_factory=list)
    unchanged: list[PlannedPerson] = field(default_factory=list)
    #: Paths of the teams to create, each after its parent.
    teams_to_create: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    attribute_columns: tuple[str, ...] = ()
    ignored_columns: tuple[str, ...] = ()
    #: What to write: new people's rows and changed people's full new state, by person id.
    inserts: list[dict] = field(default_factory=list, repr=False)
    updates: dict[int, dict] = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def has_changes(self) -> bool:
        return bool(self.inserts or self.updates or self.teams_to_create)

    def digest(self) -> str:
        """A fingerprint of every change, to check that apply does what the preview showed."""
        content = {
            "teams": self.teams_to_create,
            "new": self.inserts,
            "changed": sorted(self.updates.items()),
            "errors": [str(e) for e in self.errors],
        }
        return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()

    def summary(self) -> str:
        """ "12 new, 3 updated, 1 moved, 84 unchanged, 2 teams created" """
        teams = len(self.teams_to_create)
        return (f"{len(self.new)} new, {len(self.updated)} updated, {len(self.moved)} moved, "
                f"{len(self.unchanged)} unchanged, {teams} {'team' if teams == 1 else 'teams'} "
                "created")


def key(path: str) -> str:
    return path.casefold()


def plan_import(parsed: ParsedFile) -> ImportPlan:
    """Compare the file's valid rows with the directory; nothing is written.

    The plan's errors are the file's own plus those that depend on the directory (archived
    teams), in line order.
    """
    plan = ImportPlan(attribute_columns=parsed.attribute_columns,
                      ignored_columns=parsed.ignored_columns)
    tree = load_tree()
    teams = TeamResolver(tree)
    existing = load_people([row.email for row in parsed.rows])
    paths = {team_id: tree.path(team_id) for team_id in tree.nodes}
    errors = list(parsed.errors)
    for row in parsed.rows:
        path, problem = teams.resolve(row.team_path)
        if problem:
            errors.append(RowError(row.line, problem))
            continue
        current = existing.get(row.email)
        if current is None:
            plan_new(plan, row, path)
        else:
            plan_known(plan, row, path, current, paths[current["team_id"]])
    plan.teams_to_create = [teams.new_paths[k] for k in teams.new_order] if not errors else []
    plan.errors = sorted(errors, key=lambda e: (e.line or 0))
    return plan


def plan_new(plan: ImportPlan, row: ImportRow, path: str) -> None:
    plan.new.append(PlannedPerson(row.line, row.email, row.name, path))
    values = {"email": row.email, "name": row.name, "team": key(path)}
    values.update({a: getattr(row, a) for a in plan.attribute_columns})
    plan.inserts.append(values)


def plan_known(plan: ImportPlan, row: ImportRow, path: str, current: dict, old_path: str) -> None:
    changes = []
    if current["name"] != row.name:
        changes.append(FieldChange("name", current["name"], row.name))
    for attribute in plan.attribute_columns:
        if current[attribute] != getattr(row, attribute):
            changes.append(FieldChange(attribute, current[attribute], getattr(row, attribute)))
    if current["archived"]:
        changes.append(FieldChange("status", "Left (archived)", "Active"))
    moved = key(old_path) != key(path)
    entry = PlannedPerson(row.line, row.email, row.name, path, current["id"],
                          old_team=old_path if moved else None, changes=tuple(changes))
    if changes:
        plan.updated.append(entry)
    if moved:
        plan.moved.append(entry)
    if not changes and not moved:
        plan.unchanged.append(entry)
        return
    target = {a: current[a] for a in ATTRIBUTES}
    target.update({a: getattr(row, a) for a in plan.attribute_columns})
    target.update(name=row.name, team=key(path))
    plan.updates[current["id"]] = target


def load_people(emails: list[str]) -> dict[str, dict]:
    """The people with these e-mails, as plain dicts by e-mail, in two or a few bulk queries.

    When the file is large next to the directory, one scan of the whole table beats ``IN``
    lists (which PostgreSQL may scan linearly per row when its statistics are out of date).
    """
    columns = (Person.id, Person.email, Person.name, Person.team_id, Person.location,
               Person.role_level, Person.tenure_band, Person.archived_at)
    if not emails:
        return {}
    total = db.session.scalar(select(func.count(Person.id))) or 0
    if len(emails) * 4 >= total:
        wanted = set(emails)
        results = [row for row in db.session.execute(select(*columns)) if row.email in wanted]
    else:
        results = []
        for start in range(0, len(emails), EMAIL_CHUNK):
            chunk = emails[start:start + EMAIL_CHUNK]
            results.extend(db.session.execute(select(*columns).where(Person.email.in_(chunk))))
    return {
        row.email: {
            "id": row.id, "name": row.name, "team_id": row.team_id, "location": row.location,
            "role_level": row.role_level, "tenure_band": row.tenure_band,
            "archived": row.archived_at is not None,
        }
        for row in results
    }


class TeamResolver:
    """Turns a file's team path into a team path of the directory, noting teams to create."""

    def __init__(self, tree: OrgTree):
        self.tree = tree
        self.by_path = tree.by_path()
        #: New teams by key, spelled as first seen, in the order they must be created.
        self.new_paths: dict[str, str] = {}
        self.new_order: list[str] = []
        self.cache: dict[tuple[str, ...], tuple[str, str | None]] = {}

    def resolve(self, names: tuple[str, ...]) -> tuple[str, str | None]:
        """Return (path as the directory spells it, problem or None)."""
        lookup = tuple(n.casefold() for n in names)
        if lookup not in self.cache:
            self.cache[lookup] = self._resolve(names)
        return self.cache[lookup]

    def _resolve(self, names: tuple[str, ...]) -> tuple[str, str | None]:
        spelled: list[str] = []
        for depth, name in enumerate(names):
            prefix = PATH_SEPARATOR.join([*spelled, name])
            team_id = self.by_path.get(key(prefix))
            last = depth == len(names) - 1
            if team_id is not None:
                node = self.tree.nodes[team_id]
                spelled.append(node.name)
                if node.archived:
                    path = self.tree.path(team_id)
                    if last:
                        return path, (f"The team {path} is archived. Unarchive it on the Teams "
                                      "page first, or put this person in another team.")
                    return path, (f"The team {path} is archived, so no team can be added inside "
                                  "it. Unarchive it on the Teams page first, or change the path.")
                continue
            spelled.append(self.new_paths.get(key(prefix), prefix).rpartition(PATH_SEPARATOR)[2])
            path = PATH_SEPARATOR.join(spelled)
            if key(path) not in self.new_paths:
                self.new_paths[key(path)] = path
                self.new_order.append(key(path))
        return PATH_SEPARATOR.join(spelled), None


def apply_import(plan: ImportPlan) -> ImportPlan:
    """Write the plan: create its teams, add its new people, update the changed ones; flush.

    :raise ImportRefused: when the plan has errors (nothing is written).
    """
    if plan.errors:
        raise ImportRefused(f"The file has {len(plan.errors)} problems; nothing was imported.")
    team_ids = create_teams(plan.teams_to_create)
    now = utcnow()
    if plan.inserts:
        db.session.execute(insert(Person), [
            {**{k: v for k, v in values.items() if k != "team"},
             "team_id": team_ids[values["team"]], "created_at": now, "updated_at": now}
            for values in plan.inserts
        ])
    if plan.updates:
        db.session.execute(update(Person), [
            {"id": person_id, "name": target["name"], "team_id": team_ids[target["team"]],
             **{a: target[a] for a in ATTRIBUTES}, "archived_at": None, "updated_at": now}
            for person_id, target in plan.updates.items()
        ])
    db.session.flush()
    return plan


def create_teams(paths: list[str]) -> dict[str, int]:
    """Create the teams at ``paths`` (each after its parent); return every team's id by key."""
    tree = load_tree()
    ids = {path_key: team_id for path_key, team_id in tree.by_path().items()}
    created: dict[str, Team] = {}
    for path in paths:
        parent_path, _, name = path.rpartition(PATH_SEPARATOR)
        team = Team(name=name)
        if parent_path:
            parent = created.get(key(parent_path))
            if parent is not None:
                team.parent = parent
            else:
                team.parent_id = ids[key(parent_path)]
        created[key(path)] = team
        db.session.add(team)
    db.session.flush()
    ids.update({path_key: team.id for path_key, team in created.items()})
    return ids
