"""The organisation directory: teams, people and the CSV import (HR)."""

from .views import bp

__all__ = ["bp"]
