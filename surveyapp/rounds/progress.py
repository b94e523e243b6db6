"""How far a round has got: invitations sent, people who have submitted, per team and in all.

Read-only queries returning plain values for HR's round pages and the ``round`` commands.

Per-team response rates follow the product's confidentiality rules although they show only
who has taken part, not what anyone answered: a small team's count next to its answers'
timing or next to a leader's knowledge of who was on leave can say too much. Each team row
counts the team *and every team below it* (the same reporting groups as the reports), and
which rows are shown is decided by ``analysis.confidentiality.decide_visibility`` on the
*invited* counts, with the round's minimum group size:

* a group with fewer people invited than the minimum shows no count (primary suppression);
* a shown group's own people plus its hidden sub-teams (what subtraction of its shown
  sub-teams from it would reveal) must be none or at least the minimum, else the smallest
  shown sub-team is hidden too (complementary suppression). The round's total, shown at the
  top of the page, is the top group of that same check, so nothing hidden can be recovered by
  subtracting visible teams from their parent or from the total.

Deciding on invited counts (fixed at launch) rather than on submissions keeps the set of
shown teams the same all through the round, so watching it change reveals nothing either.
Counting a team's own people only would not be safer: the total minus the shown teams would
still give away a single hidden team, so the same check would be needed anyway.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import and_, func, select

from ..analysis.confidentiality import GroupNode, decide_visibility
from ..extensions import db
from ..models import Invitation, Participation, Round, RoundTeam
from ..orgtree import OrgTree

#: Why a team's count is not shown.
TOO_FEW = "too_few"
PROTECTS_ANOTHER = "protects_another"


@dataclass(frozen=True)
class TeamProgress:
    team_id: int
    name: str
    path: str
    #: 0 for a team at the top of the round's scope.
    depth: int
    #: People invited in this team and every team below it.
    invited: int
    #: People who have submitted in this team and below; None when not shown.
    submitted: int | None
    #: None when shown, else TOO_FEW or PROTECTS_ANOTHER.
    hidden_because: str | None

    @property
    def rate(self) -> float | None:
        if self.submitted is None or not self.invited:
            return None
        return self.submitted / self.invited


@dataclass(frozen=True)
class RoundProgress:
    invited: int
    #: Invitations e-mailed from here (the rest, if any, still to send or sent as links).
    emailed: int
    submitted: int
    #: E-mailed, not submitted: whom a new reminder would reach.
    to_remind: int
    #: Whom the current reminder batch has still to reach (a batch stopped by a failure).
    reminders_left: int
    teams: tuple[TeamProgress, ...] = ()

    @property
    def unsent(self) -> int:
        return self.invited - self.emailed

    @property
    def rate(self) -> float | None:
        return self.submitted / self.invited if self.invited else None


def _submitted_join():
    return and_(Participation.round_id == Invitation.round_id,
                Participation.person_id == Invitation.person_id)


def round_counts(round_ids: Iterable[int]) -> dict[int, tuple[int, int]]:
    """Return {round id: (invited, submitted)} for the given rounds (missing: none invited)."""
    ids = list(round_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        select(Invitation.round_id, func.count(Invitation.id), func.count(Participation.person_id))
        .outerjoin(Participation, _submitted_join())
        .where(Invitation.round_id.in_(ids))
        .group_by(Invitation.round_id)
    ).all()
    return {round_id: (invited, submitted) for round_id, invited, submitted in rows}


def round_progress(round_: Round) -> RoundProgress:
    """The figures of a launched round, with per-team rates under the rules above."""
    invited, emailed, submitted, to_remind, reminders_left = db.session.execute(
        select(
            func.count(Invitation.id),
            func.count(Invitation.sent_at),
            func.count(Participation.person_id),
            func.count(Invitation.id).filter(
                Invitation.sent_at.is_not(None), Participation.person_id.is_(None)),
            func.count(Invitation.id).filter(
                Invitation.sent_at.is_not(None), Participation.person_id.is_(None),
                Invitation.reminder_batch < round_.reminder_batches),
        )
        .select_from(Invitation)
        .outerjoin(Participation, _submitted_join())
        .where(Invitation.round_id == round_.id)
    ).one()
    return RoundProgress(invited, emailed, submitted, to_remind, reminders_left,
                         _team_progress(round_))


def _team_progress(round_: Round) -> tuple[TeamProgress, ...]:
    snapshot = {row.team_id: row for row in db.session.scalars(
        select(RoundTeam).where(RoundTeam.round_id == round_.id))}
    if not snapshot:
        return ()
    own_submitted = dict(db.session.execute(
        select(Invitation.team_id, func.count())
        .join(Participation, _submitted_join())
        .where(Invitation.round_id == round_.id)
        .group_by(Invitation.team_id)
    ).all())
    tree = OrgTree.build((t.team_id, t.parent_team_id, t.name) for t in snapshot.values())
    visibility = decide_visibility(
        (GroupNode(t.team_id, t.parent_team_id, responses=t.invited, invited=t.invited)
         for t in snapshot.values()),
        round_.min_group_size,
    )
    rows = []
    for team_id in tree.walk():
        subtree = tree.subtree(team_id)
        invited = visibility.totals[team_id]
        if visibility.is_shown(team_id):
            submitted, reason = sum(own_submitted.get(i, 0) for i in subtree), None
        else:
            submitted = None
            reason = TOO_FEW if invited < round_.min_group_size else PROTECTS_ANOTHER
        team = snapshot[team_id]
        rows.append(TeamProgress(team_id, team.name, team.path, tree.depth(team_id), invited,
                                 submitted, reason))
    return tuple(rows)
