"""The survey's steps: one per capability, then the open questions, then the review.

Pure: built from an Instrument and a dict of saved answers.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..instrument import Capability, Instrument, Question, Statement


@dataclass(frozen=True)
class Step:
    number: int  # 1-based
    title: str
    summary: str
    capability: Capability | None = None
    questions: tuple[Question, ...] = ()

    @property
    def statements(self) -> tuple[Statement, ...]:
        return self.capability.statements if self.capability else ()


def steps_of(instrument: Instrument) -> list[Step]:
    steps = [
        Step(number=i, title=c.name, summary=c.summary, capability=c)
        for i, c in enumerate(instrument.capabilities, start=1)
    ]
    if instrument.questions:
        steps.append(Step(
            number=len(steps) + 1, title="Your ideas",
            summary="In your own words. Please leave out names, so that no one can be identified.",
            questions=instrument.questions,
        ))
    return steps


@dataclass(frozen=True)
class Missing:
    step: int
    capability: str
    statement: Statement


def unanswered(instrument: Instrument, answers: dict) -> list[Missing]:
    """Every statement without an answer, in survey order, with the step that asks it."""
    return [
        Missing(step=i, capability=c.name, statement=s)
        for i, c in enumerate(instrument.capabilities, start=1)
        for s in c.statements if s.key not in answers
    ]
