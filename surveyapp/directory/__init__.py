"""The organisation directory: teams, people and the CSV import (HR), and a leader's teams.

``views`` holds the blueprint and the teams pages; ``people_views`` and ``import_views`` add
their routes to it.
"""

from . import import_views, people_views  # noqa: F401 (they register their routes on bp)
from .views import bp

__all__ = ["bp"]
