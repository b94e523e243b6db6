"""Results for leaders and HR: dashboard, PDF and CSV, all under one set of confidentiality rules."""

from .views import bp

__all__ = ["bp"]
