"""What every layer shares about refusing a request: one error type and one way to tidy text.

Operations raise :class:`DomainError` (or a subclass) when a change is not allowed; its message is
the sentence to show the user and ``field`` the form field it belongs beside. Views put it there
with :func:`surveyapp.forms.show_error`.
"""

from __future__ import annotations


class DomainError(Exception):
    """A change the domain refuses; ``str(error)`` is the sentence to show, for the user.

    ``field`` names the form field at fault (``"name"``, ``"closes_on"``), so a form can show the
    message beside it; None when no single field is.
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def without_nul(text: str | None) -> str:
    """Return ``text`` without NUL characters, which PostgreSQL can neither store nor compare
    (None becomes "")."""
    return (text or "").replace("\x00", "")


def one_line(text: str | None) -> str:
    """Return ``text`` without NUL characters, its runs of white space (line breaks included)
    made one space, and trimmed: how names and titles are stored."""
    return " ".join(without_nul(text).split())
