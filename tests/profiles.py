"""Hypothesis profiles: "ci", the full run, and "quick" for the inner loop (scripts/test --quick),
chosen with SURVEYAPP_HYPOTHESIS_PROFILE. A property test states how many examples the full run
tries with ``examples(n)``; the quick profile tries a tenth of that."""

from __future__ import annotations

import os

from hypothesis import settings

QUICK_SHARE = 10

settings.register_profile("ci", deadline=None, print_blob=True)
settings.register_profile("quick", parent=settings.get_profile("ci"))
PROFILE = os.environ.get("SURVEYAPP_HYPOTHESIS_PROFILE", "ci")
settings.load_profile(PROFILE)


def examples(n: int) -> int:
    """How many examples a property test with ``n`` examples in the full run tries now."""
    return n if PROFILE != "quick" else max(5, n // QUICK_SHARE)
