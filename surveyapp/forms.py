"""What every form shares: showing an operation's refusal beside the field it concerns."""

from __future__ import annotations

from flask_wtf import FlaskForm

from .domain import DomainError


def show_error(form: FlaskForm, error: DomainError) -> list[tuple[str | None, str]]:
    """Put ``error`` beside its field when it names one of ``form``'s; return it as a
    page-level problem (``[(None, message)]``) when it does not, for the error summary."""
    if not error.field or error.field not in form:
        return [(None, str(error))]
    field = form[error.field]
    field.errors = [*field.errors, str(error)]
    return []
