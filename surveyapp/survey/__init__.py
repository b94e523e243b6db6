"""The employee's survey, reached through a personal link: /s/<token>."""

from .views import bp

__all__ = ["bp"]
