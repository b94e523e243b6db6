"""Editing the statements of a draft round: rewording them, adding some, removing an added one.

HR edits every statement of a draft on one page. ``edit_statements`` works out what the page
asks to change and applies all of it, or nothing when any edit is refused, so that HR can
correct that one with everything else they typed intact. ``changes_from_published`` says how
far a round's statements have moved from the published instrument.

Refusals name what they concern by the instrument's own keys (a statement's, or a
capability's for an addition), which the instrument keeps distinct; a view puts each beside
the field that edits it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from operator import methodcaller

from ..domain import DomainError, one_line
from ..instrument import Instrument, InstrumentError, load_default
from ..models import Round
from .operations import edit_instrument

#: One edit: the key its refusal is shown beside (None: no statement of that key), and the
#: change itself, Instrument -> Instrument.
Edit = tuple[str | None, Callable[[Instrument], Instrument]]


@dataclass(frozen=True)
class StatementEdits:
    """What HR sent from a draft's statements page.

    ``wordings``: each statement's wording as typed, by statement key (a wording that is
    unchanged once tidied changes nothing); ``additions``: a new statement's wording by
    capability key (blank: none); ``remove``: the key of an added statement to remove, whose
    wording is then ignored.
    """

    wordings: Mapping[str, str]
    additions: Mapping[str, str] = field(default_factory=dict)
    remove: str | None = None


class EditsRefused(DomainError):
    """Some edits are refused, so none is made.

    ``refusals`` holds one ``DomainError`` per refused edit, whose ``field`` is the key of the
    statement reworded or removed, or of the capability a statement was added to (None when
    asked to remove a statement that does not exist). The message is the first refusal's.
    """

    def __init__(self, refusals: list[DomainError]):
        super().__init__(str(refusals[0]))
        self.refusals = tuple(refusals)


def edit_statements(round_: Round, edits: StatementEdits) -> Round:
    """Apply ``edits`` to a draft round's instrument (``edited``) and flush.

    :raise RoundError: when the round is not a draft.
    :raise EditsRefused: when any edit is refused; the round is left as it was.
    """
    return edit_instrument(round_, lambda instrument: edited(instrument, edits))


def edited(instrument: Instrument, edits: StatementEdits) -> Instrument:
    """Return ``instrument`` with ``edits`` made: the rewordings, then the additions, then the
    removal.

    Each edit is tried after those before it that were not refused, so that every refusal is
    found at once, not one per attempt.

    :raise EditsRefused: listing every refused edit.
    """
    current, refusals = instrument, []
    for key, change in _edits(instrument, edits):
        try:
            current = change(current)
        except InstrumentError as error:
            refusals.append(DomainError(str(error), key))
    if refusals:
        raise EditsRefused(refusals)
    return current


def _edits(instrument: Instrument, edits: StatementEdits) -> list[Edit]:
    """The changes ``edits`` asks for, each with the key its refusal belongs to."""
    saved = {s.key: s.text for s in instrument.statements}
    changes: list[Edit] = []
    for key, typed in edits.wordings.items():
        text = one_line(typed)  # as the instrument stores it, so an unchanged one is skipped
        if key != edits.remove and text != saved.get(key):
            changes.append((key, methodcaller("with_statement_text", key, text)))
    for capability_key, typed in edits.additions.items():
        if (typed or "").strip():
            changes.append((capability_key,
                            methodcaller("with_added_statement", capability_key, typed)))
    if edits.remove:
        refused_on = edits.remove if edits.remove in saved else None
        changes.append((refused_on, methodcaller("without_statement", edits.remove)))
    return changes


def changes_from_published(instrument: Instrument) -> tuple[int, int]:
    """(statements reworded, statements added) compared with the published instrument."""
    published = {s.key: s.text for s in load_default().statements}
    reworded = sum(1 for s in instrument.statements
                   if s.key in published and published[s.key] != s.text)
    return reworded, sum(1 for s in instrument.statements if s.added)
