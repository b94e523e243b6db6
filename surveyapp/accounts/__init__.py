"""Staff accounts: HR creates leaders and HR admins and assigns leaders to teams."""

from .views import bp

__all__ = ["bp"]
