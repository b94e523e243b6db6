"""Signing in: checking a password, throttling failures, loading the signed-in user.

Failed sign-ins are stored in the database (``LoginFailure``), one row per key: the account
(``account:<email>``) and the client address (``client:<address>``). Every worker and every
host behind the proxy therefore counts the same failures. A throttled attempt is refused before
the password is checked, so that guessing gains nothing; an unknown e-mail address is counted,
answered and timed exactly like a wrong password, so that the page reveals no accounts.

Attempts in flight at the same moment can each pass the check before any of their failures is
stored, so a burst can exceed a limit by the number of parallel requests; the next attempt
after it is refused all the same.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import delete, select

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
    """Too many recent failures for this account or this client; nothing was checked."""

    def __init__(self, retry_after: timedelta) -> None:
        self.minutes = max(1, math.ceil(retry_after.total_seconds() / 60))
        unit = "minute" if self.minutes == 1 else "minutes"
        super().__init__(
            f"Too many failed sign-in attempts. Try again in {self.minutes} {unit}."
        )


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


def _keys(email: str, client: str | None) -> list[tuple[str, int]]:
    cfg = current_app.config
    return [
        (ACCOUNT_KEY + normalise_email(email), int(cfg["LOGIN_MAX_FAILURES_PER_ACCOUNT"])),
        (CLIENT_KEY + (client or UNKNOWN_CLIENT), int(cfg["LOGIN_MAX_FAILURES_PER_CLIENT"])),
    ]


def check_throttle(email: str, client: str | None, now: datetime | None = None) -> None:
    """Refuse an attempt when the account or the client has had too many recent failures.

    :raise Throttled: with the time until the oldest counted failure leaves the window.
    """
    now = _now(now)
    window = _window()
    waits = []
    for key, limit in _keys(email, client):
        times = db.session.scalars(
            select(LoginFailure.at)
            .where(LoginFailure.key == key, LoginFailure.at > now - window)
            .order_by(LoginFailure.at.desc())
            .limit(limit)
        ).all()
        if len(times) >= limit:
            # The attempt is allowed again once the limit-th newest failure leaves the window.
            waits.append(times[-1] + window - now)
    if waits:
        raise Throttled(max(waits))


def record_failure(email: str, client: str | None, now: datetime | None = None) -> None:
    """Count one failed attempt against the account and the client; purge expired failures."""
    now = _now(now)
    db.session.execute(delete(LoginFailure).where(LoginFailure.at <= now - _window()))
    for key, _limit in _keys(email, client):
        db.session.add(LoginFailure(key=key, at=now))
    db.session.flush()


def clear_failures(email: str) -> None:
    """Forget the account's failures (the client's stay counted)."""
    db.session.execute(
        delete(LoginFailure).where(LoginFailure.key == ACCOUNT_KEY + normalise_email(email))
    )


def authenticate(email: str, password: str, client: str | None,
                 now: datetime | None = None) -> User:
    """Return the active user whose e-mail and password these are, for signing in.

    On success the account's failures are cleared, the sign-in time is recorded and a hash
    made with weaker parameters than today's is replaced. The caller commits in every case
    (failures must be stored too).

    :raise Throttled: too many recent failures; the password was not checked.
    :raise InvalidCredentials: unknown e-mail or wrong password (recorded as a failure).
    :raise AccountDeactivated: the password is right but the account is deactivated.
    """
    now = _now(now)
    check_throttle(email, client, now)
    user = db.session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        burn_verification_time(password)
        record_failure(email, client, now)
        raise InvalidCredentials()
    if not verify_password(user.password_hash, password):
        record_failure(email, client, now)
        raise InvalidCredentials()
    if not user.is_active:
        raise AccountDeactivated()
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
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

