"""Throttling failed sign-ins per account and per client, counted in the database."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from surveyapp import create_app
from surveyapp.auth import operations
from surveyapp.auth.operations import (
    InvalidCredentials,
    Throttled,
    authenticate,
    check_throttle,
    record_failure,
)
from surveyapp.extensions import db as _db
from surveyapp.models import LoginFailure

from ..conftest import TEST_PASSWORD

pytestmark = pytest.mark.both_databases


CLIENT = "203.0.113.7"
OTHER_CLIENT = "198.51.100.9"


def fail(auth, email, times=1):
    for _ in range(times):
        auth.login(email, "not the password")


def failures(db, key=None):
    query = select(func.count()).select_from(LoginFailure)
    if key is not None:
        query = query.where(LoginFailure.key == key)
    return db.session.scalar(query)


def account_key(email, client="127.0.0.1"):
    return f"account:{email}|{client}"


def test_a_failure_is_counted_for_the_account_from_this_client_and_for_the_client(db, auth,
                                                                                   make_user):
    user = make_user()

    fail(auth, user.email)

    assert failures(db, account_key(user.email)) == 1
    assert failures(db, "client:127.0.0.1") == 1


def test_an_unknown_email_is_counted_like_a_known_one(db, auth):
    fail(auth, "Nobody@Example.org")

    assert failures(db, account_key("nobody@example.org")) == 1


def test_the_first_four_failures_cost_no_wait(auth, make_user):
    user = make_user()
    fail(auth, user.email, 4)

    assert auth.login(user.email).status_code == 302


def test_after_the_free_failures_even_the_right_password_waits_and_is_told_how_long(
        client, auth, make_user):
    user = make_user()
    fail(auth, user.email, 5)

    response = auth.login(user.email)

    page = response.get_data(as_text=True)
    assert response.status_code == 429
    assert "Too many failed sign-in attempts. Try again in 5 seconds." in page
    assert "<title>Error: Sign in" in page
    assert client.get("/users").status_code == 302


def test_failing_on_purpose_from_elsewhere_locks_no_one_out(client, auth, make_user):
    """An attacker who knows a colleague's address cannot keep them from signing in."""
    user = make_user()
    for _ in range(12):
        client.submit("/login", {"email": user.email, "password": "not the password"},
                      environ_base={"REMOTE_ADDR": OTHER_CLIENT})
    attacker = client.submit("/login", {"email": user.email, "password": TEST_PASSWORD},
                             environ_base={"REMOTE_ADDR": OTHER_CLIENT})
    assert attacker.status_code == 429  # the guesser waits, even with the right password

    client.submit("/logout", form_url="/login")
    assert auth.login(user.email).status_code == 302  # the person, from their own device


def test_a_throttled_attempt_checks_no_password(auth, make_user, monkeypatch):
    user = make_user()
    fail(auth, "nobody@example.org", 5)
    fail(auth, user.email, 5)
    checked = []
    monkeypatch.setattr(operations, "verify_password", lambda *a: checked.append(a))
    monkeypatch.setattr(operations, "burn_verification_time", lambda *a: checked.append(a))

    known = auth.login(user.email)
    unknown = auth.login("nobody@example.org")

    assert known.status_code == unknown.status_code == 429
    assert checked == []


def test_a_throttled_unknown_email_gets_the_same_answer_as_a_throttled_account(auth, make_user):
    user = make_user()
    fail(auth, "nobody@example.org", 5)
    fail(auth, user.email, 5)

    known = auth.login(user.email).get_data(as_text=True)
    unknown = auth.login("nobody@example.org").get_data(as_text=True)

    assert "Too many failed sign-in attempts" in known
    assert "Too many failed sign-in attempts" in unknown


def test_a_throttled_attempt_adds_no_failure(db, auth, make_user):
    user = make_user()
    fail(auth, user.email, 5)

    fail(auth, user.email, 3)

    assert failures(db, account_key(user.email)) == 5


def test_one_client_waits_after_its_free_failures_across_accounts(app, client, auth, make_user):
    app.config["LOGIN_FREE_FAILURES_PER_CLIENT"] = 3
    user = make_user()
    for n in range(4):
        fail(auth, f"guess{n}@example.org")

    response = auth.login(user.email)

    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in response.get_data(as_text=True)


def test_another_client_can_still_sign_in_when_one_waits(app, client, auth, make_user):
    app.config["LOGIN_FREE_FAILURES_PER_CLIENT"] = 3
    user = make_user()
    for n in range(4):
        fail(auth, f"guess{n}@example.org")

    response = client.submit("/login", {"email": user.email, "password": TEST_PASSWORD},
                            environ_base={"REMOTE_ADDR": OTHER_CLIENT})

    assert response.status_code == 302


def test_signing_in_clears_the_accounts_failures_from_every_client_but_not_the_clients(
        db, auth, make_user):
    user = make_user()
    record_failure(user.email, OTHER_CLIENT)
    fail(auth, user.email, 4)

    auth.login(user.email)

    assert failures(db, account_key(user.email)) == 0
    assert failures(db, account_key(user.email, OTHER_CLIENT)) == 0
    assert failures(db, "client:127.0.0.1") == 4


def test_the_client_address_comes_from_the_proxy_when_one_is_configured(tmp_path, database_url,
                                                                        monkeypatch, app):
    config = {k: app.config[k] for k in (
        "TESTING", "SECRET_KEY", "SQLALCHEMY_DATABASE_URI", "PASSWORD_HASH_TIME_COST",
        "PASSWORD_HASH_MEMORY_COST", "PASSWORD_HASH_PARALLELISM")}
    proxied = create_app({**config, "PROXY_COUNT": 1})
    proxied.test_client_class = app.test_client_class
    try:
        proxied.test_client().submit("/login", {"email": "x@example.org", "password": "guess"},
                                     headers={"X-Forwarded-For": CLIENT})
        with proxied.app_context():
            keys = set(_db.session.scalars(select(LoginFailure.key)))
    finally:
        with proxied.app_context():
            _db.engine.dispose()

    assert keys == {f"account:x@example.org|{CLIENT}", f"client:{CLIENT}"}


# --- Several workers ------------------------------------------------------------------------------


@pytest.fixture
def second_worker(app):
    """Another application instance on the same database, like a second gunicorn worker."""
    config = {k: app.config[k] for k in (
        "TESTING", "SECRET_KEY", "SQLALCHEMY_DATABASE_URI", "PASSWORD_HASH_TIME_COST",
        "PASSWORD_HASH_MEMORY_COST", "PASSWORD_HASH_PARALLELISM")}
    worker = create_app({**config, "SQLITE_BUSY_TIMEOUT": 5})
    worker.test_client_class = app.test_client_class
    yield worker
    with worker.app_context():
        _db.session.remove()
        _db.engine.dispose()


def email_of_new_user(db, make_user) -> str:
    email = make_user().email
    # End the test's own transaction: SQLite lets one writer at a time, and the other worker
    # is a separate connection that would wait for it.
    db.session.commit()
    return email


def test_the_failure_count_is_shared_by_every_worker(app, db, auth, make_user, second_worker):
    email = email_of_new_user(db, make_user)
    other = second_worker.test_client()
    assert second_worker is not app
    for n in range(5):  # alternate workers: neither sees five failures on its own
        client = auth.client if n % 2 else other
        client.submit("/login", {"email": email, "password": "not the password"})

    from_first = auth.login(email)
    from_second = other.submit("/login", {"email": email, "password": TEST_PASSWORD})

    assert from_first.status_code == from_second.status_code == 429


def test_a_sign_in_on_one_worker_clears_failures_counted_by_another(db, auth, make_user,
                                                                    second_worker):
    email = email_of_new_user(db, make_user)
    other = second_worker.test_client()
    for _ in range(4):
        other.submit("/login", {"email": email, "password": "not the password"})

    assert auth.login(email).status_code == 302
    assert failures(db, account_key(email)) == 0


# --- The waits -----------------------------------------------------------------------------------


NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize("count, seconds", [
    (5, 5), (6, 10), (7, 20), (8, 40), (9, 80), (10, 160), (11, 320), (12, 640), (13, 900),
    (40, 900),
])
def test_each_failure_past_the_free_ones_doubles_the_wait_up_to_the_cap(db, make_user, count,
                                                                        seconds):
    user = make_user()
    for _ in range(count):
        record_failure(user.email, CLIENT, NOW)

    with pytest.raises(Throttled) as raised:
        check_throttle(user.email, CLIENT, NOW)

    assert raised.value.seconds == seconds


def test_the_wait_counts_from_the_latest_failure_and_then_the_attempt_is_taken(db, make_user):
    user = make_user()
    for seconds_ago in (60, 50, 40, 30, 20, 4):  # six: the next attempt waits 10 seconds
        record_failure(user.email, CLIENT, NOW - timedelta(seconds=seconds_ago))

    with pytest.raises(Throttled) as raised:
        check_throttle(user.email, CLIENT, NOW)
    assert str(raised.value) == "Too many failed sign-in attempts. Try again in 6 seconds."

    assert authenticate(user.email, TEST_PASSWORD, CLIENT, NOW + timedelta(seconds=6)).id == user.id


@pytest.mark.parametrize("seconds, said", [
    (1, "1 second"), (59, "59 seconds"), (60, "1 minute"), (61, "2 minutes"), (900, "15 minutes"),
])
def test_the_wait_is_said_in_seconds_then_whole_minutes(seconds, said):
    assert str(Throttled(timedelta(seconds=seconds))) == (
        f"Too many failed sign-in attempts. Try again in {said}.")


def test_failures_older_than_the_window_are_forgotten(db, make_user):
    user = make_user()
    for _ in range(12):
        record_failure(user.email, CLIENT, NOW - timedelta(hours=1, seconds=1))

    assert authenticate(user.email, TEST_PASSWORD, CLIENT, NOW).id == user.id


def test_the_free_failures_and_the_waits_come_from_the_configuration(app, db, make_user):
    app.config.update(LOGIN_FREE_FAILURES_PER_ACCOUNT=1, LOGIN_FIRST_DELAY_SECONDS=30,
                      LOGIN_MAX_DELAY_SECONDS=45)
    user = make_user()
    for _ in range(2):
        with pytest.raises(InvalidCredentials):
            authenticate(user.email, "wrong", CLIENT, NOW)

    with pytest.raises(Throttled):
        authenticate(user.email, TEST_PASSWORD, CLIENT, NOW + timedelta(seconds=29))
    with pytest.raises(InvalidCredentials):  # taken, and the third failure doubles the wait...
        authenticate(user.email, "wrong", CLIENT, NOW + timedelta(seconds=30))
    with pytest.raises(Throttled) as raised:
        check_throttle(user.email, CLIENT, NOW + timedelta(seconds=30))
    assert raised.value.seconds == 45  # ...to the cap


def test_expired_failures_are_purged_when_a_new_one_is_recorded(db):
    record_failure("old@example.org", CLIENT, NOW - timedelta(hours=2))
    record_failure("recent@example.org", CLIENT, NOW - timedelta(minutes=1))

    record_failure("new@example.org", OTHER_CLIENT, NOW)

    keys = set(db.session.scalars(select(LoginFailure.key)))
    assert account_key("old@example.org", CLIENT) not in keys
    assert {account_key("recent@example.org", CLIENT),
            account_key("new@example.org", OTHER_CLIENT)} <= keys
