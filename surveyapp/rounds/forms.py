"""Forms for HR's round pages: fields and validators only; the rules live in operations.py."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, IntegerField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from ..database import MAX_ID
from ..domain import without_nul
from ..instrument import MAX_ADDED_PER_CAPABILITY, STATEMENT_MAX_LENGTH, Instrument
from .operations import DEFAULT_MIN_GROUP

#: Larger thresholds than this are surely a typing slip (and must fit the database's integer).
MAX_GROUP_SIZE = 10_000


def day_field(label: str, name: str) -> DateField:
    return DateField(
        label,
        validators=[InputRequired(f"Enter the {name}.")],
        invalid_value_message=f"Enter the {name} as a real date, for example 2026-11-23.",
    )


def group_size_field(label: str, name: str) -> IntegerField:
    return IntegerField(
        label,
        default=DEFAULT_MIN_GROUP,
        validators=[
            InputRequired(f"Enter the {name}."),
            NumberRange(max=MAX_GROUP_SIZE, message=f"Enter a {name} of {MAX_GROUP_SIZE} or less."),
        ],
        invalid_value_message=f"Enter the {name} as a whole number, for example 5.",
    )


class RoundForm(FlaskForm):
    """A draft round's settings. ``teams.choices`` is set by the view (the non-archived teams)."""

    name = StringField(
        "Name of the round", filters=[without_nul],  # no keyboard types NUL; PostgreSQL refuses it
        validators=[InputRequired("Enter a name for the round."),
                    Length(max=120, message="Enter a name of 120 characters or fewer.")],
    )
    teams = SelectMultipleField("Teams taking part", coerce=int, choices=[],
                                validate_choice=True,
                                validators=[DataRequired("Choose at least one team.")])
    opens_on = day_field("Opening date", "opening date")
    closes_on = day_field("Closing date", "closing date")
    min_group_size = group_size_field("Minimum group size for scores",
                                      "minimum group size for scores")
    min_comment_group_size = group_size_field("Minimum group size for comments",
                                              "minimum group size for comments")


class ExtendForm(FlaskForm):
    closes_on = day_field("New closing date", "new closing date")


class ScheduleReminderForm(FlaskForm):
    send_on = day_field("Day", "day")


class RemindForm(FlaskForm):
    """Start a reminder batch; ``batch`` is how many batches HR saw, to catch double clicks."""

    batch = IntegerField(validators=[Optional(), NumberRange(min=0, max=MAX_ID)])
    #: "1" from the "Resume the last reminder" button.
    resume = HiddenField()


def statement_text_field(label: str, *, required: bool, removable: bool = False) -> TextAreaField:
    """A statement's wording (the length rules are the instrument's, checked on saving)."""
    message = "Enter the statement, or remove it." if removable else "Enter the statement."
    checks = [InputRequired(message)] if required else [Optional()]
    return TextAreaField(
        label,
        validators=[*checks, Length(max=STATEMENT_MAX_LENGTH * 2,
                                    message=f"A statement can have at most "
                                            f"{STATEMENT_MAX_LENGTH} characters.")],
    )


def statements_form(instrument: Instrument, **kwargs) -> FlaskForm:
    """A form with one text field per statement and one "Add a statement" field per capability
    that can still take one. ``form.statement_fields`` maps statement keys to their fields and
    ``form.add_fields`` capability keys to theirs.
    """

    class StatementsForm(FlaskForm):
        pass

    names: dict[str, str] = {}
    add_names: dict[str, str] = {}
    for capability in instrument.capabilities:
        for number, statement in enumerate(capability.statements, start=1):
            name = "statement_" + statement.key.replace(".", "__")
            names[statement.key] = name
            setattr(StatementsForm, name, statement_text_field(
                f"{capability.name}, statement {number}", required=True,
                removable=statement.added))
        if sum(s.added for s in capability.statements) < MAX_ADDED_PER_CAPABILITY:
            add_names[capability.key] = "add_" + capability.key
            setattr(StatementsForm, add_names[capability.key], statement_text_field(
                f"Add a statement to {capability.name}", required=False))
    data = {names[s.key]: s.text for s in instrument.statements}
    form = StatementsForm(data=data, **kwargs)
    form.statement_fields = {key: form[name] for key, name in names.items()}
    form.add_fields = {key: form[name] for key, name in add_names.items()}
    return form
