"""What every form shares: showing an operation's refusal beside the field it concerns."""

from __future__ import annotations

from flask_wtf import FlaskForm

from .domain import DomainError


def show_error(form: FlaskForm, error: DomainError) -> list[tuple[str | None, str]]:
    """Put ``error`` beside its field when it names one of ``form``'s; return it as a
    page-level problem (``[(None, message)]``) when it does not, for the error summary."""
    field = form._fields.get(error.field) if error.field else None
    if field is None:
        return [(None, str(error))]
    field.errors = [*field.errors, str(error)]
    return []
