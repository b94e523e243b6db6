"""How far a round has got: invitations sent, people who have submitted, per team and in all.

Read-only queries returning plain values for HR's round pages and the ``round`` commands.

Participation follows the same minimum as the results (docs/PRODUCT.md): who has or has not taken
part in a small group is shown to no one, HR included. A count of people who have submitted,
and every figure it can be worked out from (a response rate, "N not submitted yet" beside the
number invited, how many a reminder would reach), is shown only for a group where at least the
round's minimum have submitted, with complementary suppression as for the results. Each team
row counts the team *and every team below it* (the same reporting groups as the reports); the
round's total is the top group of the same check. Two decisions, both by
``analysis.confidentiality.decide_visibility`` with the round's minimum group size:

1. On the *invited* counts, fixed at launch and known to HR: a group with fewer people invited
   than the minimum, or one whose count would reveal such a group by subtraction, is never
   shown (``TOO_FEW_INVITED``, ``PROTECTS_ANOTHER``). This part never changes during a round.
2. Among the groups left, on the *submitted* counts: a group shows its count only once at least
   the minimum have submitted in it, and only where no shown group minus the shown groups
   inside it leaves fewer than the minimum (``NOT_YET``). A group hidden this way looks the
   same whether none or all but one of the minimum have submitted, and whichever of the two
   rules hid it.

Step 2 also keeps to the groups that the results would show on the same counts, as a closed
round's report shows them: two safe sets of counts, each hiding a different group to protect
the same small one, would give it away together (a parent's count minus the children shown
here and there). Shown counts are thus always some of the report's, with the same values, and
add nothing to it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import and_, func, select

from ..analysis.confidentiality import GroupNode, decide_visibility
from ..extensions import db
from ..models import Invitation, Participation, Round, RoundTeam
from ..orgtree import OrgTree

#: Why a team's count is not shown. The first two follow from the numbers invited alone.
TOO_FEW_INVITED = "too_few_invited"
PROTECTS_ANOTHER = "protects_another"
#: Fewer than the minimum have submitted in it, or showing it would reveal a group that has.
NOT_YET = "not_yet"


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
    #: None when shown, else TOO_FEW_INVITED, PROTECTS_ANOTHER or NOT_YET.
    hidden_because: str | None

    @property
    def rate(self) -> float | None:
        if self.submitted is None or not self.invited:
            return None
        return self.submitted / self.invited


@dataclass(frozen=True)
class RoundProgress:
    #: The round's minimum group size, which participation follows.
    minimum: int
    invited: int
    #: Invitations e-mailed from here (the rest, if any, still to send or sent as links).
    emailed: int
    #: People who have submitted in the whole round; None while fewer than the minimum have.
    submitted: int | None
    #: E-mailed, not submitted: whom a new reminder would reach. None unless every invitation
    #: has been e-mailed and ``submitted`` is shown (then it is ``invited - submitted``);
    #: otherwise it would tell how many of the people e-mailed, or of the others, have submitted.
    to_remind: int | None
    teams: tuple[TeamProgress, ...] = ()

    @property
    def unsent(self) -> int:
        return self.invited - self.emailed

    @property
    def rate(self) -> float | None:
        return self.submitted / self.invited if self.submitted is not None and self.invited \
            else None

    @property
    def never_shown(self) -> bool:
        """Fewer people invited than the minimum: no count of this round is ever shown."""
        return self.invited < self.minimum


def shown_total(submitted: int, minimum: int) -> int | None:
    """A whole round's count of people who have submitted, or None while it is below the
    minimum (the round is the top group: nothing above it to subtract it from)."""
    return submitted if submitted >= minimum else None


def _submitted_join():
    return and_(Participation.round_id == Invitation.round_id,
                Participation.person_id == Invitation.person_id)


@dataclass(frozen=True)
class RoundCount:
    invited: int
    #: None while fewer than the round's minimum have submitted.
    submitted: int | None

    @property
    def rate(self) -> float | None:
        return self.submitted / self.invited if self.submitted is not None and self.invited \
            else None


def round_counts(rounds: Iterable[Round]) -> dict[int, RoundCount]:
    """Return {round id: RoundCount} for the given rounds (missing: none invited)."""
    rounds = list(rounds)
    if not rounds:
        return {}
    minimum = {r.id: r.min_group_size for r in rounds}
    rows = db.session.execute(
        select(Invitation.round_id, func.count(Invitation.id), func.count(Participation.person_id))
        .outerjoin(Participation, _submitted_join())
        .where(Invitation.round_id.in_(list(minimum)))
        .group_by(Invitation.round_id)
    ).all()
    return {round_id: RoundCount(invited, shown_total(submitted, minimum[round_id]))
            for round_id, invited, submitted in rows}


def round_progress(round_: Round) -> RoundProgress:
    """The figures of a launched round, with the whole round's and each team's count of
    people who have submitted under the rules above."""
    invited, emailed, submitted, to_remind = db.session.execute(
        select(
            func.count(Invitation.id),
            func.count(Invitation.sent_at),
            func.count(Participation.person_id),
            func.count(Invitation.id).filter(
                Invitation.sent_at.is_not(None), Participation.person_id.is_(None)),
        )
        .select_from(Invitation)
        .outerjoin(Participation, _submitted_join())
        .where(Invitation.round_id == round_.id)
    ).one()
    minimum = round_.min_group_size
    shown = shown_total(submitted, minimum)
    remind = to_remind if shown is not None and emailed == invited else None
    return RoundProgress(minimum, invited, emailed, shown, remind, _team_progress(round_))


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
    minimum = round_.min_group_size
    by_invited = decide_visibility(
        (GroupNode(t.team_id, t.parent_team_id, responses=t.invited, invited=t.invited)
         for t in snapshot.values()), minimum)
    submitted_nodes = [GroupNode(t.team_id, t.parent_team_id,
                                 responses=own_submitted.get(t.team_id, 0), invited=t.invited)
                       for t in snapshot.values()]
    # What the results would show on these counts: once the round closes, its report decides
    # on exactly them (one response per person who submitted, in their team).
    as_results = decide_visibility(submitted_nodes, minimum)
    by_submitted = decide_visibility(submitted_nodes, minimum,
                                     within=by_invited.shown & as_results.shown)
    rows = []
    for team_id in tree.walk():
        invited = by_invited.totals[team_id]
        submitted, reason = None, None
        if by_submitted.is_shown(team_id):
            submitted = by_submitted.totals[team_id]
        elif invited < minimum:
            reason = TOO_FEW_INVITED
        elif not by_invited.is_shown(team_id):
            reason = PROTECTS_ANOTHER
        else:
            reason = NOT_YET
        team = snapshot[team_id]
        rows.append(TeamProgress(team_id, team.name, team.path, tree.depth(team_id), invited,
                                 submitted, reason))
    return tuple(rows)

