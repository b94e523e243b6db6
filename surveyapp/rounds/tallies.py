"""Each team's tally of a round (surveyapp/analysis/tally.py): computed from the answers, and
stored in the round's snapshot when the round closes.

A closed round's responses never change, so its reports read one small row per team instead of
every answer: the whole organisation's figures in a round of 80,000 responses come from 2,000
tallies rather than 2.2 million answers. A round closed before tallies existed is tallied from
its answers when asked. Reports never ask for a round that is not closed
(``reports/queries.py: load_context`` refuses it).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping

from sqlalchemy import select, update

from ..analysis.tally import Layout, Tally, layout_of
from ..extensions import db
from ..instrument import Instrument
from ..models import Answer, Response, Round, RoundTeam

#: Rows fetched at a time while tallying a round: the answers are streamed, never all in memory.
STREAM_ROWS = 20_000


def compute_tallies(round_: Round, team_ids: Collection[int] | None = None) -> dict[int, Tally]:
    """Tally the responses of the round (of ``team_ids`` only, if given) by team.

    Teams without responses get no entry.
    """
    layout = layout_of(Instrument.from_dict(round_.instrument))
    response, answer = Response.__table__, Answer.__table__
    # Core on the session's connection: plain rows, without the ORM's per-row work (millions).
    query = (
        select(response.c.id, response.c.team_id, answer.c.statement_key, answer.c.value)
        .outerjoin(answer, answer.c.response_id == response.c.id)
        .where(response.c.round_id == round_.id)
        .order_by(response.c.id)
    )
    if team_ids is not None:
        query = query.where(response.c.team_id.in_(list(team_ids)))
    rows = db.session.connection().execute(query.execution_options(yield_per=STREAM_ROWS))
    tallies: dict[int, Tally] = {}
    # The response being read, and its team (set together; response.team_id is NOT NULL).
    current: int | None = None
    team: int | None = None
    answers: dict[str, int] = {}
    for part in rows.partitions():
        for response_id, team_id, key, value in part:
            if response_id != current:
                if team is not None:
                    _count(tallies, layout, team, answers)
                current, team, answers = response_id, team_id, {}
            if key is not None:
                answers[key] = value
    if team is not None:
        _count(tallies, layout, team, answers)
    return tallies


def _count(tallies: dict[int, Tally], layout: Layout, team_id: int,
           answers: Mapping[str, int]) -> None:
    team = tallies.get(team_id)
    if team is None:
        team = tallies[team_id] = Tally(layout)
    team.add_response(answers)


def tally_released(round_: Round, responses: Iterable[tuple[int, Mapping[str, int]]]
                   ) -> dict[int, Tally]:
    """Tally responses given as (team id, answers) by team, as ``compute_tallies`` would once
    they are stored: closing a round tallies the responses it has just released."""
    layout = layout_of(Instrument.from_dict(round_.instrument))
    tallies: dict[int, Tally] = {}
    for team_id, answers in responses:
        _count(tallies, layout, team_id, answers)
    return tallies


def store_tallies(round_: Round, tallies: Mapping[int, Tally] | None = None) -> None:
    """Store the tally of every team of the round's snapshot (and flush): ``tallies`` when
    given, else computed from the round's answers."""
    if tallies is None:
        tallies = compute_tallies(round_)
    empty = [0] * layout_of(Instrument.from_dict(round_.instrument)).size
    team_ids = db.session.scalars(
        select(RoundTeam.team_id).where(RoundTeam.round_id == round_.id)).all()
    if team_ids:
        db.session.execute(
            update(RoundTeam),
            [{"round_id": round_.id, "team_id": team_id,
              "tally": tallies[team_id].values if team_id in tallies else empty}
             for team_id in team_ids],
        )
    db.session.flush()


def stored_tallies(round_: Round, team_ids: Collection[int] | None = None
                   ) -> dict[int, Tally] | None:
    """The stored tallies of the round's teams (of ``team_ids`` only, if given), or None when
    they have not been stored (the round has not closed)."""
    query = select(RoundTeam.team_id, RoundTeam.tally).where(RoundTeam.round_id == round_.id)
    if team_ids is not None:
        query = query.where(RoundTeam.team_id.in_(list(team_ids)))
    rows = db.session.execute(query).all()
    if any(data is None for _, data in rows):
        return None
    layout = layout_of(Instrument.from_dict(round_.instrument))
    return {team_id: Tally(layout, data) for team_id, data in rows}


def load_tallies(round_: Round, team_ids: Collection[int] | None = None) -> dict[int, Tally]:
    """Every team's tally: stored ones when the round has them, else computed from answers."""
    stored = stored_tallies(round_, team_ids)
    return stored if stored is not None else compute_tallies(round_, team_ids)
