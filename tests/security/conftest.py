"""A small organisation with every kind of object a URL can name, for the security tests.

Operations
  Customer Care (team A: 3 people)      <- led by ``leader_a``
    North (2 people)
Sales (2 people)                        <- led by ``leader_b``, unrelated to team A
Spare (no people)                       <- archived and unarchived by the matrix

Rounds: a closed one with answers (reports), an open one (survey links), a second open one
(for closing), three drafts (to edit, launch and delete). The matrix signs in as each actor on
its own client.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from surveyapp.clock import today
from surveyapp.directory.uploads import save_upload
from surveyapp.instrument import load_default
from surveyapp.models import Invitation, Role
from surveyapp.rounds.operations import close_round, create_round, launch_round
from surveyapp.rounds.tokens import token_for
from surveyapp.survey.storage import save_draft, submit_response

from ..conftest import TEST_PASSWORD

INSTRUMENT = load_default()
#: A token of the right shape that belongs to no invitation.
FORGED_TOKEN = "A" * 32


@dataclass
class World:
    """Ids and tokens of the objects the routes are asked about."""

    ids: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    emails: dict[str, str] = field(default_factory=dict)
    upload_token: str = ""


@pytest.fixture
def world(app: Flask, db, make_team, make_person, make_user) -> World:
    w = World()
    ops = make_team("Operations")
    care = make_team("Customer Care", parent=ops)
    north = make_team("North", parent=care)
    sales = make_team("Sales")
    spare = make_team("Spare")
    employee = make_person(team=care, email="employee@example.test", name="Emma Ployee")
    people = [employee] + [make_person(team=care) for _ in range(2)]
    people += [make_person(team=north) for _ in range(2)]
    people += [make_person(team=sales) for _ in range(2)]
    leader_a = make_user(Role.LEADER, email="leader.a@example.test", teams=[care])
    leader_b = make_user(Role.LEADER, email="leader.b@example.test", teams=[sales])
    hr = make_user(Role.HR, email="hr@example.test")
    spare_leader = make_user(Role.LEADER, email="spare.leader@example.test", teams=[sales])
    w.ids |= {"ops": ops.id, "team_a": care.id, "north": north.id, "sales": sales.id,
              "spare_team": spare.id, "employee": employee.id, "person": people[1].id,
              "spare_person": people[2].id, "spare_user": spare_leader.id,
              "hr_user": hr.id, "leader_a_user": leader_a.id}
    w.emails |= {"leader_a": leader_a.email, "leader_b": leader_b.email, "hr": hr.email}

    now = today()
    closed = create_round(name="Spring", teams=[ops, sales], opens_on=now,
                          closes_on=now + timedelta(days=14), today=now, min_group_size=3)
    launch_round(closed, today=now)
    db.session.flush()
    for invitation in _invitations(db, closed.id):
        save_draft(invitation, {k: 4 for k in INSTRUMENT.statement_keys}, {"improve": "More."})
        submit_response(invitation)
    close_round(closed)

    opened = create_round(name="Autumn", teams=[ops, sales], opens_on=now,
                          closes_on=now + timedelta(days=14), today=now)
    launch_round(opened, today=now)
    to_close = create_round(name="To close", teams=[sales], opens_on=now,
                            closes_on=now + timedelta(days=14), today=now)
    launch_round(to_close, today=now)
    drafts = {name: create_round(name=name, teams=[ops], opens_on=now,
                                 closes_on=now + timedelta(days=14), today=now)
              for name in ("draft", "draft_launch", "draft_delete")}
    db.session.flush()
    w.ids |= {"closed_round": closed.id, "open_round": opened.id, "round_to_close": to_close.id}
    w.ids |= {name: r.id for name, r in drafts.items()}

    # The employee's link, a second person's (for submitting) and a third person's, submitted.
    invitations = {i.person_id: i for i in _invitations(db, opened.id)}
    w.tokens["employee"] = token_for(invitations[employee.id].nonce)
    w.tokens["submit"] = token_for(invitations[people[1].id].nonce)
    done = invitations[people[2].id]
    save_draft(done, {k: 3 for k in INSTRUMENT.statement_keys}, {})
    submit_response(done)
    w.tokens["done"] = token_for(done.nonce)
    db.session.commit()

    data = b"email,name,team\nnew.person@example.test,New Person,Sales\n"
    w.upload_token = save_upload(data).token
    # Commit: on SQLite an open transaction would hold the write lock against requests.
    db.session.commit()
    return w


def _invitations(db, round_id: int) -> list[Invitation]:
    return list(db.session.scalars(
        select(Invitation).where(Invitation.round_id == round_id).order_by(Invitation.person_id)
    ))


def signed_in(app: Flask, email: str | None):
    """A new client, signed in as ``email`` (None: an anonymous visitor)."""
    client = app.test_client()
    if email is not None:
        response = client.submit("/login", {"email": email, "password": TEST_PASSWORD})
        assert response.status_code == 302, response.get_data(as_text=True)
    return client
