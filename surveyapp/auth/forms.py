"""Forms for signing in and for passwords (fields and validators only).

Whether a password is right, or strong enough, is decided by the operations, not here.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, EqualTo, Length

from ..email_addresses import MAX_EMAIL


def new_password_field(label: str = "New password",
                       missing: str = "Enter a new password.") -> PasswordField:
    return PasswordField(label, validators=[DataRequired(missing)])


def confirm_field() -> PasswordField:
    return PasswordField("Type the password again", validators=[
        DataRequired("Type the password again."),
        EqualTo("password", message="The two passwords are not the same. Type them again."),
    ])


class LoginForm(FlaskForm):
    email = EmailField("E-mail address", validators=[
        DataRequired("Enter your e-mail address."),
        Length(max=MAX_EMAIL, message=f"An e-mail address has {MAX_EMAIL} characters or fewer."),
    ])
    password = PasswordField("Password", validators=[DataRequired("Enter your password.")])


class SetPasswordForm(FlaskForm):
    password = new_password_field()
    confirm = confirm_field()


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[
        DataRequired("Enter your current password."),
    ])
    password = new_password_field()
    confirm = confirm_field()
