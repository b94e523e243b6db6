"""Tallies: the integer counts behind every score of a set of responses.

``score_tally`` (scores.py) needs only how many responses there are and how many answers each
statement got on each point of the scale: every published figure is a function of those counts
(docs/SECURITY.md, "The figures and why they are safe together"). Counts of disjoint sets of
responses add up exactly: a group's tally is the sum of its teams' tallies, and a closed round
keeps one tally per team instead of reading every answer again for every report
(surveyapp/rounds/tallies.py).

A tally is a flat list of integers whose places the instrument decides (``Layout``): place 0
counts the responses, then each statement in the instrument's order has five places, its 1s
to its 5s. Adding two tallies is adding two lists and storing one is storing a list. A tally
of one response holds exactly that response's answers: tallies are as confidential as the
responses themselves and are only ever shown through the confidentiality rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from ..instrument import Instrument

#: Points of the answer scale (as ``scores.distribution`` counts them).
POINTS = 5


@dataclass(frozen=True)
class Layout:
    """The places of one instrument's counts in a tally."""

    size: int
    #: Statement key -> place of its answers on each scale point (the 1s first).
    statements: Mapping[str, int]


@lru_cache(maxsize=64)
def layout_of(instrument: Instrument) -> Layout:
    """The layout of tallies of ``instrument`` (place 0 counts the responses).

    :raise ValueError: for a scale of other than five points (the reports' distributions have
        five).
    """
    if len(instrument.scale) != POINTS:
        raise ValueError(f"tallies need a scale of {POINTS} points")
    statements = {s.key: 1 + POINTS * i for i, s in enumerate(instrument.statements)}
    return Layout(1 + POINTS * len(statements), statements)


class Tally:
    """Counts over a set of responses (see the module docstring)."""

    __slots__ = ("layout", "values")

    def __init__(self, layout: Layout, values: list[int] | None = None):
        if values is not None and len(values) != layout.size:
            raise ValueError(f"a tally of this instrument has {layout.size} places, "
                             f"not {len(values)}")
        self.layout = layout
        self.values = values if values is not None else [0] * layout.size

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Tally) and (self.layout, self.values) == (other.layout,
                                                                            other.values)

    def __repr__(self) -> str:
        return f"<Tally of {self.responses} responses>"

    @property
    def responses(self) -> int:
        return self.values[0]

    def add(self, other: Tally) -> Tally:
        """Add ``other`` into this tally (in place) and return it.

        :raise ValueError: when the tallies come from instruments of different shapes.
        """
        if other.layout != self.layout:
            raise ValueError("tallies of different instruments cannot be added")
        self.values = [a + b for a, b in zip(self.values, other.values, strict=True)]
        return self

    def add_response(self, answers: Mapping[str, int]) -> None:
        """Count one response (statement key -> value on the scale; other keys are ignored)."""
        values, places = self.values, self.layout.statements
        values[0] += 1
        for key, value in answers.items():
            at = places.get(key)
            if at is not None:
                values[at + value - 1] += 1

    def counts(self, statement_key: str) -> list[int]:
        """The statement's answers on each point of the scale (the 1s first)."""
        at = self.layout.statements[statement_key]
        return self.values[at:at + POINTS]

    def answered(self, statement_key: str) -> int:
        """How many responses answered the statement."""
        at = self.layout.statements[statement_key]
        return sum(self.values[at:at + POINTS])


def tally(instrument: Instrument, responses: Iterable[Mapping[str, int]]) -> Tally:
    """The tally of ``responses`` (each a mapping of statement key to value)."""
    result = Tally(layout_of(instrument))
    for answers in responses:
        result.add_response(answers)
    return result


def total(instrument: Instrument, tallies: Iterable[Tally]) -> Tally:
    """The sum of ``tallies`` as a new tally (an empty one when there are none)."""
    result = Tally(layout_of(instrument))
    for part in tallies:
        result.add(part)
    return result


def sum_of(layout: Layout, tallies: Sequence[Tally]) -> Tally:
    """The sum of ``tallies`` (all of ``layout``) as a new tally, in one pass."""
    if not tallies:
        return Tally(layout)
    if len(tallies) == 1:
        return Tally(layout, list(tallies[0].values))
    return Tally(layout, [sum(column) for column in zip(*(t.values for t in tallies),
                                                        strict=True)])
