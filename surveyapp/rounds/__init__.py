"""Rounds: HR creates, launches and closes them, sends invitations and reminders."""

from .views import bp

__all__ = ["bp"]
