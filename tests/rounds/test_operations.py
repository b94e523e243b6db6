from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from surveyapp.models import Invitation, Round, RoundStatus, RoundTeam
from surveyapp.rounds.operations import (
    RoundError,
    close_round,
    create_round,
    edit_instrument,
    extend_round,
    launch_round,
)
from surveyapp.rounds.tokens import hash_token, token_for

pytestmark = pytest.mark.both_databases


TODAY = date(2026, 11, 23)


@pytest.fixture
def org(make_team, make_person):
    ops = make_team("Operations")
    care = make_team("Customer Care", parent=ops)
    north = make_team("North", parent=care)
    sales = make_team("Sales")
    for _ in range(3):
        make_person(team=care)
    for _ in range(4):
        make_person(team=north)
    make_person(team=sales)
    return {"ops": ops, "care": care, "north": north, "sales": sales}


def new_round(db, teams, **kw):
    settings = {"name": "Autumn 2026", "opens_on": TODAY, "closes_on": TODAY + timedelta(days=14),
                "today": TODAY, **kw}
    round_ = create_round(teams=teams, **settings)
    db.session.commit()
    return round_


def test_create_round_starts_as_draft_with_default_thresholds(db, org):
    round_ = new_round(db, [org["ops"]])
    assert (round_.status, round_.min_group_size, round_.min_comment_group_size) == (
        RoundStatus.DRAFT, 5, 5)


@pytest.mark.parametrize("kw, message", [
    ({"min_group_size": 2}, "cannot be below 3"),
    ({"min_group_size": 6, "min_comment_group_size": 5}, "comments cannot be below"),
    ({"closes_on": TODAY - timedelta(days=1), "opens_on": TODAY - timedelta(days=3)},
     "already passed"),
    ({"closes_on": TODAY, "opens_on": TODAY + timedelta(days=1)}, "on or after the opening"),
    ({"name": "  "}, "Enter a name"),
])
def test_create_round_refuses_unsafe_or_inconsistent_settings(db, org, kw, message):
    with pytest.raises(RoundError, match=message):
        new_round(db, [org["ops"]], **kw)


def test_launch_invites_everyone_in_the_chosen_teams_and_below(db, org):
    round_ = new_round(db, [org["ops"]])
    assert launch_round(round_, today=TODAY) == 7
    db.session.commit()
    invited_teams = db.session.scalars(select(Invitation.team_id)).all()
    assert sorted(invited_teams) == sorted([org["care"].id] * 3 + [org["north"].id] * 4)
    assert round_.status == RoundStatus.OPEN


def test_launch_freezes_the_team_tree_with_paths_and_invited_counts(db, org):
    round_ = new_round(db, [org["care"]])
    launch_round(round_, today=TODAY)
    db.session.commit()
    rows = {r.path: (r.invited, r.parent_team_id)
            for r in db.session.scalars(select(RoundTeam).where(RoundTeam.round_id == round_.id))}
    assert rows == {"Operations/Customer Care": (3, None),
                    "Operations/Customer Care/North": (4, org["care"].id)}


def test_invitation_stores_only_a_hash_of_its_token(db, org):
    round_ = new_round(db, [org["sales"]])
    launch_round(round_, today=TODAY)
    db.session.commit()
    invitation = db.session.scalar(select(Invitation))
    token = token_for(invitation.nonce)
    assert invitation.token_hash == hash_token(token)
    assert token not in (invitation.nonce, invitation.token_hash)


def test_launch_leaves_out_archived_people(db, org, make_person):
    from surveyapp.models import utcnow

    make_person(team=org["sales"], archived_at=utcnow())
    round_ = new_round(db, [org["sales"]])
    assert launch_round(round_, today=TODAY) == 1


def test_launch_with_no_one_to_invite_is_refused(db, make_team):
    empty = make_team("Empty")
    round_ = new_round(db, [empty])
    with pytest.raises(RoundError, match="no one to invite"):
        launch_round(round_, today=TODAY)


@pytest.mark.parametrize("action", [
    lambda r: launch_round(r, today=TODAY),
    lambda r: edit_instrument(r, lambda i: i.with_statement_text("empathy.listen", "New words here.")),
])
def test_a_launched_round_cannot_be_launched_or_edited_again(db, org, action):
    round_ = new_round(db, [org["sales"]])
    launch_round(round_, today=TODAY)
    db.session.commit()
    with pytest.raises(RoundError, match="This round is open"):
        action(round_)


def test_close_then_close_again_is_refused(db, org):
    round_ = new_round(db, [org["sales"]])
    launch_round(round_, today=TODAY)
    close_round(round_)
    assert round_.status == RoundStatus.CLOSED
    with pytest.raises(RoundError, match="Only an open round can be closed"):
        close_round(round_)


def test_a_draft_cannot_be_closed(db, org):
    round_ = new_round(db, [org["sales"]])
    with pytest.raises(RoundError, match="This round is a draft"):
        close_round(round_)


def test_extend_moves_the_closing_date_later_only(db, org):
    round_ = new_round(db, [org["sales"]])
    launch_round(round_, today=TODAY)
    with pytest.raises(RoundError, match="after the current one"):
        extend_round(round_, round_.closes_on, today=TODAY)
    extend_round(round_, round_.closes_on + timedelta(days=7), today=TODAY)
    assert round_.closes_on == TODAY + timedelta(days=21)


def test_rounds_close_themselves_after_their_closing_date(db, org, close_due_on):
    round_ = new_round(db, [org["sales"]])
    launch_round(round_, today=TODAY)
    db.session.commit()
    assert close_due_on(round_.closes_on) == 0
    assert close_due_on(round_.closes_on + timedelta(days=1)) == 1
    db.session.commit()
    assert db.session.scalar(select(Round.status)) == RoundStatus.CLOSED


def test_edit_instrument_of_a_draft_is_saved(db, org):
    round_ = new_round(db, [org["sales"]])
    edit_instrument(round_, lambda i: i.with_added_statement("empathy", "I thank customers for waiting."))
    db.session.commit()
    db.session.expire_all()
    statements = db.session.get(Round, round_.id).instrument["capabilities"][2]["statements"]
    assert statements[-1]["text"] == "I thank customers for waiting."
    assert db.session.scalar(select(func.count(Invitation.id))) == 0
