"""What a survey accepts: a round's instrument made ready for its pages, and posted answers.

``survey_of`` parses a round's instrument once per worker (``Survey``); ``parse_answers``
reads a posted step against it, refusing anything no page of ours could send; ``merge_draft``
folds a step's answers into those saved before. No database here: plain values in and out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from werkzeug.datastructures import MultiDict

from ..instrument import COMMENT_MAX_LENGTH, Instrument
from ..sealing import sealed_size
from .steps import Step, steps_of


class BadAnswers(ValueError):
    """Posted answers that no form of ours could send (tampered or broken input)."""


@dataclass(frozen=True)
class Survey:
    """A round's instrument made ready for its pages: parsed and cut into steps once per worker
    (``survey_of``), with the keys that posted answers are checked against."""

    instrument: Instrument
    steps: tuple[Step, ...]
    #: In survey order.
    statement_keys: tuple[str, ...]
    question_keys: tuple[str, ...]
    scale_values: frozenset[int]
    #: The length of every sealed draft and pending response of the survey.
    sealed_size: int

    @classmethod
    def of(cls, instrument: Instrument) -> Survey:
        return cls(instrument=instrument, steps=tuple(steps_of(instrument)),
                   statement_keys=instrument.statement_keys,
                   question_keys=tuple(q.key for q in instrument.questions),
                   scale_values=frozenset(instrument.scale_values),
                   sealed_size=sealed_size(instrument.statement_keys,
                                           [q.key for q in instrument.questions],
                                           COMMENT_MAX_LENGTH))


@lru_cache(maxsize=32)
def survey_of(instrument_json: str) -> Survey:
    """Return the survey of a round's instrument, given as stored (JSON text).

    Cached by the text itself: a worker parses a launched round's instrument once, and an
    edited one (a draft round's, in HR's preview) is never served stale.

    :raise InstrumentError: when the stored instrument is malformed.
    """
    return Survey.of(Instrument.from_dict(json.loads(instrument_json)))


def parse_answers(survey: Survey, form: Mapping[str, str]) -> tuple[dict, dict]:
    """Read statement answers and comments from a posted form.

    Fields named ``s:<statement key>`` hold a scale value; ``q:<question key>`` a comment,
    tidied by ``comment_text``. Unknown fields are ignored (the CSRF token, buttons); empty
    ones mean "not answered".

    :raise BadAnswers: a value off the scale, a comment over the length limit, or a statement
        or question sent twice (a MultiDict's ``items()`` would silently keep the first).
    :return: ({statement key: value}, {question key: text})
    """
    keys = set(survey.statement_keys)
    questions = set(survey.question_keys)
    answers: dict[str, int] = {}
    comments: dict[str, str] = {}
    seen: set[str] = set()
    items = form.items(multi=True) if isinstance(form, MultiDict) else form.items()
    for name, raw in items:
        kind, _, key = name.partition(":")
        if (kind == "s" and key in keys) or (kind == "q" and key in questions):
            if name in seen:
                raise BadAnswers("The same statement or question was answered twice.")
            seen.add(name)
        if kind == "s" and key in keys and raw != "":
            answers[key] = _scale_value(survey, raw)
        elif kind == "q" and key in questions:
            comments[key] = _comment(raw)
    return answers, comments


def _scale_value(survey: Survey, raw: str) -> int:
    """:raise BadAnswers: unless ``raw`` is a point of the survey's scale."""
    try:
        value = int(raw)
    except ValueError:
        raise BadAnswers(f"{raw!r} is not a point on the scale.") from None
    if value not in survey.scale_values:
        raise BadAnswers(f"{value} is not a point on the scale.")
    return value


def _comment(raw: str) -> str:
    """:raise BadAnswers: when ``raw`` is longer than a comment may be, once tidied."""
    text = comment_text(raw)
    if len(text) > COMMENT_MAX_LENGTH:
        raise BadAnswers(f"A comment can have at most {COMMENT_MAX_LENGTH} characters.")
    return text


def comment_text(raw: str) -> str:
    """Return a typed comment as stored: Windows line breaks made ``\\n``, every control
    character but newlines and tabs dropped, and trimmed.

    More than ``surveyapp.domain.without_nul``, on purpose: no keyboard types the others,
    PostgreSQL cannot store NUL, and a sealed value has room for every comment only if it holds
    no control character JSON would escape at six bytes (``sealing.BYTES_PER_CHARACTER``).
    """
    return _CONTROL.sub("", raw.replace("\r\n", "\n")).strip()


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def merge_draft(saved_answers: Mapping[str, int], saved_comments: Mapping[str, str],
                answers: Mapping[str, int], comments: Mapping[str, str]) -> tuple[dict, dict]:
    """Return a draft's answers and comments after a post: answers not posted are kept; a
    comment posted empty is cleared."""
    merged = {**saved_comments, **comments}
    return {**saved_answers, **answers}, {k: v for k, v in merged.items() if v}
