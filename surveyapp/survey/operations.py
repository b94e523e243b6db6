"""The survey's operations, by the names callers outside this package import.

The work lives in modules by job: ``reading.py`` finds an invitation and decides its page,
``answers.py`` parses what a page posts, ``storage.py`` saves drafts and submits. This module
only re-exports their public names, so that the demo data and the tests keep one import.
"""

from __future__ import annotations

from .answers import BadAnswers, Survey, merge_draft, parse_answers, survey_of
from .reading import (
    SurveyInvitation,
    SurveyRound,
    SurveyState,
    find_for_writing,
    find_invitation,
    read_invitation,
    survey_state,
)
from .storage import (
    AlreadySubmitted,
    SurveyError,
    save_answers,
    save_draft,
    store_response,
    submit_response,
)

__all__ = [
    "AlreadySubmitted", "BadAnswers", "Survey", "SurveyError", "SurveyInvitation", "SurveyRound",
    "SurveyState", "find_for_writing", "find_invitation", "merge_draft", "parse_answers",
    "read_invitation", "save_answers", "save_draft", "store_response", "submit_response",
    "survey_of", "survey_state",
]
