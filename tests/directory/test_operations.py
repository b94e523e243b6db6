"""Team and people operations: the rules of the tree and of the directory."""

import pytest

from surveyapp.directory.operations import (
    DirectoryError,
    add_person,
    archive_person,
    archive_team,
    create_team,
    move_person,
    move_team,
    rename_team,
    unarchive_person,
    unarchive_team,
    update_person,
)
from surveyapp.directory.queries import load_tree
from surveyapp.models import Person, utcnow

pytestmark = pytest.mark.both_databases


@pytest.fixture
def org(make_team):
    ops = make_team("Operations")
    care = make_team("Customer Care", parent=ops)
    north = make_team("North", parent=care)
    sales = make_team("Sales")
    return ops, care, north, sales


# --- teams ------------------------------------------------------------------------------------


def test_create_team_adds_it_under_its_parent_with_a_trimmed_name(db, org):
    ops = org[0]
    team = create_team("  Field   Service ", ops)
    db.session.commit()
    assert load_tree().path(team.id) == "Operations/Field Service"


def test_create_team_refuses_a_sibling_name_in_another_letter_case(db, org):
    with pytest.raises(DirectoryError, match="already a team called Customer Care in Operations") as e:
        create_team("customer care", org[0])
    assert e.value.field == "name"


def test_create_team_refuses_a_clash_at_the_top_level_too(db, org):
    with pytest.raises(DirectoryError, match="already a team called Sales at the top level"):
        create_team("SALES")


def test_the_same_name_is_fine_under_another_parent(db, org):
    ops, care, north, sales = org
    assert create_team("North", sales).parent_id == sales.id


@pytest.mark.parametrize("name, message", [
    ("   ", "Enter a name for the team."),
    ("x" * 121, "120 characters or fewer"),
    ("Ops/North", 'cannot contain "/"'),
])
def test_create_team_refuses_bad_names(db, name, message):
    with pytest.raises(DirectoryError, match=message):
        create_team(name)


def test_create_team_refuses_an_archived_parent(db, make_team):
    old = make_team("Old", archived_at=utcnow())
    with pytest.raises(DirectoryError, match="Old is archived") as e:
        create_team("New", old)
    assert e.value.field == "parent_id"


def test_rename_team_changes_its_name(db, org):
    rename_team(org[1], "Customer Service")
    db.session.commit()
    assert load_tree().path(org[2].id) == "Operations/Customer Service/North"


def test_rename_team_may_change_only_the_letter_case_of_its_own_name(db, org):
    assert rename_team(org[3], "SALES").name == "SALES"


def test_rename_team_refuses_a_sibling_name(db, org):
    with pytest.raises(DirectoryError, match="already a team called Operations"):
        rename_team(org[3], "operations")


def test_move_team_moves_everything_inside_it(db, org):
    ops, care, north, sales = org
    move_team(care, sales)
    db.session.commit()
    assert load_tree().path(north.id) == "Sales/Customer Care/North"


def test_move_team_to_the_top_level(db, org):
    move_team(org[2], None)
    db.session.commit()
    assert load_tree().path(org[2].id) == "North"


def test_a_team_cannot_be_moved_under_itself(db, org):
    with pytest.raises(DirectoryError, match="into itself or into one of the teams below it"):
        move_team(org[1], org[1])


def test_a_team_cannot_be_moved_under_its_own_descendant(db, org):
    ops, care, north, sales = org
    with pytest.raises(DirectoryError, match="into itself or into one of the teams below it") as e:
        move_team(ops, north)
    assert e.value.field == "parent_id"


def test_move_team_refuses_a_name_clash_at_the_destination(db, org, make_team):
    ops, care, north, sales = org
    make_team("north", parent=sales)
    with pytest.raises(DirectoryError, match="already a team called north in Sales"):
        move_team(north, sales)


def test_move_team_refuses_a_clash_at_the_top_level(db, org, make_team):
    make_team("NORTH")
    with pytest.raises(DirectoryError, match="already a team called NORTH at the top level"):
        move_team(org[2], None)


def test_archive_team_keeps_the_team_and_marks_it(db, org):
    team = archive_team(org[2])
    db.session.commit()
    assert team.is_archived
    assert load_tree().nodes[team.id].archived


def test_archive_team_refuses_while_people_are_active_and_says_what_to_do(db, org, make_person):
    make_person(team=org[3])
    make_person(team=org[3])
    with pytest.raises(DirectoryError) as e:
        archive_team(org[3])
    assert str(e.value) == ("Sales still has 2 people. First move them to another team or "
                            "archive them, then archive Sales.")


def test_archive_team_refuses_while_a_sub_team_is_active(db, org):
    with pytest.raises(DirectoryError) as e:
        archive_team(org[1])
    assert str(e.value) == ("Customer Care still has 1 active team inside it (North). First "
                            "archive or move that team, then archive Customer Care.")


def test_people_who_left_and_archived_sub_teams_do_not_block_archiving(db, org, make_person):
    ops, care, north, sales = org
    make_person(team=north, archived_at=utcnow())
    archive_team(north)
    assert archive_team(care).is_archived


def test_unarchive_team_refuses_inside_an_archived_parent(db, org):
    ops, care, north, sales = org
    archive_team(north)
    archive_team(care)
    with pytest.raises(DirectoryError, match="Unarchive Customer Care first"):
        unarchive_team(north)
    unarchive_team(care)
    assert not unarchive_team(north).is_archived


# --- people -----------------------------------------------------------------------------------


def test_add_person_stores_the_email_lower_case_and_the_attributes(db, org):
    person = add_person(email=" Ana.Lima@Example.com ", name="Ana Lima", team=org[3],
                        location="Leeds", role_level=" ", tenure_band="1-3 years")
    db.session.commit()
    assert (person.email, person.location, person.role_level) == ("ana.lima@example.com", "Leeds", None)


def test_add_person_refuses_a_duplicate_email_naming_who_has_it(db, org, make_person):
    make_person(team=org[2], email="ana@example.com", name="Ana Lima")
    with pytest.raises(DirectoryError) as e:
        add_person(email="ANA@example.com", name="Another Ana", team=org[3])
    assert str(e.value) == ("Someone with this e-mail already exists: Ana Lima in "
                            "Operations/Customer Care/North.")
    assert e.value.field == "email"


@pytest.mark.parametrize("fields, field, message", [
    ({"email": ""}, "email", "Enter an e-mail address."),
    ({"email": "ana@"}, "email", "Enter a valid e-mail address."),
    ({"name": "  "}, "name", "Enter the person's name."),
    ({"team": None}, "team_id", "Choose a team."),
    ({"location": "x" * 81}, "location", "80 characters or fewer"),
])
def test_add_person_validates_each_field(db, org, fields, field, message):
    details = {"email": "ana@example.com", "name": "Ana", "team": org[3], **fields}
    with pytest.raises(DirectoryError, match=message) as e:
        add_person(**details)
    assert e.value.field == field


def test_add_person_refuses_an_archived_team(db, make_team):
    old = make_team("Old", archived_at=utcnow())
    with pytest.raises(DirectoryError, match="Old is archived and takes no new people"):
        add_person(email="a@example.com", name="A", team=old)


def test_update_person_may_keep_their_own_email(db, org, make_person):
    person = make_person(team=org[3], email="ana@example.com")
    update_person(person, email="Ana@Example.com", name="Ana New", team=org[3])
    assert person.name == "Ana New"


def test_move_person_changes_only_the_team(db, org, make_person):
    person = make_person(team=org[3], location="Leeds")
    move_person(person, org[2])
    db.session.commit()
    assert (person.team_id, person.location) == (org[2].id, "Leeds")


def test_archive_and_unarchive_person(db, org, make_person):
    person = make_person(team=org[3])
    archive_person(person)
    assert person.archived_at is not None
    unarchive_person(person)
    assert person.archived_at is None


def test_unarchive_person_refuses_when_their_team_is_archived(db, org, make_person):
    person = make_person(team=org[2], archived_at=utcnow())
    archive_team(org[2])
    with pytest.raises(DirectoryError, match="North is archived"):
        unarchive_person(person)
    assert db.session.get(Person, person.id).archived_at is not None
