"""Account operations: the rules for creating, editing and deactivating staff accounts."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from surveyapp.access import may_see_team, visible_team_ids
from surveyapp.accounts.operations import (
    AccountError,
    EmailTaken,
    create_user,
    deactivate_user,
    reactivate_user,
    set_user_password,
    update_user,
)
from surveyapp.auth.passwords import verify_password
from surveyapp.directory.queries import load_tree, team_choices
from surveyapp.models import LoginFailure, Role, User

from ..conftest import TEST_PASSWORD

pytestmark = pytest.mark.both_databases


GOOD = "lantern orchard velvet"


def error_of(call, *args, **kwargs) -> AccountError:
    with pytest.raises(AccountError) as raised:
        call(*args, **kwargs)
    return raised.value


@pytest.fixture
def tree_teams(make_team):
    ops = make_team("Operations")
    care = make_team("Customer Care", parent=ops)
    north = make_team("North", parent=care)
    sales = make_team("Sales")
    return {"ops": ops, "care": care, "north": north, "sales": sales}


def test_create_user_adds_an_active_leader_with_their_teams(db, tree_teams):
    user = create_user(email=" Mia.Chen@Example.org ", name="  Mia   Chen ", role=Role.LEADER,
                       password=GOOD, teams=[tree_teams["care"]])
    db.session.commit()

    stored = db.session.scalar(select(User).where(User.email == "mia.chen@example.org"))
    assert stored.id == user.id
    assert (stored.name, stored.role, stored.is_active) == ("Mia Chen", Role.LEADER, True)
    assert [team.name for team in stored.teams] == ["Customer Care"]
    assert verify_password(stored.password_hash, GOOD)


def test_a_leader_sees_the_teams_they_lead_and_every_team_below(db, tree_teams):
    user = create_user(email="mia@example.org", name="Mia", role=Role.LEADER, password=GOOD,
                       teams=[tree_teams["care"]])

    seen = visible_team_ids(user, load_tree())

    assert seen == {tree_teams["care"].id, tree_teams["north"].id}


def test_a_leader_can_lead_several_teams(db, tree_teams):
    user = create_user(email="mia@example.org", name="Mia", role=Role.LEADER, password=GOOD,
                       teams=[tree_teams["north"], tree_teams["sales"]])

    assert visible_team_ids(user, load_tree()) == {tree_teams["north"].id, tree_teams["sales"].id}


@pytest.mark.parametrize("led", [[], ["care"], ["north", "sales"], ["ops"], ["north"]])
def test_checking_one_team_agrees_with_the_whole_tree(db, tree_teams, make_team, led):
    deep = make_team("Leeds", parent=tree_teams["north"])
    user = create_user(email="mia@example.org", name="Mia", role=Role.LEADER, password=GOOD,
                       teams=[tree_teams[name] for name in led] or [tree_teams["sales"]])
    if not led:
        user.teams = []
    seen = visible_team_ids(user, load_tree())
    for team_id in [*(t.id for t in tree_teams.values()), deep.id, 999_999]:
        assert may_see_team(user, team_id) == (team_id in seen), team_id


def test_a_leader_needs_at_least_one_team(db):
    error = error_of(create_user, email="mia@example.org", name="Mia", role=Role.LEADER,
                     password=GOOD)

    assert (error.field, str(error)) == ("teams", "Choose at least one team that this leader leads.")


def test_an_hr_admin_leads_no_teams_even_if_some_are_chosen(db, tree_teams):
    user = create_user(email="hr2@example.org", name="Second HR", role=Role.HR, password=GOOD,
                       teams=[tree_teams["sales"]])

    assert user.teams == []
    assert visible_team_ids(user, load_tree()) == {t.id for t in tree_teams.values()}


def test_an_email_already_used_is_refused_whatever_its_case(db, make_user):
    make_user(email="taken@example.org")

    error = error_of(create_user, email="TAKEN@example.org", name="Someone", role=Role.HR,
                     password=GOOD)

    assert isinstance(error, EmailTaken)
    assert error.field == "email"


@pytest.mark.parametrize("email", ["not-an-email", "a@b", "two@@example.org", "@example.org"])
def test_an_invalid_email_is_refused(db, email):
    error = error_of(create_user, email=email, name="Someone", role=Role.HR, password=GOOD)

    assert error.field == "email"
    assert str(error).startswith("Enter an e-mail address in the right format")


def test_a_blank_name_is_refused(db):
    error = error_of(create_user, email="a@example.org", name="   ", role=Role.HR, password=GOOD)

    assert error.field == "name"


def test_an_unknown_role_is_refused(db):
    error = error_of(create_user, email="a@example.org", name="A", role="admin", password=GOOD)

    assert error.field == "role"


@pytest.mark.parametrize("password,start", [
    ("short", "The password must be at least 8 characters long."),
    ("password1", "Choose a less common password."),
])
def test_a_weak_password_is_refused_in_words_for_hr(db, password, start):
    error = error_of(create_user, email="a@example.org", name="A", role=Role.HR,
                     password=password)

    assert error.field == "password"
    assert str(error).startswith(start)


# --- Editing ----------------------------------------------------------------------------------------


def test_update_user_changes_name_email_role_and_teams(db, make_user, tree_teams):
    acting = make_user(Role.HR)
    user = make_user(Role.LEADER, teams=[tree_teams["north"]])

    update_user(user, acting=acting, email="New@Example.org", name="New Name", role=Role.LEADER,
                teams=[tree_teams["sales"], tree_teams["care"]])
    db.session.commit()

    db.session.refresh(user)
    assert (user.email, user.name) == ("new@example.org", "New Name")
    assert sorted(team.name for team in user.teams) == ["Customer Care", "Sales"]


def test_keeping_an_address_the_validator_would_refuse_is_allowed(db, make_user, tree_teams):
    acting = make_user(Role.HR)
    user = make_user(Role.LEADER, email="old@example.test", teams=[tree_teams["north"]])

    update_user(user, acting=acting, email="old@example.test", name="Renamed",
                role=Role.LEADER, teams=[tree_teams["north"]])

    assert user.name == "Renamed"


def test_taking_another_users_email_is_refused(db, make_user, tree_teams):
    acting = make_user(Role.HR, email="acting@example.org")
    user = make_user(Role.LEADER, teams=[tree_teams["north"]])

    error = error_of(update_user, user, acting=acting, email="acting@example.org", name="X",
                     role=Role.LEADER, teams=[tree_teams["north"]])

    assert isinstance(error, EmailTaken)


def test_making_a_leader_an_hr_admin_drops_their_teams(db, make_user, tree_teams):
    acting = make_user(Role.HR)
    user = make_user(Role.LEADER, teams=[tree_teams["north"]])

    update_user(user, acting=acting, email=user.email, name=user.name, role=Role.HR,
                teams=[tree_teams["north"]])

    assert (user.role, user.teams) == (Role.HR, [])


def test_an_hr_admin_cannot_change_their_own_role(db, make_user, make_team):
    me = make_user(Role.HR)
    make_user(Role.HR)  # another admin exists: the rule is about oneself

    error = error_of(update_user, me, acting=me, email=me.email, name=me.name,
                     role=Role.LEADER, teams=[make_team("Sales")])

    assert error.field == "role"
    assert "cannot change your own role" in str(error)


def test_the_last_active_hr_admin_cannot_become_a_leader(db, make_user, make_team):
    last = make_user(Role.HR)
    inactive = make_user(Role.HR)
    inactive.is_active_account = False
    db.session.commit()

    error = error_of(update_user, last, acting=inactive, email=last.email, name=last.name,
                     role=Role.LEADER, teams=[make_team("Sales")])

    assert "only active HR admin" in str(error)
    assert last.role == Role.HR


def test_an_hr_admin_can_be_made_a_leader_while_another_remains(db, make_user, make_team):
    acting = make_user(Role.HR)
    other = make_user(Role.HR)

    update_user(other, acting=acting, email=other.email, name=other.name, role=Role.LEADER,
                teams=[make_team("Sales")])

    assert other.role == Role.LEADER


# --- Deactivating -----------------------------------------------------------------------------------


def test_deactivating_stops_sign_in_and_ends_sessions_but_keeps_teams(db, make_user, tree_teams):
    acting = make_user(Role.HR)
    user = make_user(Role.LEADER, teams=[tree_teams["north"]])
    version = user.session_version

    deactivate_user(user, acting=acting)

    assert not user.is_active
    assert user.session_version == version + 1
    assert [team.name for team in user.teams] == ["North"]


def test_nobody_can_deactivate_themselves(db, make_user):
    me = make_user(Role.HR)
    make_user(Role.HR)

    error = error_of(deactivate_user, me, acting=me)

    assert str(error) == "You cannot deactivate your own account."
    assert me.is_active


def test_the_last_active_hr_admin_cannot_be_deactivated(db, make_user):
    last = make_user(Role.HR)
    inactive = make_user(Role.HR)
    inactive.is_active_account = False
    db.session.commit()

    error = error_of(deactivate_user, last, acting=inactive)

    assert "only active HR admin" in str(error)
    assert last.is_active


def test_another_hr_admin_can_be_deactivated(db, make_user):
    acting = make_user(Role.HR)
    other = make_user(Role.HR)

    deactivate_user(other, acting=acting)

    assert not other.is_active


def test_reactivating_lets_the_user_in_again_but_not_their_old_sessions(db, make_user):
    acting = make_user(Role.HR)
    user = make_user(Role.LEADER)
    old_session = user.get_id()

    deactivate_user(user, acting=acting)
    reactivate_user(user)

    assert user.is_active
    assert user.get_id() != old_session


# --- Passwords set by HR ----------------------------------------------------------------------------


def test_setting_a_password_replaces_it_ends_sessions_and_lifts_the_lock_out(db, make_user):
    user = make_user(Role.LEADER)
    version = user.session_version
    for client in ("203.0.113.7", "198.51.100.9"):  # the account, tried from two clients
        db.session.add(LoginFailure(key=f"account:{user.email}|{client}", at=datetime.now(UTC)))

    set_user_password(user, GOOD)

    assert verify_password(user.password_hash, GOOD)
    assert not verify_password(user.password_hash, TEST_PASSWORD)
    assert user.session_version == version + 1
    assert db.session.scalars(select(LoginFailure)).all() == []


def test_setting_a_weak_password_is_refused(db, make_user):
    user = make_user(Role.LEADER)

    error = error_of(set_user_password, user, "password")

    assert error.field == "password"
    assert verify_password(user.password_hash, TEST_PASSWORD)


# --- The team picker --------------------------------------------------------------------------------


def test_team_choices_are_full_paths_in_tree_order_without_archived_teams(db, tree_teams,
                                                                           make_team):
    make_team("Old depot", parent=tree_teams["ops"], archived_at=datetime.now(UTC))

    choices = team_choices(load_tree())

    assert [label for _id, label in choices] == [
        "Operations", "Operations/Customer Care", "Operations/Customer Care/North", "Sales",
    ]


def test_an_archived_team_the_user_leads_stays_in_the_choices(db, tree_teams, make_team):
    depot = make_team("Old depot", parent=tree_teams["ops"], archived_at=datetime.now(UTC))

    choices = dict(team_choices(load_tree(), keep=[depot.id]))

    assert choices[depot.id] == "Operations/Old depot"  # the page marks it "(archived)"
