"""Configuration: defaults, then instance/config.py, then SURVEYAPP_* environment variables.

Also the SQLite engine set-up (pragmas, and write transactions that queue instead of failing).
These tests build their own apps; they do not use the suite's shared databases.
"""

from __future__ import annotations

import os
import re
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import request
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError, OperationalError

import surveyapp.database
from surveyapp import create_app
from surveyapp.config import DEFAULTS, PUBLISHED_SECRET_KEY, SECRET_KEY_FILE, ConfigurationError
from surveyapp.database import sqlite_begin_statement
from surveyapp.extensions import db
from surveyapp.jobs.queue import WebConsumer
from surveyapp.models import LoginFailure, Role, User

REAL_KEY = "k" * 40


@pytest.fixture
def instance(tmp_path, monkeypatch) -> Iterator[Path]:
    """An empty instance folder, and an environment without SURVEYAPP_* variables."""
    for key in list(os.environ):
        if key.startswith("SURVEYAPP_"):
            monkeypatch.delenv(key)
    folder = tmp_path / "instance"
    folder.mkdir()
    monkeypatch.setenv("SURVEYAPP_INSTANCE_PATH", str(folder))
    # Apps with the default settings that serve a request start their own worker threads
    # (the SQLite queue): stop them with the test, or they go on working on a database that
    # is gone, beside the next tests.
    started = []
    start = WebConsumer.start

    def start_and_keep(consumer: WebConsumer) -> None:
        start(consumer)
        started.append(consumer)

    monkeypatch.setattr(WebConsumer, "start", start_and_keep)
    yield folder
    for consumer in started:
        consumer.stop(graceful=True)


# --- Where settings come from ----------------------------------------------------------------


def test_defaults_apply_without_instance_config_or_environment(instance):
    app = create_app()

    assert app.config["ENV"] == "development"
    assert app.config["SECRET_KEY"] == (instance / SECRET_KEY_FILE).read_text().strip()
    assert app.config["ORGANISATION_NAME"] == DEFAULTS["ORGANISATION_NAME"]
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{instance}/surveyapp.sqlite3"
    assert app.config["SESSION_COOKIE_SECURE"] is False


def test_every_default_is_in_the_app_config(instance):
    app = create_app()

    derived = {"SQLALCHEMY_DATABASE_URI", "SESSION_COOKIE_SECURE", "SECRET_KEY"}
    for key, value in DEFAULTS.items():
        if key not in derived:
            assert app.config[key] == value, key


def test_instance_config_overrides_defaults(instance):
    (instance / "config.py").write_text('ORGANISATION_NAME = "Contoso Care"\nPEOPLE_PER_PAGE = 20\n')

    app = create_app()

    assert app.config["ORGANISATION_NAME"] == "Contoso Care"
    assert app.config["PEOPLE_PER_PAGE"] == 20


def test_environment_overrides_instance_config(instance, monkeypatch):
    (instance / "config.py").write_text('ORGANISATION_NAME = "Contoso Care"\nPEOPLE_PER_PAGE = 20\n')
    monkeypatch.setenv("SURVEYAPP_ORGANISATION_NAME", "Fabrikam")
    monkeypatch.setenv("SURVEYAPP_PEOPLE_PER_PAGE", "25")

    app = create_app()

    assert app.config["ORGANISATION_NAME"] == "Fabrikam"
    assert app.config["PEOPLE_PER_PAGE"] == 25  # parsed as JSON


def test_database_url_variable_overrides_instance_config(instance, monkeypatch, tmp_path):
    (instance / "config.py").write_text('SQLALCHEMY_DATABASE_URI = "sqlite:////nowhere/a.sqlite3"\n')
    monkeypatch.setenv("SURVEYAPP_DATABASE_URL", f"sqlite:///{tmp_path}/chosen.sqlite3")

    app = create_app()

    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/chosen.sqlite3"


@pytest.mark.parametrize("scheme", ["postgres", "postgresql"])
def test_postgresql_urls_use_the_psycopg_driver(instance, monkeypatch, scheme):
    monkeypatch.setenv("SURVEYAPP_DATABASE_URL", f"{scheme}://survey:pw@db.internal:5432/survey")

    app = create_app()

    expected = "postgresql+psycopg://survey:pw@db.internal:5432/survey"
    assert app.config["SQLALCHEMY_DATABASE_URI"] == expected
    with app.app_context():
        assert db.engine.dialect.driver == "psycopg"


def test_test_config_replaces_instance_config(instance):
    (instance / "config.py").write_text('ORGANISATION_NAME = "Contoso Care"\n')

    app = create_app({"TESTING": True})

    assert app.config["ORGANISATION_NAME"] == DEFAULTS["ORGANISATION_NAME"]


# --- The secret key --------------------------------------------------------------------------


def test_without_a_key_one_is_made_on_first_start_readable_by_this_user_only(instance):
    first = create_app().config["SECRET_KEY"]
    key_file = instance / SECRET_KEY_FILE

    assert re.fullmatch(r"[0-9a-f]{64}", first)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert create_app().config["SECRET_KEY"] == first  # kept: links and sessions still work
    assert [p.name for p in instance.iterdir() if "secret" in p.name] == [SECRET_KEY_FILE]


def test_each_installation_gets_a_key_of_its_own(tmp_path, instance, monkeypatch):
    first = create_app().config["SECRET_KEY"]
    monkeypatch.setenv("SURVEYAPP_INSTANCE_PATH", str(tmp_path / "another"))

    assert create_app().config["SECRET_KEY"] != first


def test_a_configured_key_is_used_and_none_is_made(instance, monkeypatch):
    monkeypatch.setenv("SURVEYAPP_SECRET_KEY", REAL_KEY)

    assert create_app().config["SECRET_KEY"] == REAL_KEY
    assert not (instance / SECRET_KEY_FILE).exists()


@pytest.mark.parametrize("env", ["development", "production"])
def test_the_published_development_key_is_refused(instance, monkeypatch, env):
    monkeypatch.setenv("SURVEYAPP_ENV", env)
    monkeypatch.setenv("SURVEYAPP_SECRET_KEY", PUBLISHED_SECRET_KEY)

    with pytest.raises(ConfigurationError, match="published key"):
        create_app()


def test_an_unusable_key_file_is_explained(instance):
    (instance / SECRET_KEY_FILE).write_text("\n")

    with pytest.raises(ConfigurationError, match="delete it"):
        create_app()


# --- Production --------------------------------------------------------------------------------


def test_production_needs_a_secret_key_set_explicitly(instance, monkeypatch):
    monkeypatch.setenv("SURVEYAPP_ENV", "production")

    with pytest.raises(ConfigurationError, match="SURVEYAPP_SECRET_KEY"):
        create_app()
    assert not (instance / SECRET_KEY_FILE).exists()


def test_production_refuses_a_short_secret_key(instance, monkeypatch):
    monkeypatch.setenv("SURVEYAPP_ENV", "production")
    monkeypatch.setenv("SURVEYAPP_SECRET_KEY", "short")

    with pytest.raises(ConfigurationError):
        create_app()


def test_production_with_a_real_key_sends_only_secure_cookies(instance, monkeypatch):
    monkeypatch.setenv("SURVEYAPP_ENV", "production")
    monkeypatch.setenv("SURVEYAPP_SECRET_KEY", REAL_KEY)

    app = create_app()

    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["REMEMBER_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True


def test_development_cookies_work_over_plain_http(instance):
    app = create_app()

    assert app.config["SESSION_COOKIE_SECURE"] is False
    assert app.config["REMEMBER_COOKIE_SECURE"] is False


def _client_address(app, headers: dict) -> str:
    @app.get("/_address")
    def address():
        return request.remote_addr or ""

    return app.test_client().get("/_address", headers=headers).get_data(as_text=True)


def test_proxy_count_trusts_the_proxy_forwarded_address(instance, monkeypatch):
    monkeypatch.setenv("SURVEYAPP_PROXY_COUNT", "1")

    address = _client_address(create_app(), {"X-Forwarded-For": "203.0.113.7"})

    assert address == "203.0.113.7"


def test_without_proxy_count_forwarded_headers_are_ignored(instance):
    address = _client_address(create_app(), {"X-Forwarded-For": "203.0.113.7"})

    assert address == "127.0.0.1"


# --- SQLite ------------------------------------------------------------------------------------


@pytest.fixture
def sqlite_app(instance, tmp_path):
    """An app on a new SQLite file with the models' schema (SQLite only, whatever --db says)."""
    app = create_app({
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/concurrency.sqlite3",
        "SQLITE_BUSY_TIMEOUT": 30,
    })
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_sqlite_connections_use_wal_foreign_keys_and_the_busy_timeout(sqlite_app):
    with sqlite_app.app_context(), db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30_000


def test_sqlite_refuses_a_row_that_points_nowhere(sqlite_app):
    with sqlite_app.app_context():
        with pytest.raises(IntegrityError, match="FOREIGN KEY"):
            db.session.execute(text(
                "INSERT INTO person (email, name, team_id, created_at, updated_at) "
                "VALUES ('a@example.com', 'A', 999, '2026-01-01', '2026-01-01')"
            ))
        db.session.rollback()


def test_read_only_requests_begin_deferred_transactions(sqlite_app):
    with sqlite_app.test_request_context("/", method="GET"):
        assert sqlite_begin_statement() == "BEGIN"


def test_state_changing_requests_take_the_write_lock_at_begin(sqlite_app):
    with sqlite_app.test_request_context("/", method="POST"):
        assert sqlite_begin_statement() == "BEGIN IMMEDIATE"


def test_work_outside_a_request_takes_the_write_lock_at_begin(sqlite_app):
    with sqlite_app.app_context():
        assert sqlite_begin_statement() == "BEGIN IMMEDIATE"


THREADS = 8
TRANSACTIONS = 50


def _run_concurrent_writers(app) -> list[BaseException]:
    """8 threads x 50 transactions that each read the counter, then write it and a row.

    Returns the exceptions the threads met (each thread stops at its first one).
    """
    with app.app_context():
        user = User(email="counter@example.com", name="Counter", role=Role.HR,
                    password_hash="x", session_version=0)
        db.session.add(user)
        db.session.commit()
        user_id = user.id
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def work():
        try:
            with app.test_request_context("/", method="POST"):
                start.wait()
                for _ in range(TRANSACTIONS):
                    counter = db.session.get(User, user_id)  # read ...
                    counter.session_version += 1  # ... then write
                    db.session.add(LoginFailure(key="account:counter@example.com"))
                    db.session.commit()
                db.session.remove()
        except BaseException as error:  # noqa: BLE001 - reported by the test
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors


def test_concurrent_sqlite_writers_queue_instead_of_failing(sqlite_app):
    errors = _run_concurrent_writers(sqlite_app)

    assert errors == []
    with sqlite_app.app_context():
        assert db.session.scalar(select(User.session_version)) == THREADS * TRANSACTIONS
        assert db.session.scalar(select(func.count(LoginFailure.id))) == THREADS * TRANSACTIONS


def test_concurrent_writers_with_a_deferred_begin_fail_with_database_is_locked(
    sqlite_app, monkeypatch
):
    # The control experiment: without BEGIN IMMEDIATE the same work fails, so the test above
    # shows the fix and not luck.
    monkeypatch.setattr(surveyapp.database, "sqlite_begin_statement", lambda: "BEGIN")

    errors = _run_concurrent_writers(sqlite_app)

    assert errors, "expected some writer to fail with a deferred BEGIN"
    assert all(isinstance(e, OperationalError) for e in errors), errors
    assert "database is locked" in str(errors[0])
