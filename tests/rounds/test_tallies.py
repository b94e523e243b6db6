"""Closing a round stores each team's tally; reports read those instead of every answer."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from surveyapp.clock import today
from surveyapp.instrument import load_default
from surveyapp.models import Invitation, Round
from surveyapp.rounds.operations import close_round, create_round, launch_round
from surveyapp.rounds.tallies import compute_tallies, load_tallies, stored_tallies
from surveyapp.survey.storage import save_draft, submit_response

from ..sealed import pending_responses

pytestmark = pytest.mark.both_databases


KEYS = load_default().statement_keys


def answered_round(db, make_team, make_person):
    """Care (3 people, all answer) and North below it (2, one answers); Sales (1, no answer)."""
    care = make_team("Customer Care")
    north = make_team("North", parent=care)
    sales = make_team("Sales")
    for team, size in ((care, 3), (north, 2), (sales, 1)):
        for _ in range(size):
            make_person(team=team)
    now = today()
    round_ = create_round(name="Spring", teams=[care, sales], opens_on=now,
                          closes_on=now + timedelta(days=7), today=now)
    launch_round(round_, today=now)
    answering = {care.id: 3, north.id: 1}
    for invitation in db.session.scalars(select(Invitation).where(Invitation.round_id == round_.id)
                                         .order_by(Invitation.id)):
        if answering.get(invitation.team_id, 0):
            answering[invitation.team_id] -= 1
            save_draft(invitation, {k: 4 for k in KEYS[:20]}, {})
            submit_response(invitation)
    db.session.commit()
    return round_, {"care": care.id, "north": north.id, "sales": sales.id}


def test_an_open_round_has_no_readable_answer_to_tally(db, make_team, make_person):
    round_, teams = answered_round(db, make_team, make_person)
    assert stored_tallies(round_) is None
    assert load_tallies(round_) == {}
    assert len(pending_responses(round_.id)) == 4  # sealed until the round closes


def test_closing_stores_every_teams_tally_as_computed_from_the_answers(db, make_team,
                                                                       make_person):
    round_, teams = answered_round(db, make_team, make_person)
    close_round(round_)
    db.session.commit()
    stored = stored_tallies(db.session.get(Round, round_.id))
    computed = compute_tallies(round_)
    assert set(stored) == set(teams.values())
    assert stored[teams["sales"]].responses == 0
    assert all(stored[t] == computed[t] for t in computed)
    assert stored_tallies(round_, [teams["north"]]) == {teams["north"]: computed[teams["north"]]}


def test_rounds_closed_when_due_store_their_tallies_too(db, make_team, make_person, close_due_on):
    round_, teams = answered_round(db, make_team, make_person)
    assert close_due_on(round_.closes_on + timedelta(days=1)) == 1
    db.session.commit()
    assert stored_tallies(db.session.get(Round, round_.id))[teams["care"]].responses == 3
