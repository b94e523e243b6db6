"""Signing in and out, and the account page where users change their own password."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf.csrf import generate_csrf

from ..directory.queries import load_tree
from ..extensions import db
from ..models import Role
from . import operations
from .forms import ChangePasswordForm, LoginForm
from .operations import (
    InvalidCredentials,
    PasswordRejected,
    SignInError,
    Throttled,
    WrongPassword,
    authenticate,
    end_sessions,
)

bp = Blueprint("auth", __name__)


def safe_next(target: str | None) -> str | None:
    """Return ``target`` if it is a path on this site, else None (no open redirects).

    Only "/path?query" is accepted: no scheme, no host, no "//host", no backslash (browsers
    read "/\\host" as "//host") and no control characters or spaces (browsers drop some).
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(c) <= 0x20 or ord(c) == 0x7F for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def _fresh_session() -> None:
    """Empty the session and give it a new CSRF token at once."""
    session.clear()
    # Flask-WTF caches the token in ``g``; it went with the session.
    g.pop("csrf_token", None)
    # Make the new token now, so that it travels in this response's cookie. Otherwise the
    # requests a browser sends next in parallel (a page and its favicon, other tabs) would
    # each make their own, the last cookie would win, and the page's form would be refused.
    generate_csrf()


def _sign_in(user) -> None:
    """Start a fresh session for ``user`` that lasts PERMANENT_SESSION_LIFETIME."""
    _fresh_session()
    login_user(user, remember=False)
    session.permanent = True


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in with e-mail and password, then go to ``?next=`` (a local path) or the start page.

    The same message answers an unknown e-mail and a wrong password; a throttled attempt gets
    a 429 with the wait, and its password is not checked.
    """
    next_url = safe_next(request.args.get("next"))
    if current_user.is_authenticated:
        return redirect(next_url or url_for("main.index"))
    form = LoginForm()
    problems: list[tuple[str | None, str]] = []
    status = 200
    if form.validate_on_submit():
        try:
            user = authenticate(form.email.data, form.password.data, request.remote_addr)
        except InvalidCredentials as error:
            form.password.errors.append(str(error))
        except Throttled as error:
            problems.append((None, str(error)))
            status = 429
        except SignInError as error:
            problems.append((None, str(error)))
        else:
            _sign_in(user)  # before the commit, which would expire the user's attributes
            db.session.commit()
            return redirect(next_url or url_for("main.index"))
        db.session.commit()  # the failure counts, whatever the worker
    return render_template(
        "auth/login.html", form=form, problems=problems, has_errors=bool(problems),
        next_url=next_url,
    ), status


@bp.post("/logout")
def logout():
    """Sign out and forget everything in the session. The session ends on the server too: a
    copy of the cookie taken before (or the same account signed in elsewhere) no longer works."""
    if current_user.is_authenticated:
        end_sessions(current_user._get_current_object())
        db.session.commit()
    logout_user()
    _fresh_session()
    flash("You have signed out.", "success")
    return redirect(url_for(".login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    """Show the user's account and let them change their password (current one required).

    A change ends every other session of the user; this one stays signed in.
    """
    user = current_user._get_current_object()
    form = ChangePasswordForm()
    problems: list[tuple[str | None, str]] = []
    status = 200
    if form.validate_on_submit():
        try:
            operations.change_password(
                user, form.current_password.data, form.password.data, request.remote_addr
            )
        except Throttled as error:
            problems.append((None, str(error)))
            status = 429
        except WrongPassword as error:
            form.current_password.errors.append(str(error))
            db.session.commit()  # the failure counts
        except PasswordRejected as error:
            form.password.errors.extend(error.problems)
            db.session.rollback()
        else:
            _sign_in(user)  # with the new session version: this session stays signed in
            db.session.commit()
            flash("Your password has been changed. Any other place where you were signed in "
                  "has been signed out.", "success")
            return redirect(url_for(".change_password"))
    teams = []
    if user.role == Role.LEADER and user.teams:
        tree = load_tree()
        teams = sorted(tree.path(team.id) for team in user.teams)
    return render_template(
        "auth/account.html", form=form, problems=problems, has_errors=bool(problems),
        user=user, teams=teams, role_label=Role.LABELS[user.role],
    ), status
