"""``flask --app surveyapp create-admin``: the first HR admin (and a way back in)."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from ..extensions import db
from ..models import Role
from .operations import AccountError, EmailTaken, checked_email, create_user


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        # One line, as `echo "$PASSWORD" | flask create-admin ... --password-stdin` sends it.
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt="Type it again")


@click.command("create-admin")
@click.option("--email", required=True, help="The admin's e-mail address, used to sign in.")
@click.option("--name", default="", help="The admin's full name (default: from the e-mail).")
@click.option("--password-stdin", is_flag=True,
              help="Read the password from the first line of standard input, without prompting.")
@with_appcontext
def create_admin_command(email: str, name: str, password_stdin: bool) -> None:
    """Create an HR admin account. The password is asked twice, hidden.

    Exits with status 1, changing nothing, when the e-mail address is not valid or already has
    an account, or when the password is too short or too common.
    """
    name = name.strip() or email.split("@")[0].strip() or email
    try:
        checked_email(email)  # before asking for a password that could not be used
        password = _read_password(password_stdin)
        user = create_user(email=email, name=name, role=Role.HR, password=password)
    except EmailTaken as error:
        db.session.rollback()
        raise click.ClickException(
            f"There is already an account with the e-mail address {email.strip()}. "
            "Nothing was changed. To give it a new password, sign in as another HR admin "
            "and use Staff accounts."
        ) from error
    except AccountError as error:
        db.session.rollback()
        raise click.ClickException(f"{error} Nothing was changed.") from error
    db.session.commit()
    click.echo(f"HR admin {user.name} <{user.email}> created. Sign in at "
               f"{current_app.config['BASE_URL'].rstrip('/')}/login with this e-mail address "
               "and the password you chose.")
