"""Round operations: create and edit a draft, launch, extend, close.

Each validates, changes the session and flushes; the caller commits. A forbidden change raises
``RoundError`` with a message for HR.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date

from sqlalchemy import select

from ..directory.queries import load_tree
from ..domain import DomainError
from ..extensions import db
from ..instrument import Instrument, InstrumentError, load_default
from ..models import Invitation, Person, Round, RoundStatus, RoundTeam, Team, utcnow
from ..orgtree import OrgTree
from ..survey.release import ReleaseError, release_responses
from .tallies import store_tallies, tally_released
from .tokens import hash_token, new_nonce, token_for

#: Reporting thresholds may never go below this (docs/PRODUCT.md, "Minimum group size").
ABSOLUTE_MIN_GROUP = 3
DEFAULT_MIN_GROUP = 5


class RoundError(DomainError):
    """A round cannot be created or changed that way; the message says why, for HR.

    ``field`` names the setting at fault (``"closes_on"``), so a form can show the message
    beside it; None when no single setting is.
    """


def _check_settings(*, name: str, teams: list[Team], opens_on: date, closes_on: date,
                    min_group_size: int, min_comment_group_size: int, today: date) -> None:
    if not name.strip():
        raise RoundError("Enter a name for the round.", "name")
    if not teams:
        raise RoundError("Choose at least one team.", "teams")
    archived = [t.name for t in teams if t.is_archived]
    if archived:
        raise RoundError(f"Archived teams cannot take part: {', '.join(archived)}.", "teams")
    if min_group_size < ABSOLUTE_MIN_GROUP:
        raise RoundError(
            f"The minimum group size for scores cannot be below {ABSOLUTE_MIN_GROUP}: "
            "smaller groups could reveal individual answers.", "min_group_size",
        )
    if min_comment_group_size < min_group_size:
        raise RoundError(
            "The minimum group size for comments cannot be below the one for scores "
            f"({min_group_size}).", "min_comment_group_size",
        )
    if closes_on < opens_on:
        raise RoundError("The closing date must be on or after the opening date.", "closes_on")
    if closes_on < today:
        raise RoundError("The closing date has already passed.", "closes_on")


def create_round(*, name: str, teams: Iterable[Team], opens_on: date, closes_on: date,
                 today: date, min_group_size: int = DEFAULT_MIN_GROUP,
                 min_comment_group_size: int | None = None,
                 instrument: Instrument | None = None) -> Round:
    """Create a draft round with a copy of the published instrument.

    :raise RoundError: blank name, no or archived teams, thresholds below the rules, dates
        in the wrong order or already past.
    """
    teams = list(teams)
    comment_min = min_group_size if min_comment_group_size is None else min_comment_group_size
    _check_settings(name=name, teams=teams, opens_on=opens_on, closes_on=closes_on,
                    min_group_size=min_group_size, min_comment_group_size=comment_min,
                    today=today)
    round_ = Round(
        name=name.strip(), teams=teams, opens_on=opens_on, closes_on=closes_on,
        min_group_size=min_group_size, min_comment_group_size=comment_min,
        instrument=(instrument or load_default()).to_dict(), status=RoundStatus.DRAFT,
    )
    db.session.add(round_)
    db.session.flush()
    return round_


def update_draft(round_: Round, *, name: str, teams: Iterable[Team], opens_on: date,
                 closes_on: date, min_group_size: int, min_comment_group_size: int,
                 today: date) -> Round:
    """Change a draft round's settings. :raise RoundError: not a draft, or invalid settings."""
    _require(round_, RoundStatus.DRAFT, "Only a draft round can be edited.")
    teams = list(teams)
    _check_settings(name=name, teams=teams, opens_on=opens_on, closes_on=closes_on,
                    min_group_size=min_group_size, min_comment_group_size=min_comment_group_size,
                    today=today)
    round_.name = name.strip()
    round_.teams = teams
    round_.opens_on, round_.closes_on = opens_on, closes_on
    round_.min_group_size, round_.min_comment_group_size = min_group_size, min_comment_group_size
    db.session.flush()
    return round_


def edit_instrument(round_: Round, change) -> Round:
    """Apply ``change(instrument) -> instrument`` to a draft round's instrument.

    :raise RoundError: when the round is not a draft or the change is refused.
    """
    _require(round_, RoundStatus.DRAFT, "The survey of a launched round can no longer change.")
    try:
        round_.instrument = change(Instrument.from_dict(round_.instrument)).to_dict()
    except InstrumentError as error:
        raise RoundError(str(error)) from error
    db.session.flush()
    return round_


def launch_round(round_: Round, *, today: date) -> int:
    """Open a draft round: freeze its survey and team tree and invite everyone in its teams.

    The people in the chosen teams (and every team below) at this moment become the
    participants; archived people and teams are left out.

    :raise RoundError: not a draft, closing date passed, or no one to invite.
    :return: the number of invitations created.
    """
    _require(round_, RoundStatus.DRAFT, "Only a draft round can be launched.")
    if round_.closes_on < today:
        raise RoundError("The closing date has passed: choose a later one before launching.",
                         "closes_on")
    tree = load_tree()
    scope = _scope(round_, tree)
    people = _invitees(scope)
    if not people:
        raise RoundError("There is no one to invite in these teams. Add people first.")
    invited = Counter(team_id for _, team_id, _ in people)
    for team_id in tree.walk():
        if team_id in scope:
            parent = tree.nodes[team_id].parent_id
            db.session.add(RoundTeam(
                round_id=round_.id, team_id=team_id,
                parent_team_id=parent if parent in scope else None,
                name=tree.nodes[team_id].name, path=tree.path(team_id),
                invited=invited.get(team_id, 0),
            ))
    rows = []
    for person_id, team_id, email in people:
        nonce = new_nonce()
        rows.append({"round_id": round_.id, "person_id": person_id, "team_id": team_id,
                     "email": email,
                     "nonce": nonce, "token_hash": hash_token(token_for(nonce)),
                     "reminder_batch": 0})
    db.session.execute(Invitation.__table__.insert(), rows)
    round_.status = RoundStatus.OPEN
    round_.launched_at = utcnow()
    db.session.flush()
    return len(rows)


def _scope(round_: Round, tree: OrgTree) -> set[int]:
    """The ids of the round's chosen teams and every team below them, archived ones left out."""
    return {i for i in tree.subtree_of_any(t.id for t in round_.teams)
            if not tree.nodes[i].archived}


def _invitees(scope: set[int]) -> list[tuple[int, int, str]]:
    """(person id, team id, e-mail) of everyone who is not archived in the teams of ``scope``."""
    return [(person_id, team_id, email) for person_id, team_id, email in db.session.execute(
        select(Person.id, Person.team_id, Person.email)
        .where(Person.team_id.in_(scope), Person.archived_at.is_(None))
        .order_by(Person.id)
    )]


def count_invitees(round_: Round) -> tuple[int, int]:
    """Return (people, teams): whom launching the draft ``round_`` now would invite.

    ``teams`` counts every team in scope, including those below the chosen ones.
    """
    scope = _scope(round_, load_tree())
    return len(_invitees(scope)), len(scope)


def groups_below_minimum(round_: Round) -> list[str]:
    """The paths, in tree order, of the teams that launching the draft ``round_`` now would
    invite fewer people than its minimum group size (counting every team below each; teams
    with no one to invite are left out).

    Such a team can never show results, improvement ideas or how many took part on its own:
    its people's answers count only in the groups above it.
    """
    tree = load_tree()
    scope = _scope(round_, tree)
    totals = Counter(team_id for _, team_id, _ in _invitees(scope))
    order = [team_id for team_id in tree.walk() if team_id in scope]
    for team_id in reversed(order):  # each team after every team below it
        parent = tree.nodes[team_id].parent_id
        if parent in scope:
            totals[parent] += totals[team_id]
    return [tree.path(team_id) for team_id in order
            if 0 < totals[team_id] < round_.min_group_size]


def close_round(round_: Round) -> Round:
    """Close an open round now: its sealed responses become readable responses, in a random
    order (``survey/release.py``), its drafts go, and its teams' tallies are stored for the
    reports.

    :raise RoundError: when it is not open, or its responses cannot be opened (then nothing
        has changed: the caller rolls back).
    """
    _require(round_, RoundStatus.OPEN, "Only an open round can be closed.")
    round_.status = RoundStatus.CLOSED
    round_.closed_at = utcnow()
    db.session.flush()
    try:
        released = release_responses(round_)
    except ReleaseError as error:
        raise RoundError(str(error)) from error
    store_tallies(round_, tally_released(round_, released))
    return round_


def request_close(round_: Round) -> Round:
    """Close an open round to its survey now; a job then closes it (``jobs.py``).

    Updating the round's row waits for the submits under way (each holds the round shared on
    PostgreSQL), and every submit after it finds the round closed.

    :raise RoundError: when it is not open.
    """
    _require(round_, RoundStatus.OPEN, "Only an open round can be closed.")
    if round_.close_requested_at is None:
        round_.close_requested_at = utcnow()
    db.session.flush()
    return round_


def extend_round(round_: Round, closes_on: date, *, today: date) -> Round:
    """Move an open round's closing date later.

    :raise RoundError: when the round is not open, or the new date is not later than both the
        current closing date and today.
    """
    _require(round_, RoundStatus.OPEN, "Only an open round can be extended.")
    if round_.phase(today) != RoundStatus.OPEN:
        raise RoundError("This round has closed: it can no longer be extended.")
    if closes_on <= round_.closes_on:
        raise RoundError(
            f"The new closing date must be after the current one ({round_.closes_on:%-d %B %Y}).",
            "closes_on",
        )
    if closes_on < today:
        raise RoundError("The new closing date has already passed.", "closes_on")
    round_.closes_on = closes_on
    db.session.flush()
    return round_


def delete_draft(round_: Round) -> None:
    """Delete a draft round. :raise RoundError: when it has been launched."""
    _require(round_, RoundStatus.DRAFT, "Only a draft round can be deleted.")
    db.session.delete(round_)
    db.session.flush()


def _require(round_: Round, status: str, message: str) -> None:
    if round_.status != status:
        state = "a draft" if round_.status == RoundStatus.DRAFT else round_.status
        raise RoundError(f"{message} This round is {state}.")
