"""Who may see which report: checked the same way for the page, the PDF and the CSV."""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort
from flask_login import current_user
from sqlalchemy import select

from ..access import may_see_team, visible_team_ids
from ..analysis.confidentiality import ORGANISATION
from ..directory.queries import load_tree
from ..extensions import db
from ..models import Round, RoundStatus, RoundTeam


@dataclass(frozen=True)
class ReportTarget:
    round: Round
    group_id: int


def reportable_rounds() -> list[Round]:
    """Closed rounds, newest first: results are published only once a round has closed, so
    that watching figures change while responses arrive cannot reveal anyone's answers."""
    return list(db.session.scalars(
        select(Round).where(Round.status == RoundStatus.CLOSED)
        .order_by(Round.closes_on.desc(), Round.id.desc())
    ))


def visible_groups(round_: Round) -> list[RoundTeam]:
    """The round's teams the current user may see, in tree order."""
    allowed = visible_team_ids(current_user, load_tree())
    rows = db.session.scalars(select(RoundTeam).where(RoundTeam.round_id == round_.id)).all()
    return sorted((r for r in rows if r.team_id in allowed), key=lambda r: r.path.casefold())


def require_report(round_id: int, group_id: int) -> ReportTarget:
    """Check that the current user may see this group's report in this round.

    :raise 403: a leader asking for a team outside the teams they lead (or the organisation).
    :raise 404: no such closed round, or the team was not part of it.
    """
    if group_id == ORGANISATION:
        if not current_user.is_hr:
            abort(403)
    elif not may_see_team(current_user, group_id):
        abort(403)
    round_ = db.session.get(Round, round_id)
    if round_ is None or round_.status != RoundStatus.CLOSED:
        abort(404)
    if group_id != ORGANISATION and db.session.get(RoundTeam, (round_.id, group_id)) is None:
        abort(404)
    return ReportTarget(round_, group_id)
