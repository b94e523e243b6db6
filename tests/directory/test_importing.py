"""The import plan (what a file would change) and applying it."""

import pytest
from sqlalchemy import event, func, select

from surveyapp.directory.csv_import import parse_people_csv
from surveyapp.directory.importing import ImportRefused, apply_import, plan_import
from surveyapp.directory.queries import load_tree
from surveyapp.models import Person, Team, utcnow

pytestmark = pytest.mark.both_databases


def plan_of(text: str):
    return plan_import(parse_people_csv(text.encode()))


def run(db, text: str):
    plan = apply_import(plan_of(text))
    db.session.commit()
    return plan


def people(db) -> dict[str, Person]:
    return {p.email: p for p in db.session.scalars(select(Person))}


@pytest.fixture
def org(make_team, make_person):
    ops = make_team("Operations")
    care = make_team("Customer Care", parent=ops)
    sales = make_team("Sales")
    make_person(team=care, email="ana@example.com", name="Ana Lima", location="Leeds",
                role_level="Team lead")
    make_person(team=sales, email="ben@example.com", name="Ben Ode", location="Bristol")
    return ops, care, sales


FILE = """email,name,team,location
ana@example.com,Ana Lima,Operations/Customer Care,Leeds
ben@example.com,Benjamin Ode,Sales,Bristol
cat@example.com,Cat Ng,Operations/Customer Care/North,Leeds
dev@example.com,Dev Rao,operations/customer care/north,
eve@example.com,Eve Ray,Operations/Depot,Remote
"""


def test_the_plan_sorts_people_into_new_updated_moved_and_unchanged(db, org):
    plan = plan_of(FILE)
    assert plan.ok
    assert [p.email for p in plan.new] == ["cat@example.com", "dev@example.com", "eve@example.com"]
    assert [p.email for p in plan.updated] == ["ben@example.com"]
    assert [(c.field, c.old, c.new) for c in plan.updated[0].changes] == [
        ("name", "Ben Ode", "Benjamin Ode")]
    assert plan.moved == []
    assert [p.email for p in plan.unchanged] == ["ana@example.com"]


def test_missing_teams_are_planned_once_each_parent_first_matching_paths_in_any_case(db, org):
    plan = plan_of(FILE)
    assert plan.teams_to_create == ["Operations/Customer Care/North", "Operations/Depot"]
    assert plan.new[1].team == "Operations/Customer Care/North"


def test_planning_writes_nothing(db, org):
    before = (db.session.scalar(select(func.count(Person.id))),
              db.session.scalar(select(func.count(Team.id))))
    plan_of(FILE)
    db.session.rollback()
    after = (db.session.scalar(select(func.count(Person.id))),
             db.session.scalar(select(func.count(Team.id))))
    assert after == before


def test_a_moved_person_shows_the_old_and_the_new_team(db, org):
    plan = plan_of("email,name,team\nana@example.com,Ana Lima,Sales\n")
    [moved] = plan.moved
    assert (moved.old_team, moved.team) == ("Operations/Customer Care", "Sales")
    assert plan.updated == [] and plan.unchanged == []


def test_a_person_who_changes_name_and_team_is_both_updated_and_moved(db, org):
    plan = plan_of("email,name,team\nana@example.com,Ana Silva,Sales\n")
    assert [p.email for p in plan.updated] == [p.email for p in plan.moved] == ["ana@example.com"]
    assert plan.summary() == "0 new, 1 updated, 1 moved, 0 unchanged, 0 teams created"


def test_an_empty_attribute_cell_clears_the_value_and_a_missing_column_keeps_it(db, org):
    plan = run(db, "email,name,team,location\nana@example.com,Ana Lima,Operations/Customer Care,\n")
    [updated] = plan.updated
    assert [(c.label, c.old, c.new) for c in updated.changes] == [("Location", "Leeds", None)]
    ana = people(db)["ana@example.com"]
    assert (ana.location, ana.role_level) == (None, "Team lead")


def test_apply_writes_the_plan(db, org):
    plan = run(db, FILE)
    assert plan.summary() == "3 new, 1 updated, 0 moved, 1 unchanged, 2 teams created"
    found = people(db)
    tree = load_tree()
    assert found["ben@example.com"].name == "Benjamin Ode"
    assert tree.path(found["dev@example.com"].team_id) == "Operations/Customer Care/North"
    assert found["dev@example.com"].location is None
    assert tree.path(found["eve@example.com"].team_id) == "Operations/Depot"
    assert found["cat@example.com"].created_at is not None


def test_applying_a_move_changes_the_team(db, org):
    run(db, "email,name,team\nana@example.com,Ana Lima,Sales/Inside\n")
    assert load_tree().path(people(db)["ana@example.com"].team_id) == "Sales/Inside"


def test_reimporting_the_same_file_changes_nothing(db, org):
    run(db, FILE)
    plan = plan_of(FILE)
    assert plan.summary() == "0 new, 0 updated, 0 moved, 5 unchanged, 0 teams created"
    assert not plan.has_changes


def test_people_not_in_the_file_are_left_as_they_are(db, org, make_person):
    stay = make_person(team=org[2], email="stay@example.com", name="Stay Put")
    run(db, FILE)
    db.session.refresh(stay)
    assert (stay.name, stay.archived_at, stay.team_id) == ("Stay Put", None, org[2].id)


def test_someone_who_had_left_comes_back_and_the_preview_says_so(db, org, make_person):
    make_person(team=org[2], email="old@example.com", name="Old Timer", archived_at=utcnow())
    plan = run(db, "email,name,team\nold@example.com,Old Timer,Sales\n")
    [back] = plan.updated
    assert [(c.label, c.old, c.new) for c in back.changes] == [
        ("Status", "Left (archived)", "Active")]
    assert people(db)["old@example.com"].archived_at is None


def test_a_row_for_an_archived_team_is_an_error_with_its_line(db, org, make_team):
    make_team("Old", archived_at=utcnow())
    plan = plan_of("email,name,team\nx@example.com,X,Sales\ny@example.com,Y,old\n"
                   "z@example.com,Z,Old/Inside\n")
    assert [str(e) for e in plan.errors] == [
        "Line 3: The team Old is archived. Unarchive it on the Teams page first, or put this "
        "person in another team.",
        "Line 4: The team Old is archived, so no team can be added inside it. Unarchive it on "
        "the Teams page first, or change the path.",
    ]
    assert plan.teams_to_create == []


def test_a_plan_with_errors_cannot_be_applied(db, org):
    plan = plan_of("email,name,team\nbad,X,Sales\nnew@example.com,New,Sales\n")
    with pytest.raises(ImportRefused):
        apply_import(plan)
    db.session.rollback()
    assert "new@example.com" not in people(db)


def test_the_digest_changes_when_the_directory_changes_between_preview_and_apply(db, org):
    text = "email,name,team\nana@example.com,Ana Lima,Sales\n"
    first = plan_of(text).digest()
    assert plan_of(text).digest() == first
    ben = people(db)["ben@example.com"]
    ben.team_id = org[1].id
    db.session.commit()
    assert plan_of(text).digest() == first  # Ben is not in the file
    ana = people(db)["ana@example.com"]
    ana.location = "Remote"
    db.session.commit()
    assert plan_of(text).digest() != first


def test_new_teams_take_the_first_spelling_in_the_file(db, org):
    plan = plan_of("email,name,team\nx@example.com,X,Sales/Key Accounts\n"
                   "y@example.com,Y,SALES/key accounts\n")
    assert plan.teams_to_create == ["Sales/Key Accounts"]
    assert plan.new[1].team == "Sales/Key Accounts"


def count_queries(db, action) -> int:
    statements = []
    engine = db.engine

    def before(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    try:
        action()
    finally:
        event.remove(engine, "before_cursor_execute", before)
    return len(statements)


def big_file(n: int) -> str:
    lines = ["email,name,team"] + [f"p{i}@example.com,P {i},Ops/T{i % 7}" for i in range(n)]
    return "\n".join(lines) + "\n"


def test_planning_runs_the_same_few_queries_for_10_or_1000_people(db, org):
    run(db, big_file(1000))
    counts = []
    for n in (10, 1000):
        db.session.rollback()
        counts.append(count_queries(db, lambda n=n: plan_of(big_file(n))))
    assert counts[0] == counts[1] <= 4


def test_applying_runs_a_few_bulk_statements_not_one_per_person(db, org):
    plan = plan_of(big_file(1000))
    assert count_queries(db, lambda: apply_import(plan)) <= 12
    db.session.commit()
    assert db.session.scalar(select(func.count(Person.id))) == 1002
