"""Forms of the directory pages: fields and their simple checks only; the rules live in operations.

Team selects carry team ids; their choices are set by the view from the current tree.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from ..email_addresses import MAX_EMAIL
from .csv_import import MAX_ATTRIBUTE, MAX_NAME, MAX_TEAM_NAME

#: The value of "no parent" in the parent select.
TOP_LEVEL = 0


class TeamForm(FlaskForm):
    name = StringField("Team name", validators=[
        DataRequired("Enter a name for the team."),
        Length(max=MAX_TEAM_NAME, message=f"The team name must be {MAX_TEAM_NAME} characters or fewer."),
    ])
    parent_id = SelectField("Part of", coerce=int,
                            validators=[InputRequired("Choose where the team belongs.")])


class PersonForm(FlaskForm):
    name = StringField("Full name", validators=[
        DataRequired("Enter the person's name."),
        Length(max=MAX_NAME, message=f"The name must be {MAX_NAME} characters or fewer."),
    ])
    email = StringField("E-mail address", validators=[
        DataRequired("Enter an e-mail address."),
        Length(max=MAX_EMAIL, message=f"The e-mail address must be {MAX_EMAIL} characters or fewer."),
    ])
    team_id = SelectField("Team", coerce=int, validators=[InputRequired("Choose a team.")])
    location = StringField("Location (optional)", validators=[
        Optional(),
        Length(max=MAX_ATTRIBUTE, message=f"The location must be {MAX_ATTRIBUTE} characters or fewer."),
    ])
    role_level = StringField("Role level (optional)", validators=[
        Optional(),
        Length(max=MAX_ATTRIBUTE, message=f"The role level must be {MAX_ATTRIBUTE} characters or fewer."),
    ])
    tenure_band = StringField("Tenure band (optional)", validators=[
        Optional(),
        Length(max=MAX_ATTRIBUTE, message=f"The tenure band must be {MAX_ATTRIBUTE} characters or fewer."),
    ])


class UploadForm(FlaskForm):
    file = FileField("CSV file", validators=[FileRequired("Choose a CSV file to upload.")])


class ApplyImportForm(FlaskForm):
    """The preview's "Apply these changes": which file, and the fingerprints of what was shown."""

    sha256 = HiddenField(validators=[DataRequired()])
    digest = HiddenField(validators=[DataRequired()])


class ActionForm(FlaskForm):
    """A button that changes something (archive, unarchive): only the CSRF token."""
