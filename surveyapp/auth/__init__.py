"""Signing in and out, and changing one's own password.

Importing this package registers the Flask-Login user loader (``session_user``).
"""

from flask import session
from flask_login import current_user

from ..extensions import login_manager
from ..models import User
from .operations import load_user
from .views import bp


@login_manager.user_loader
def session_user(session_id: str) -> User | None:
    """The signed-in user of a session this application started, or None.

    Signing in marks the session permanent (it lasts ``PERMANENT_SESSION_LIFETIME``). Flask-Login
    would also sign a visitor in from a remember-me cookie, starting a session of its own; this
    application offers no remember-me and never sets one, so such a cookie signs no one in.
    """
    return load_user(session_id) if session.permanent else None


def current_user_for_templates() -> dict:
    """The template context's ``current_user``: Flask-Login's proxy, which loads the user only
    when a template reads it (create_app registers this instead of Flask-Login's own context
    processor, which loads the user before every template, whether it is shown or not)."""
    return {"current_user": current_user}


__all__ = ["bp", "current_user_for_templates", "load_user", "session_user"]
