"""Signing in and out, and changing one's own password.

Importing this package registers the Flask-Login user loader (``operations.load_user``).
"""

from flask_login import current_user

from ..extensions import login_manager
from .operations import load_user
from .views import bp

login_manager.user_loader(load_user)


def current_user_for_templates() -> dict:
    """The template context's ``current_user``: Flask-Login's proxy, which loads the user only
    when a template reads it (create_app registers this instead of Flask-Login's own context
    processor, which loads the user before every template, whether it is shown or not)."""
    return {"current_user": current_user}


__all__ = ["bp", "current_user_for_templates", "load_user"]
