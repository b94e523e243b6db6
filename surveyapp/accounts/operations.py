"""Staff accounts: HR creates, edits, deactivates and reactivates users and sets passwords.

Each operation validates, changes, flushes and returns; the caller commits. A change that is
not allowed raises ``AccountError`` naming the form field it concerns.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import current_app
from sqlalchemy import func, select

from ..auth.operations import PasswordRejected, set_password
from ..auth.passwords import hash_password, password_problems
from ..domain import DomainError, one_line
from ..email_addresses import EmailNotValidError, normalise_email, validated_email
from ..extensions import db
from ..models import Role, Team, User


class AccountError(DomainError):
    """An account change that is not allowed; ``str(error)`` is the sentence to show.

    ``field`` is the name of the form field the sentence belongs beside (None: the whole form).
    """


class EmailTaken(AccountError):
    """Another user already has this e-mail address."""

    def __init__(self) -> None:
        super().__init__("There is already an account with this e-mail address.", "email")


def _for_someone_else(problems: list[str]) -> str:
    # The policy speaks to the person choosing their own password; HR is choosing for someone.
    return " ".join(problems).replace("Your password", "The password")


def checked_email(email: str, user: User | None = None) -> str:
    """Return ``email`` normalised, if it is a valid address that no other user has.

    :raise AccountError: (field "email") when it is not valid.
    :raise EmailTaken: when another user has it.
    """
    email = normalise_email(email)
    if user is not None and email == user.email:
        return email
    _refuse_taken(email, user)
    try:
        email = validated_email(email)
    except EmailNotValidError as error:
        raise AccountError(
            f"Enter an e-mail address in the right format, like name@example.org. {error}",
            "email",
        ) from error
    _refuse_taken(email, user)  # the validator may have normalised it (international domains)
    return email


def _refuse_taken(email: str, user: User | None) -> None:
    taken = db.session.scalar(select(User.id).where(User.email == email))
    if taken is not None and (user is None or taken != user.id):
        raise EmailTaken()


def _checked_name(name: str) -> str:
    name = one_line(name)
    if not name:
        raise AccountError("Enter the person's full name.", "name")
    return name


def _checked_teams(role: str, teams: Iterable[Team]) -> list[Team]:
    if role not in Role.ALL:
        raise AccountError("Choose a role.", "role")
    if role == Role.HR:
        return []  # HR admins see every team; leading some would mean nothing
    teams = list(teams)
    if not teams:
        raise AccountError("Choose at least one team that this leader leads.", "teams")
    return teams


def active_hr_ids() -> list[int]:
    """Return the ids of the active HR admins, locking their rows until the commit.

    The lock makes two admins who deactivate each other at the same moment queue, so that the
    second sees the first's change and the last admin stays (SQLite's write lock does the
    same for it).
    """
    return list(db.session.scalars(
        select(User.id)
        .where(User.role == Role.HR, User.is_active_account.is_(True))
        .order_by(User.id)
        .with_for_update()
    ))


def _keep_an_hr_admin(user: User) -> None:
    if user.role == Role.HR and user.is_active and active_hr_ids() == [user.id]:
        raise AccountError(
            f"{user.name} is the only active HR admin. Make someone else an HR admin first.",
            "role",
        )


def create_user(*, email: str, name: str, role: str, password: str,
                teams: Iterable[Team] = ()) -> User:
    """Add an active user. Leaders lead ``teams`` (at least one); HR admins lead none.

    :raise AccountError: a field is not valid, the e-mail is taken or the password is weak.
    """
    user_name = _checked_name(name)
    email = checked_email(email)
    teams = _checked_teams(role, teams)
    problems = password_problems(password, email=email, name=user_name,
                                organisation=current_app.config["ORGANISATION_NAME"])
    if problems:
        raise AccountError(_for_someone_else(problems), "password")
    user = User(email=email, name=user_name, role=role, password_hash=hash_password(password),
                teams=teams)
    db.session.add(user)
    db.session.flush()
    return user


def update_user(user: User, *, acting: User, email: str, name: str, role: str,
                teams: Iterable[Team] = ()) -> User:
    """Change a user's name, e-mail, role and teams.

    :raise AccountError: a field is not valid; ``acting`` changes their own role; or the
        change would leave no active HR admin.
    """
    name = _checked_name(name)
    email = checked_email(email, user)
    teams = _checked_teams(role, teams)
    if role != user.role:
        if user.id == acting.id:
            raise AccountError(
                "You cannot change your own role. Ask another HR admin to do it.", "role"
            )
        _keep_an_hr_admin(user)
    user.name, user.email, user.role, user.teams = name, email, role, teams
    db.session.flush()
    return user


def deactivate_user(user: User, *, acting: User) -> User:
    """Stop ``user`` from signing in and end their sessions; their teams stay assigned.

    :raise AccountError: ``acting`` deactivates themselves, or ``user`` is the last active
        HR admin.
    """
    if user.id == acting.id:
        raise AccountError("You cannot deactivate your own account.")
    if not user.is_active:
        return user
    _keep_an_hr_admin(user)
    user.is_active_account = False
    # A reactivated account must not bring back the sessions it had before.
    user.session_version += 1
    db.session.flush()
    return user


def reactivate_user(user: User) -> User:
    """Let a deactivated user sign in again (with the password they had)."""
    user.is_active_account = True
    db.session.flush()
    return user


def set_user_password(user: User, password: str) -> User:
    """Give ``user`` a new password chosen by HR; it ends their sessions and lifts a lock-out.

    :raise AccountError: (field "password") the password breaks the policy.
    """
    try:
        return set_password(user, password)
    except PasswordRejected as error:
        raise AccountError(_for_someone_else(error.problems), "password") from error


def teams_by_id(ids: Iterable[int]) -> list[Team]:
    """Return the teams with these ids (unknown ids are left out)."""
    ids = list(ids)
    if not ids:
        return []
    return list(db.session.scalars(select(Team).where(Team.id.in_(ids))))


def users_page(page: int, per_page: int):
    """Return one page of users: active ones first, then by name."""
    query = select(User).order_by(User.is_active_account.desc(), func.lower(User.name), User.id)
    return db.paginate(query, page=page, per_page=per_page)
