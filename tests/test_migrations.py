"""The migrations build exactly the models' schema, on SQLite and on PostgreSQL.

Each test gets a new, empty database (not the suite's shared one, which ``create_all`` built), runs
``flask db upgrade`` on it and compares the result with the models. When a model changes without
a migration, ``test_upgrade_builds_exactly_the_models_schema`` fails and lists the difference.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import CheckConstraint, func, inspect, select, text

from surveyapp import MIGRATIONS_DIR, create_app
from surveyapp.extensions import db
from surveyapp.instrument import load_default
from surveyapp.models import Response
from surveyapp.rounds.tokens import new_nonce, token_for
from surveyapp.survey.reading import find_invitation

from .pgcluster import create_database, drop_database
from .sealed import pending_responses

pytestmark = pytest.mark.both_databases


@pytest.fixture
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
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url,
                      "QUEUE_URL": "immediate"})
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


@pytest.mark.only_on("sqlite")
def test_sqlite_foreign_keys_are_enforced_again_after_an_upgrade(empty_app):
    # The migration environment switches foreign keys off while it rebuilds tables.
    flask_db(empty_app, "upgrade")

    with empty_app.app_context():
        assert db.session.execute(text("PRAGMA foreign_keys")).scalar() == 1
        db.session.rollback()


# --- 0002: what an earlier version stored is carried over, sealed ------------------------------


def _fill_a_version_0001_database(app) -> dict:
    """An open round with a plaintext draft and a readable response (as version 0001 stored
    them), and a closed round with a stored tally of the old, longer layout."""
    instrument = load_default()
    keys = instrument.statement_keys
    with app.app_context():
        nonces = {"drafting": new_nonce(), "answered": new_nonce()}
        tokens = {name: token_for(nonce) for name, nonce in nonces.items()}
        with db.engine.begin() as conn:
            now, day = datetime.now(UTC), date.today()
            conn.execute(text("INSERT INTO team (id, name, created_at) VALUES (1, 'Care', :now)"),
                         {"now": now})
            for person_id in (1, 2):
                conn.execute(text(
                    "INSERT INTO person (id, email, name, team_id, location, created_at, updated_at)"
                    " VALUES (:id, :email, 'Someone', 1, 'Leeds', :now, :now)"),
                    {"id": person_id, "email": f"p{person_id}@example.test", "now": now})
            for round_id, status in ((1, "open"), (2, "closed")):
                conn.execute(text(
                    "INSERT INTO round (id, name, status, opens_on, closes_on, min_group_size, "
                    "min_comment_group_size, instrument, reminder_batches, created_at) VALUES "
                    "(:id, :name, :status, :day, :day, 5, 5, :instrument, 0, :now)"),
                    {"id": round_id, "name": f"Round {round_id}", "status": status, "day": day,
                     "instrument": json.dumps(instrument.to_dict()), "now": now})
            old_tally = list(range(1 + 5 * len(keys) + 100))
            conn.execute(text(
                "INSERT INTO round_team (round_id, team_id, name, path, invited, tally) VALUES "
                "(2, 1, 'Care', 'Care', 2, :tally)"), {"tally": json.dumps(old_tally)})
            for invitation_id, name in ((1, "drafting"), (2, "answered")):
                conn.execute(text(
                    "INSERT INTO invitation (id, round_id, person_id, team_id, nonce, token_hash, "
                    "reminder_batch) VALUES (:id, 1, :id, 1, :nonce, :hash, 0)"),
                    {"id": invitation_id, "nonce": nonces[name],
                     "hash": hashlib.sha256(tokens[name].encode()).hexdigest()})
            conn.execute(text(
                "INSERT INTO draft (invitation_id, answers, comments, step, updated_at) VALUES "
                "(1, :answers, :comments, 3, :now)"),
                {"answers": json.dumps({keys[0]: 2}), "comments": json.dumps({"improve": "DRAFT"}),
                 "now": now})
            conn.execute(text("INSERT INTO participation (round_id, person_id) VALUES (1, 2)"))
            conn.execute(text(
                "INSERT INTO response (id, round_id, team_id, location) VALUES (77, 1, 1, 'Leeds')"))
            conn.execute(text(
                "INSERT INTO answer (response_id, statement_key, value) VALUES (77, :key, 5)"),
                {"key": keys[1]})
            conn.execute(text(
                "INSERT INTO comment (id, response_id, question_key, text) VALUES "
                "(78, 77, 'improve', 'ANSWERED')"))
    return {"tokens": tokens, "tally_size": 1 + 5 * len(keys), "keys": keys,
            "old_tally": old_tally}


def test_upgrading_seals_drafts_and_open_rounds_responses_and_keys_link_hashes(empty_app):
    flask_db(empty_app, "upgrade", "0001")
    filled = _fill_a_version_0001_database(empty_app)

    flask_db(empty_app, "upgrade")

    keys, tokens = filled["keys"], filled["tokens"]
    with empty_app.app_context():
        drafting = find_invitation(tokens["drafting"])  # found through the keyed hash
        assert (drafting.answers, drafting.comments, drafting.step) == \
            ({keys[0]: 2}, {"improve": "DRAFT"}, 3)
        assert find_invitation(tokens["answered"]).submitted
        assert db.session.scalar(select(func.count()).select_from(Response)) == 0
        assert pending_responses(1) == [{
            "team_id": 1, "location": "Leeds", "role_level": None, "tenure_band": None,
            "answers": {keys[1]: 5}, "comments": {"improve": "ANSWERED"}}]
        for table in ("draft", "pending_response"):
            for (blob,) in db.session.execute(text(f"SELECT sealed FROM {table}")):
                assert b"DRAFT" not in blob and b"ANSWERED" not in blob
        tally = db.session.scalar(text("SELECT tally FROM round_team WHERE round_id = 2"))
        tally = json.loads(tally) if isinstance(tally, str) else tally
        assert tally == filled["old_tally"][:filled["tally_size"]]
        db.session.rollback()


def test_downgrading_with_sealed_responses_is_refused(empty_app):
    flask_db(empty_app, "upgrade", "0001")
    _fill_a_version_0001_database(empty_app)
    flask_db(empty_app, "upgrade")

    result = empty_app.test_cli_runner().invoke(args=["db", "downgrade", "0001"])

    assert result.exit_code != 0
    assert "sealed until their rounds close" in str(result.exception) + result.output
