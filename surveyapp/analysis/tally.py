"""Tallies: the integer sums behind every score of a set of responses.

``score_group`` (scores.py) needs only counts and sums, never the individual responses: how
many answers each statement got on each point of the scale, and per capability the number of
respondents with a score with the sums of their scores and of their squares (and the same for
the respondents who answered every statement, for Cronbach's alpha, and for the respondents'
own indexes). Those sums are kept as integers, scaled where a score is a fraction, so that
tallies of disjoint sets of responses add up exactly: a group's tally is the sum of its teams'
tallies, and a closed round keeps one tally per team instead of reading every answer again for
every report (surveyapp/rounds/tallies.py).

A tally is a flat list of integers whose places the instrument decides (``Layout``), so that
adding two tallies is adding two lists and storing one is storing a list. A tally of one
response holds exactly that response's answers: tallies are as confidential as the responses
themselves and are only ever shown through the confidentiality rules.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from ..instrument import Instrument

#: Points of the answer scale (as ``scores.distribution`` counts them).
POINTS = 5


@dataclass(frozen=True)
class CapabilityPlaces:
    """Where a capability's sums sit in a tally."""

    key: str
    statement_keys: tuple[str, ...]
    #: Fewest statements answered for a capability score (half of them, rounded up).
    least: int
    #: [respondents, sum of their sums S, sum of S squared] for each number of statements
    #: answered, from ``least`` to all.
    scores: int
    #: [respondents who answered every statement, sum and sum of squares of their totals,
    #: then each statement's sum and sum of squares]: Cronbach's alpha.
    complete: int


@dataclass(frozen=True)
class Layout:
    """The places of one instrument's sums in a tally."""

    size: int
    #: A number that every count of answered statements of a capability divides: a
    #: respondent's own index × unit × capabilities scored is then an integer.
    unit: int
    #: Statement key -> place of its answers on each scale point (the 1s first).
    statements: Mapping[str, int]
    capabilities: tuple[CapabilityPlaces, ...]
    #: [respondents, sum of I, sum of I squared] for each number of capabilities scored (from
    #: one), where I = own index × unit × capabilities scored.
    own_index: int


@lru_cache(maxsize=64)
def layout_of(instrument: Instrument) -> Layout:
    """The layout of tallies of ``instrument`` (place 0 counts the responses).

    :raise ValueError: for a scale of other than five points (the reports' distributions have
        five).
    """
    if len(instrument.scale) != POINTS:
        raise ValueError(f"tallies need a scale of {POINTS} points")
    place = 1
    statements = {}
    for statement in instrument.statements:
        statements[statement.key] = place
        place += POINTS
    capabilities = []
    for capability in instrument.capabilities:
        keys = tuple(s.key for s in capability.statements)
        least = (len(keys) + 1) // 2
        scores = place
        place += 3 * (len(keys) - least + 1)
        capabilities.append(CapabilityPlaces(capability.key, keys, least, scores, place))
        place += 3 + 2 * len(keys)
    own_index = place
    place += 3 * len(capabilities)
    unit = math.lcm(*range(1, max(len(c.statement_keys) for c in capabilities) + 1))
    return Layout(place, unit, statements, tuple(capabilities), own_index)


class Tally:
    """Sums over a set of responses (see the module docstring)."""

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
        """Count one response (statement key -> value on the scale)."""
        values, layout = self.values, self.layout
        values[0] += 1
        own, scored = 0, 0
        for capability in layout.capabilities:
            answered = [answers[k] for k in capability.statement_keys if k in answers]
            for key in capability.statement_keys:
                if key in answers:
                    values[layout.statements[key] + answers[key] - 1] += 1
            if len(answered) < capability.least or not answered:
                continue  # a capability score needs half its statements (scores.py)
            total = sum(answered)
            at = capability.scores + 3 * (len(answered) - capability.least)
            values[at] += 1
            values[at + 1] += total
            values[at + 2] += total * total
            own += total * (layout.unit // len(answered))
            scored += 1
            if len(answered) == len(capability.statement_keys):
                at = capability.complete
                values[at] += 1
                values[at + 1] += total
                values[at + 2] += total * total
                for i, value in enumerate(answered):
                    values[at + 3 + 2 * i] += value
                    values[at + 4 + 2 * i] += value * value
        if scored:
            at = layout.own_index + 3 * (scored - 1)
            values[at] += 1
            values[at + 1] += own
            values[at + 2] += own * own

    def counts(self, statement_key: str) -> list[int]:
        """The statement's answers on each point of the scale (the 1s first)."""
        at = self.layout.statements[statement_key]
        return self.values[at:at + POINTS]

    def scored(self, capability: CapabilityPlaces) -> dict[int, tuple[int, int, int]]:
        """(respondents, sum, sum of squares) of capability sums, by statements answered."""
        n = len(capability.statement_keys)
        out = {}
        for answered in range(capability.least, n + 1):
            at = capability.scores + 3 * (answered - capability.least)
            if self.values[at]:
                out[answered] = (self.values[at], self.values[at + 1], self.values[at + 2])
        return out

    def own_indexes(self) -> dict[int, tuple[int, int, int]]:
        """(respondents, sum of I, sum of I squared) by capabilities scored (see Layout)."""
        out = {}
        for scored in range(1, len(self.layout.capabilities) + 1):
            at = self.layout.own_index + 3 * (scored - 1)
            if self.values[at]:
                out[scored] = (self.values[at], self.values[at + 1], self.values[at + 2])
        return out

    def complete(self, capability: CapabilityPlaces) -> list[int]:
        """[respondents, sum of totals, of squared totals, then per statement sum, squares]."""
        return self.values[capability.complete:
                           capability.complete + 3 + 2 * len(capability.statement_keys)]


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
