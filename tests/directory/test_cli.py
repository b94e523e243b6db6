"""``flask import-people FILE.csv``: applies directly, prints a summary, refuses bad files."""

import pytest
from sqlalchemy import func, select

from surveyapp.models import Person, Team


@pytest.fixture
def csv_file(tmp_path):
    def write(content: str | bytes, name: str = "people.csv"):
        path = tmp_path / name
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        return str(path)

    return write


GOOD = ("email;name;team;role_level\n"
        "ana@example.com;Ana Lima;Operations/Customer Care;Team lead\n"
        "ben@example.com;Ben Ode;Sales;\n")


def people_count(db) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count(Person.id)))


def test_import_people_applies_the_file_and_prints_a_summary(runner, db, csv_file):
    result = runner.invoke(args=["import-people", csv_file(GOOD)])
    assert result.exit_code == 0, result.output
    assert "2 new, 0 updated, 0 moved, 0 unchanged, 3 teams created." in result.output
    assert "People not in the file were left as they are." in result.output
    assert people_count(db) == 2
    assert db.session.scalar(select(func.count(Team.id))) == 3


def test_running_it_again_changes_nothing(runner, db, csv_file):
    path = csv_file(GOOD)
    runner.invoke(args=["import-people", path])
    result = runner.invoke(args=["import-people", path])
    assert "0 new, 0 updated, 0 moved, 2 unchanged, 0 teams created." in result.output


def test_a_bad_file_exits_non_zero_lists_every_line_on_stderr_and_changes_nothing(runner, db, csv_file):
    path = csv_file("email,name,team\ngood@example.com,Good,Sales\nbad,Bad,Sales\n"
                    "x@example.com,,Sales\n")
    result = runner.invoke(args=["import-people", path])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        'Line 3: "bad" is not a valid e-mail address. An email address must have an @-sign.',
        "Line 4: The name is missing.",
        "Nothing was imported: 2 lines have problems. Fix the file and run the command again.",
    ]
    assert people_count(db) == 0


def test_a_file_that_is_not_utf8_exits_non_zero_with_the_advice(runner, db, csv_file):
    path = csv_file("email,name,team\nzoe@example.com,Zoë,Sales\n".encode("cp1252"))
    result = runner.invoke(args=["import-people", path])
    assert result.exit_code == 1
    assert "This file is not UTF-8. In Excel choose File › Save As › CSV UTF-8." in result.stderr


def test_dry_run_writes_nothing(runner, db, csv_file):
    result = runner.invoke(args=["import-people", "--dry-run", csv_file(GOOD)])
    assert result.exit_code == 0
    assert "Would import: 2 new" in result.output
    assert people_count(db) == 0


def test_ignored_columns_are_mentioned(runner, db, csv_file):
    result = runner.invoke(args=["import-people", csv_file("email,name,team,ID\na@example.com,A,S,1\n")])
    assert "Ignored columns: ID" in result.output


def test_a_missing_file_is_a_usage_error(runner, db, tmp_path):
    result = runner.invoke(args=["import-people", str(tmp_path / "nope.csv")])
    assert result.exit_code == 2
