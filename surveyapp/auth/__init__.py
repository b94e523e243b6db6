"""Signing in and out, and changing one's own password.

Importing this package registers the Flask-Login user loader (``operations.load_user``).
"""

from ..extensions import login_manager
from .operations import load_user
from .views import bp

login_manager.user_loader(load_user)

__all__ = ["bp", "load_user"]
