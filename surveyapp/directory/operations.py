"""Changes to the directory: teams (create, rename, move, archive) and people (add, edit, archive).

Each operation validates, changes the session, flushes and returns; the caller commits. A change
that is not allowed raises ``DirectoryError`` with a message for HR and the form field at fault.
The CSV import has its own module (``importing``) built on the same rules.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select

from ..domain import DomainError, one_line, without_nul
from ..email_addresses import EmailNotValidError, validated_email
from ..extensions import db
from ..models import Person, Team, utcnow
from ..orgtree import PATH_SEPARATOR
from .csv_import import MAX_ATTRIBUTE, MAX_NAME, MAX_TEAM_NAME, MAX_TEAM_PATH
from .queries import load_tree

ATTRIBUTE_LABELS = {"location": "location", "role_level": "role level", "tenure_band": "tenure band"}


class DirectoryError(DomainError):
    """A change to teams or people is not allowed; the message says why and what to do.

    ``field`` names the form field at fault (``"name"``, ``"parent_id"``), or None.
    """


# --- Teams ------------------------------------------------------------------------------------


def clean_team_name(name: str) -> str:
    """Return ``name`` trimmed. :raise DirectoryError: blank, too long, or holding "/"."""
    name = one_line(name)
    if not name:
        raise DirectoryError("Enter a name for the team.", "name")
    if len(name) > MAX_TEAM_NAME:
        raise DirectoryError(f"The team name must be {MAX_TEAM_NAME} characters or fewer.", "name")
    if PATH_SEPARATOR in name:
        raise DirectoryError(
            f'A team name cannot contain "{PATH_SEPARATOR}": it separates teams in paths such '
            "as Operations/Customer Care.", "name",
        )
    return name


def _check_free_name(name: str, parent: Team | None, team: Team | None = None) -> None:
    """:raise DirectoryError: when a sibling under ``parent`` has ``name`` in any letter case."""
    where = Team.parent_id == parent.id if parent else Team.parent_id.is_(None)
    siblings = db.session.execute(select(Team.id, Team.name).where(where)).all()
    wanted = name.casefold()
    for sibling_id, sibling_name in siblings:
        if sibling_name.casefold() == wanted and (team is None or sibling_id != team.id):
            place = f"in {load_tree().path(parent.id)}" if parent else "at the top level"
            raise DirectoryError(
                f"There is already a team called {sibling_name} {place}. Choose another name.",
                "name",
            )


def _check_path_length(name: str, parent: Team | None, team: Team | None = None) -> None:
    """:raise DirectoryError: when the team's path, or the path of a team below it, would be
    longer than ``MAX_TEAM_PATH`` (the longest path a round keeps, and the import takes)."""
    tree = load_tree()
    prefix = len(tree.path(parent.id)) + len(PATH_SEPARATOR) if parent else 0
    below = 0
    if team is not None:
        own = len(tree.path(team.id))
        below = max(len(tree.path(team_id)) - own for team_id in tree.subtree(team.id))
    if prefix + len(name) + below > MAX_TEAM_PATH:
        moved = team is not None and (parent.id if parent else None) != team.parent_id
        raise DirectoryError(
            f"The path of this team{' or a team below it' if below else ''} would be longer than "
            f"{MAX_TEAM_PATH} characters. Choose a shorter name or a place higher in the tree.",
            "parent_id" if moved else "name",
        )


def _check_open_parent(parent: Team | None) -> None:
    if parent is not None and parent.is_archived:
        raise DirectoryError(
            f"{parent.name} is archived, so it takes no new teams. Choose another team, or "
            f"unarchive {parent.name} first.", "parent_id",
        )


def create_team(name: str, parent: Team | None = None) -> Team:
    """Add a team under ``parent`` (None: at the top level).

    :raise DirectoryError: bad name, a sibling of that name, an archived parent, or a path
        longer than ``MAX_TEAM_PATH``.
    """
    name = clean_team_name(name)
    _check_open_parent(parent)
    _check_free_name(name, parent)
    _check_path_length(name, parent)
    team = Team(name=name, parent=parent)
    db.session.add(team)
    db.session.flush()
    return team


def update_team(team: Team, *, name: str, parent: Team | None) -> Team:
    """Rename ``team`` and/or move it under ``parent`` (None: to the top level).

    :raise DirectoryError: bad name; ``parent`` is the team itself, below it, or archived (unless
        unchanged); a sibling at the destination already has the name in any letter case; a
        path (its own or one below it) would be longer than ``MAX_TEAM_PATH``.
    """
    name = clean_team_name(name)
    if parent is not None and parent.id != team.parent_id:
        if parent.id in load_tree().subtree(team.id):
            raise DirectoryError(
                "A team cannot be moved into itself or into one of the teams below it. "
                "Choose a team outside it.", "parent_id",
            )
        _check_open_parent(parent)
    _check_free_name(name, parent, team)
    _check_path_length(name, parent, team)
    team.name = name
    team.parent = parent
    db.session.flush()
    return team


def rename_team(team: Team, name: str) -> Team:
    """Give ``team`` a new name. :raise DirectoryError: as ``update_team``."""
    return update_team(team, name=name, parent=team.parent)


def move_team(team: Team, parent: Team | None) -> Team:
    """Move ``team`` (with everything below it) under ``parent``. :raise DirectoryError:"""
    return update_team(team, name=team.name, parent=parent)


def archive_team(team: Team) -> Team:
    """Archive ``team``: it keeps its history but takes no new people or teams.

    :raise DirectoryError: when people or teams inside it are still active (saying which).
    """
    if team.is_archived:
        return team
    people = db.session.execute(
        select(func.count(Person.id)).where(Person.team_id == team.id, Person.archived_at.is_(None))
    ).scalar_one()
    children = db.session.scalars(
        select(Team.name).where(Team.parent_id == team.id, Team.archived_at.is_(None))
        .order_by(Team.name)
    ).all()
    if people or children:
        raise DirectoryError(_archive_blockers(team.name, people, children))
    team.archived_at = utcnow()
    db.session.flush()
    return team


def _archive_blockers(name: str, people: int, children: Sequence[str]) -> str:
    still, todo = [], []
    if people:
        still.append(f"{people} {'person' if people == 1 else 'people'}")
        todo.append("move them to another team or archive them")
    if children:
        listed = ", ".join(children[:5]) + (" and others" if len(children) > 5 else "")
        noun = "team" if len(children) == 1 else "teams"
        still.append(f"{len(children)} active {noun} inside it ({listed})")
        todo.append(f"archive or move {'that' if len(children) == 1 else 'those'} {noun}")
    what = " and ".join(still)
    steps = "; ".join(todo)
    return f"{name} still has {what}. First {steps}, then archive {name}."


def unarchive_team(team: Team) -> Team:
    """Make an archived team active again. :raise DirectoryError: when its parent is archived."""
    if team.parent is not None and team.parent.is_archived:
        raise DirectoryError(
            f"{team.parent.name} is archived. Unarchive {team.parent.name} first: a team cannot "
            "be active inside an archived team."
        )
    team.archived_at = None
    db.session.flush()
    return team


# --- People -----------------------------------------------------------------------------------


def clean_email(email: str) -> str:
    """Return the e-mail as stored (lower-case). :raise DirectoryError: missing or not valid."""
    email = (email or "").strip()
    if not email:
        raise DirectoryError("Enter an e-mail address.", "email")
    try:
        return validated_email(email, allow_test_domain=True)
    except EmailNotValidError as error:
        raise DirectoryError(f"Enter a valid e-mail address. {error}", "email") from error


def _clean_person(email: str, name: str, team: Team | None, attributes: dict[str, str | None],
                  person: Person | None = None) -> tuple[str, str, Team, dict[str, str | None]]:
    email = clean_email(email)
    name = one_line(name)
    if not name:
        raise DirectoryError("Enter the person's name.", "name")
    if len(name) > MAX_NAME:
        raise DirectoryError(f"The name must be {MAX_NAME} characters or fewer.", "name")
    if team is None:
        raise DirectoryError("Choose a team.", "team_id")
    if team.is_archived and (person is None or person.team_id != team.id):
        raise DirectoryError(
            f"{team.name} is archived and takes no new people. Choose an active team.", "team_id"
        )
    cleaned = {}
    for key, label in ATTRIBUTE_LABELS.items():
        value = without_nul(attributes.get(key)).strip() or None
        if value is not None and len(value) > MAX_ATTRIBUTE:
            raise DirectoryError(f"The {label} must be {MAX_ATTRIBUTE} characters or fewer.", key)
        cleaned[key] = value
    other = db.session.scalar(select(Person).where(Person.email == email))
    if other is not None and other is not person:
        raise DirectoryError(
            f"Someone with this e-mail already exists: {other.name} in "
            f"{load_tree().path(other.team_id)}.", "email",
        )
    return email, name, team, cleaned


def add_person(*, email: str, name: str, team: Team | None, location: str | None = None,
               role_level: str | None = None, tenure_band: str | None = None) -> Person:
    """Add someone to the directory.

    :raise DirectoryError: e-mail missing, invalid or taken; name missing; no team or an
        archived one; an attribute too long.
    """
    attributes = {"location": location, "role_level": role_level, "tenure_band": tenure_band}
    email, name, team, cleaned = _clean_person(email, name, team, attributes)
    person = Person(email=email, name=name, team=team, **cleaned)
    db.session.add(person)
    db.session.flush()
    return person


def update_person(person: Person, *, email: str, name: str, team: Team | None,
                  location: str | None = None, role_level: str | None = None,
                  tenure_band: str | None = None) -> Person:
    """Change someone's details, including their team. :raise DirectoryError: as ``add_person``."""
    attributes = {"location": location, "role_level": role_level, "tenure_band": tenure_band}
    email, name, team, cleaned = _clean_person(email, name, team, attributes, person)
    person.email, person.name, person.team = email, name, team
    for key, value in cleaned.items():
        setattr(person, key, value)
    db.session.flush()
    return person


def move_person(person: Person, team: Team) -> Person:
    """Move someone to another team. :raise DirectoryError: when ``team`` is archived."""
    return update_person(
        person, email=person.email, name=person.name, team=team, location=person.location,
        role_level=person.role_level, tenure_band=person.tenure_band,
    )


def archive_person(person: Person) -> Person:
    """Mark someone as having left: they stay in past rounds but get no new invitations."""
    if person.archived_at is None:
        person.archived_at = utcnow()
        db.session.flush()
    return person


def unarchive_person(person: Person) -> Person:
    """Bring back someone who had left. :raise DirectoryError: when their team is archived."""
    if person.team.is_archived:
        raise DirectoryError(
            f"{person.team.name} is archived. Move {person.name} to an active team first, "
            f"or unarchive {person.team.name}."
        )
    person.archived_at = None
    db.session.flush()
    return person
