"""Error pages: every HTTP error renders in the site's layout; a 500 rolls back first.

Each page says what happened in plain words and what to do next; none shows internals.
"""

from __future__ import annotations

from flask import Flask, current_app, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from .extensions import db

MESSAGES = {
    400: ("Something in that request was not right", "Please go back and try again."),
    403: ("You do not have access to this page", "If you think you should, ask your HR team."),
    404: (
        "Page not found",
        "If you typed the address, check it. If you followed a link, it may be out of date.",
    ),
    405: ("That action is not allowed here", "Please go back and use the page's buttons."),
    413: ("That file is too large", "Files up to {max_mb} MB can be uploaded."),
    429: ("Too many attempts", "Please wait a few minutes and try again."),
    500: (
        "Sorry, something went wrong on our side",
        "Nothing you entered is lost. Try again in a moment.",
    ),
}
#: A form posted without a valid CSRF token, usually a page left open past the session's end.
EXPIRED_FORM = (
    "This page has expired",
    "For your security, forms stop working after a while. Go back, reload the page and try "
    "again.",
)


def render_error(code: int, title: str, advice: str):
    """Return the error page response for ``code``."""
    return render_template("errors/error.html", code=code, title=title, advice=advice), code


def register(app: Flask) -> None:
    """Install the error handlers on ``app``."""

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        return render_error(400, *EXPIRED_FORM)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        code = error.code or 500
        title, advice = MESSAGES.get(code, (error.name, error.description or ""))
        max_mb = (current_app.config["MAX_CONTENT_LENGTH"] or 0) // (1024 * 1024)
        return render_error(code, title, advice.format(max_mb=max_mb))

    @app.errorhandler(500)
    def internal_error(error):
        # The failed request may have left the session mid-transaction (on PostgreSQL, aborted):
        # roll back so that rendering the page, and the next request, start clean.
        db.session.rollback()
        return render_error(500, *MESSAGES[500])
