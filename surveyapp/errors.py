"""Error pages: 403, 404, 405, 413 and 500 render in the site's layout; a 500 rolls back."""

from __future__ import annotations

from flask import Flask, render_template
from werkzeug.exceptions import HTTPException

from .extensions import db

MESSAGES = {
    400: ("Something in that request was not right", "Please go back and try again."),
    403: ("You do not have access to this page", "If you think you should, ask your HR team."),
    404: ("Page not found", "Check the address, or go back to the start page."),
    405: ("That action is not allowed here", "Please go back and use the page's buttons."),
    413: ("That file is too large", "Files up to 16 MB can be uploaded."),
    429: ("Too many attempts", "Please wait a few minutes and try again."),
    500: ("Sorry, something went wrong on our side", "Nothing you entered is lost. Try again in a moment."),
}


def register(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        title, advice = MESSAGES.get(error.code or 500, (error.name, error.description))
        return (
            render_template("errors/error.html", code=error.code, title=title, advice=advice),
            error.code,
        )

    @app.errorhandler(500)
    def internal_error(error):
        db.session.rollback()
        title, advice = MESSAGES[500]
        return render_template("errors/error.html", code=500, title=title, advice=advice), 500
