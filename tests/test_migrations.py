"""The migrations build exactly the models' schema, on SQLite and on PostgreSQL.

Each test gets a new, empty database (not the suite's shared one, which ``create_all`` built), runs
``flask db upgrade`` on it and compares the result with the models. When a model changes without
a migration, ``test_upgrade_builds_exactly_the_models_schema`` fails and lists the difference.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import CheckConstraint, inspect, text

from surveyapp import MIGRATIONS_DIR, create_app
from surveyapp.extensions import db

from .pgcluster import create_database, drop_database


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> Iterator[str]:
    """A new empty database per test. (Overrides the suite's shared, ready-made one.)"""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/empty.sqlite3"
        return
    server = request.getfixturevalue("pg_cluster")
    name = f"migrations_{uuid.uuid4().hex[:12]}"
    url = create_database(server, name)
    try:
        yield url
    finally:
        drop_database(server, name)


@pytest.fixture
def empty_app(database_url, tmp_path, monkeypatch):
    for key in list(os.environ):
        if key.startswith("SURVEYAPP_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("SURVEYAPP_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url})
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def flask_db(app, *args: str) -> None:
    """Run ``flask db ARGS`` against ``app``; fail the test with its output if it fails."""
    result = app.test_cli_runner().invoke(args=["db", *args])
    assert result.exit_code == 0, f"flask db {' '.join(args)} failed:\n{result.output}"


def schema_differences(app) -> list:
    """What autogenerate would change to make the database match the models (empty: none)."""
    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def check_constraints(app) -> dict[str, set[str]]:
    """{table: names of its CHECK constraints} as the database reports them."""
    with app.app_context():
        inspector = inspect(db.engine)
        return {
            table: {c["name"] for c in inspector.get_check_constraints(table)}
            for table in inspector.get_table_names()
            if table != "alembic_version"
        }


def model_check_constraints() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for table in db.metadata.sorted_tables:
        found[table.name] = {c.name for c in table.constraints if isinstance(c, CheckConstraint)}
    return found


def test_upgrade_builds_exactly_the_models_schema(empty_app):
    flask_db(empty_app, "upgrade")

    assert schema_differences(empty_app) == []
    assert check_constraints(empty_app) == model_check_constraints()


def test_the_comparison_notices_an_index_the_database_lacks(empty_app):
    flask_db(empty_app, "upgrade")
    with empty_app.app_context(), db.engine.begin() as conn:
        conn.execute(text("DROP INDEX ix_person_team_id"))

    differences = schema_differences(empty_app)

    assert [d[0] for d in differences] == ["add_index"]


def test_downgrade_to_base_removes_every_table(empty_app):
    flask_db(empty_app, "upgrade")

    flask_db(empty_app, "downgrade", "base")

    with empty_app.app_context():
        assert set(inspect(db.engine).get_table_names()) == {"alembic_version"}


def test_upgrade_after_downgrade_builds_the_schema_again(empty_app):
    flask_db(empty_app, "upgrade")
    flask_db(empty_app, "downgrade", "base")

    flask_db(empty_app, "upgrade")

    assert schema_differences(empty_app) == []


def test_migrate_with_unchanged_models_writes_no_new_migration(empty_app):
    flask_db(empty_app, "upgrade")
    before = set((MIGRATIONS_DIR / "versions").glob("*.py"))

    flask_db(empty_app, "migrate", "-m", "should be empty")

    written = set((MIGRATIONS_DIR / "versions").glob("*.py")) - before
    for path in written:  # never leave a stray migration in the source tree
        path.unlink()
    assert written == set()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_sqlite_foreign_keys_are_enforced_again_after_an_upgrade(empty_app):
    # The migration environment switches foreign keys off while it rebuilds tables.
    flask_db(empty_app, "upgrade")

    with empty_app.app_context():
        assert db.session.execute(text("PRAGMA foreign_keys")).scalar() == 1
        db.session.rollback()
