"""A closed round with known answers, for report tests.

Operations (no people of its own)
  Customer Care: 6 people, North (below Care): 5 people
  Depot: 3 people                  <- below the minimum of 5: hidden
  Field Service: 2 people          <- hidden; with Depot (5 together) safe to derive
Sales: 5 people

Every person in a team answers the same way (see ANSWERS), so each team's figures are easy to
compute by hand: a team's capability mean is the value its people chose.
"""

from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import select

from surveyapp.clock import today
from surveyapp.instrument import load_default
from surveyapp.models import Invitation, Role
from surveyapp.rounds.operations import close_round, create_round, launch_round
from surveyapp.survey.storage import save_draft, submit_response

INSTRUMENT = load_default()
#: The value every person of a team gives to every statement, and their improvement idea.
ANSWERS = {"Customer Care": 4, "North": 5, "Depot": 1, "Field Service": 2, "Sales": 3}
IDEAS = {"Customer Care": "Fewer hand-offs between teams.", "North": "Call me on 07700 900123.",
         "Depot": "Open earlier.", "Field Service": "Better vans.", "Sales": "Quote faster."}
SIZES = {"Customer Care": 6, "North": 5, "Depot": 3, "Field Service": 2, "Sales": 5}


@dataclass
class ClosedRound:
    round_id: int
    teams: dict[str, int]


def fill_round(db, round_, teams_by_id):
    for invitation in db.session.scalars(select(Invitation).where(Invitation.round_id == round_.id)):
        team = teams_by_id[invitation.team_id]
        save_draft(invitation, {k: ANSWERS[team] for k in INSTRUMENT.statement_keys},
                   {"improve": IDEAS[team]})
        submit_response(invitation)
    db.session.commit()


@pytest.fixture
def closed_round(db, make_team, make_person) -> ClosedRound:
    ops = make_team("Operations")
    care = make_team("Customer Care", parent=ops)
    north = make_team("North", parent=care)
    depot = make_team("Depot", parent=ops)
    field = make_team("Field Service", parent=ops)
    sales = make_team("Sales")
    teams = {"Operations": ops, "Customer Care": care, "North": north, "Depot": depot,
             "Field Service": field, "Sales": sales}
    for name, size in SIZES.items():
        for _ in range(size):
            make_person(team=teams[name])
    now = today()
    round_ = create_round(name="Spring 2026", teams=[ops, sales], opens_on=now,
                          closes_on=now + timedelta(days=14), today=now)
    launch_round(round_, today=now)
    db.session.commit()
    fill_round(db, round_, {t.id: name for name, t in teams.items()})
    close_round(round_)
    db.session.commit()
    return ClosedRound(round_.id, {name: t.id for name, t in teams.items()})


@pytest.fixture
def leader_of(make_user, db):
    """``leader_of(team_id)`` makes a leader of that team."""
    from surveyapp.models import Team

    def make(*team_ids):
        return make_user(Role.LEADER, teams=[db.session.get(Team, t) for t in team_ids])

    return make
