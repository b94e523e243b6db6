"""Signing in: checking a password, throttling failures, loading the signed-in user.

Failed sign-ins are stored in the database (``LoginFailure``), one row per key: the account as
tried from one client address (``account:<email>|<address>``) and the client address on its own
(``client:<address>``). Every worker and every host behind the proxy therefore counts the same
failures. After a few free failures each further one makes the next attempt wait, twice as
long each time up to a cap (``LOGIN_*`` settings): a person who mistypes waits seconds, a
guesser ever longer. Counting an account per client means that nobody can lock someone else
out by failing on purpose from elsewhere; the right password from the person's own device is
never refused for what another client did. A throttled attempt is refused before the password
is checked, so that guessing gains nothing; an unknown e-mail address is counted, answered and
timed exactly like a wrong password, so that the page reveals no accounts.

Attempts in flight at the same moment can each pass the check before any of their failures is
stored, so a burst can exceed a limit by the number of parallel requests; the next attempt
after it waits all the same.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import delete, func, select

from ..database import reading
from ..domain import DomainError
from ..email_addresses import normalise_email
from ..extensions import db
from ..models import LoginFailure, User
from .passwords import (
    burn_verification_time,
    hash_password,
    needs_rehash,
    password_problems,
    verify_password,
)

ACCOUNT_KEY = "account:"
CLIENT_KEY = "client:"
#: Stored for a request without a client address (never the case behind a real server).
UNKNOWN_CLIENT = "unknown"


class SignInError(DomainError):
    """Signing in did not work; ``str(error)`` is the sentence to show, for the whole form
    (``field`` is None: which field was wrong is deliberately never said)."""


class InvalidCredentials(SignInError):
    """Unknown e-mail address or wrong password: deliberately the same error for both."""

    def __init__(self) -> None:
        super().__init__("The e-mail address or the password is not right. Check both and try again.")


class AccountDeactivated(SignInError):
    """The password was right, but HR has deactivated the account."""

    def __init__(self) -> None:
        super().__init__(
            "This account has been deactivated. If you still need it, ask your HR team."
        )


class Throttled(SignInError):
    """Too many recent failures for this account from this client, or for this client; nothing
    was checked. ``seconds``: how long until the next attempt is taken."""

    def __init__(self, retry_after: timedelta) -> None:
        self.seconds = max(1, math.ceil(retry_after.total_seconds()))
        if self.seconds < 60:
            wait = f"{self.seconds} second{'' if self.seconds == 1 else 's'}"
        else:
            minutes = math.ceil(self.seconds / 60)
            wait = f"{minutes} minute{'' if minutes == 1 else 's'}"
        super().__init__(f"Too many failed sign-in attempts. Try again in {wait}.")


class WrongPassword(Exception):
    """The current password given to change it was not right."""


class PasswordRejected(Exception):
    """A new password breaks the policy; ``problems`` are the sentences to show."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(" ".join(problems))
        self.problems = problems


def _now(now: datetime | None) -> datetime:
    return now if now is not None else datetime.now(UTC)


def _window() -> timedelta:
    return timedelta(seconds=int(current_app.config["LOGIN_FAILURE_WINDOW_SECONDS"]))


def _account_key(email: str) -> str:
    """The start of every key of the account's failures (one key per client)."""
    return f"{ACCOUNT_KEY}{normalise_email(email)}|"


def _keys(email: str, client: str | None) -> list[tuple[str, int]]:
    """The keys an attempt counts against, each with its free failures."""
    cfg = current_app.config
    address = client or UNKNOWN_CLIENT
    return [
        (_account_key(email) + address, int(cfg["LOGIN_FREE_FAILURES_PER_ACCOUNT"])),
        (CLIENT_KEY + address, int(cfg["LOGIN_FREE_FAILURES_PER_CLIENT"])),
    ]


def delay_after(failures: int, free: int) -> timedelta:
    """How long the next attempt waits after ``failures`` recent ones, ``free`` of them free:
    nothing at first, then ``LOGIN_FIRST_DELAY_SECONDS``, doubling with each further failure
    up to ``LOGIN_MAX_DELAY_SECONDS``."""
    if failures <= free:
        return timedelta(0)
    cfg = current_app.config
    first, cap = int(cfg["LOGIN_FIRST_DELAY_SECONDS"]), int(cfg["LOGIN_MAX_DELAY_SECONDS"])
    doublings = min(failures - free - 1, 32)  # 2**32 seconds is past any cap
    return timedelta(seconds=min(cap, first * 2**doublings))


def check_throttle(email: str, client: str | None, now: datetime | None = None) -> None:
    """Refuse an attempt that comes before the wait its key's recent failures impose.

    :raise Throttled: with the time left until the attempt would be taken.
    """
    now = _now(now)
    window = _window()
    waits = []
    for key, free in _keys(email, client):
        count, latest = db.session.execute(
            select(func.count(), func.max(LoginFailure.at))
            .where(LoginFailure.key == key, LoginFailure.at > now - window)
        ).one()
        if latest is None:
            continue
        until = latest + delay_after(count, free)
        if until > now:
            waits.append(until - now)
    if waits:
        raise Throttled(max(waits))


def record_failure(email: str, client: str | None, now: datetime | None = None) -> None:
    """Count one failed attempt against the account from this client, and against the
    client; purge expired failures."""
    now = _now(now)
    db.session.execute(delete(LoginFailure).where(LoginFailure.at <= now - _window()))
    for key, _free in _keys(email, client):
        db.session.add(LoginFailure(key=key, at=now))
    db.session.flush()


def clear_failures(email: str) -> None:
    """Forget the account's failures, from every client (the clients' own stay counted)."""
    db.session.execute(delete(LoginFailure).where(
        LoginFailure.key.startswith(_account_key(email), autoescape=True)))


def authenticate(email: str, password: str, client: str | None,
                 now: datetime | None = None) -> User:
    """Return the active user whose e-mail and password these are, for signing in.

    On success the account's failures are cleared, the sign-in time is recorded and a hash
    made with weaker parameters than today's is replaced. The caller commits in every case
    (failures must be stored too).

    The throttle and the account are read in a transaction of their own (``reading()``), and
    the password is checked after it has ended: on SQLite a write transaction holds the one
    write lock, and every other writer (survey submits) would wait out the slow hash. What the
    attempt writes comes after, in the request's own transaction; a password changed in between
    counts as a wrong one.

    :raise Throttled: too many recent failures; the password was not checked.
    :raise InvalidCredentials: unknown e-mail or wrong password (recorded as a failure).
    :raise AccountDeactivated: the password is right but the account is deactivated.
    """
    now = _now(now)
    with reading():
        check_throttle(email, client, now)
        found = db.session.execute(
            select(User.id, User.password_hash).where(User.email == normalise_email(email))
        ).one_or_none()
    if found is None:
        burn_verification_time(password)
        record_failure(email, client, now)
        raise InvalidCredentials()
    if not verify_password(found.password_hash, password):
        record_failure(email, client, now)
        raise InvalidCredentials()
    new_hash = hash_password(password) if needs_rehash(found.password_hash) else None
    user = db.session.get(User, found.id)
    if user is None or user.password_hash != found.password_hash:
        record_failure(email, client, now)
        raise InvalidCredentials()
    if not user.is_active:
        raise AccountDeactivated()
    if new_hash is not None:
        user.password_hash = new_hash
    clear_failures(user.email)
    user.last_login_at = now
    db.session.flush()
    return user


def change_password(user: User, current: str, new: str, client: str | None) -> User:
    """Give ``user`` a new password after checking their current one.

    Bumps ``session_version``, which ends every other session of the user; the caller signs
    the current session in again and commits (also after a failure, which is recorded).

    :raise Throttled: too many recent failures for the account or client.
    :raise WrongPassword: ``current`` is not the user's password (recorded as a failure).
    :raise PasswordRejected: ``new`` breaks the password policy.
    """
    check_throttle(user.email, client)
    if not verify_password(user.password_hash, current):
        record_failure(user.email, client)
        raise WrongPassword("Your current password is not right.")
    set_password(user, new)
    return user


def set_password(user: User, new: str) -> User:
    """Hash ``new`` as the user's password, end their sessions and forget their failures.

    :raise PasswordRejected: ``new`` breaks the password policy.
    """
    problems = password_problems(new, email=user.email, name=user.name,
                                organisation=current_app.config["ORGANISATION_NAME"])
    if problems:
        raise PasswordRejected(problems)
    user.password_hash = hash_password(new)
    user.session_version += 1
    clear_failures(user.email)
    db.session.flush()
    return user


def end_sessions(user: User) -> None:
    """Sign ``user`` out everywhere: bumping ``session_version`` makes every session cookie
    issued so far, copies included, name a version that is no longer current."""
    user.session_version += 1


def load_user(session_id: str) -> User | None:
    """Flask-Login's user loader: ``session_id`` is ``User.get_id()``, "<id>:<session version>".

    Returns None (signed out) for a malformed id, an unknown or deactivated user, or a
    session version that is no longer current (the password changed since).
    """
    try:
        user_id, version = (int(part) for part in session_id.split(":"))
    except ValueError:
        return None
    user = db.session.get(User, user_id)
    if user is None or user.session_version != version or not user.is_active:
        return None
    return user

