"""Forms for staff accounts (fields and validators only; the rules live in operations)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from sqlalchemy import String
from wtforms import EmailField, RadioField, SelectChoice, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from ..auth.forms import confirm_field, new_password_field
from ..email_addresses import MAX_EMAIL
from ..models import Role, User

_name_type = User.__table__.c.name.type
if not isinstance(_name_type, String) or _name_type.length is None:
    raise TypeError("User.name must be a String of a set length")
NAME_MAX: int = _name_type.length


class CheckboxListField(SelectMultipleField):
    """Several choices as a list of checkboxes; choices are set by the view."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class UserForm(FlaskForm):
    name = StringField("Full name", validators=[
        DataRequired("Enter the person's full name."),
        Length(max=NAME_MAX, message=f"A name has {NAME_MAX} characters or fewer."),
    ])
    email = EmailField("E-mail address", validators=[
        DataRequired("Enter their e-mail address."),
        Length(max=MAX_EMAIL, message=f"An e-mail address has {MAX_EMAIL} characters or fewer."),
    ])
    role = RadioField(
        "Role", choices=[SelectChoice(role, Role.LABELS[role]) for role in (Role.LEADER, Role.HR)],
        invalid_choice_message="Choose a role.",
    )
    teams = CheckboxListField(
        "Teams they lead", coerce=int, choices=[],
        invalid_choice_message="Choose teams from the list.",
    )


class NewUserForm(UserForm):
    password = new_password_field("Password", "Enter a password for them.")
    confirm = confirm_field()
