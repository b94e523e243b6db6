from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import select

from surveyapp.clock import today
from surveyapp.models import Invitation, Round
from surveyapp.rounds.operations import create_round, launch_round
from surveyapp.rounds.tokens import token_for


@dataclass
class OpenRound:
    round_id: int
    tokens: list[str]
    team_ids: dict[str, int]

    @property
    def token(self) -> str:
        return self.tokens[0]


@pytest.fixture
def open_round(db, make_team, make_person) -> OpenRound:
    """An open round over Operations (Care: 3 people, North: 4 people), tokens in person order."""
    ops = make_team("Operations")
    care = make_team("Customer Care", parent=ops)
    north = make_team("North", parent=care)
    for _i in range(3):
        make_person(team=care, location="Leeds", role_level="Staff", tenure_band="1-3 years")
    for _i in range(4):
        make_person(team=north, location="York", role_level="Staff", tenure_band="3+ years")
    now = today()
    round_ = create_round(name="Autumn check-in", teams=[ops], opens_on=now - timedelta(days=1),
                          closes_on=now + timedelta(days=13), today=now)
    launch_round(round_, today=now)
    db.session.commit()
    invitations = db.session.scalars(
        select(Invitation).where(Invitation.round_id == round_.id).order_by(Invitation.person_id)
    ).all()
    opened = OpenRound(round_.id, [token_for(i.nonce) for i in invitations],
                       {"ops": ops.id, "care": care.id, "north": north.id})
    # End the read transaction: outside a request SQLite begins with BEGIN IMMEDIATE, and an
    # open one would hold the write lock against a live server's requests.
    db.session.rollback()
    return opened


def set_round(db, round_id: int, **fields) -> None:
    round_ = db.session.get(Round, round_id)
    for key, value in fields.items():
        setattr(round_, key, value)
    db.session.commit()
