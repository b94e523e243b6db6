"""The instrument: capabilities, statements, the agreement scale and the open questions.

An instrument is data (a versioned TOML file in this folder). A round copies it when created;
HR may reword statements and add a few while the round is a draft; launching freezes the copy.
Everything here is plain values (frozen dataclasses), with no Flask or database.
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from ..domain import DomainError, one_line

DEFAULT_FILE = Path(__file__).with_name("service-capabilities-v1.toml")
#: HR may add up to this many statements to each capability of a draft round.
MAX_ADDED_PER_CAPABILITY = 3
STATEMENT_MIN_LENGTH = 10
STATEMENT_MAX_LENGTH = 200
COMMENT_MAX_LENGTH = 2000


class InstrumentError(DomainError, ValueError):
    """The instrument is malformed, or an edit to it is not allowed; ``str(error)`` says why.

    Still a ValueError, as it always was, for callers that catch malformed data as one.
    """


@dataclass(frozen=True)
class ScalePoint:
    value: int
    label: str


@dataclass(frozen=True)
class Statement:
    key: str
    text: str
    #: True for a statement HR added to this round (not in the published instrument).
    added: bool = False


@dataclass(frozen=True)
class Capability:
    key: str
    name: str
    summary: str
    statements: tuple[Statement, ...]


@dataclass(frozen=True)
class Question:
    key: str
    text: str
    hint: str = ""
    required: bool = False


@dataclass(frozen=True)
class Instrument:
    id: str
    version: int
    title: str
    scale: tuple[ScalePoint, ...]
    capabilities: tuple[Capability, ...]
    questions: tuple[Question, ...]

    # --- reading -------------------------------------------------------------------------------

    @property
    def statements(self) -> tuple[Statement, ...]:
        return tuple(s for c in self.capabilities for s in c.statements)

    @property
    def statement_keys(self) -> tuple[str, ...]:
        return tuple(s.key for s in self.statements)

    @property
    def scale_values(self) -> tuple[int, ...]:
        return tuple(p.value for p in self.scale)

    def capability(self, key: str) -> Capability:
        for capability in self.capabilities:
            if capability.key == key:
                return capability
        raise KeyError(key)

    def capability_of(self, statement_key: str) -> Capability:
        for capability in self.capabilities:
            if any(s.key == statement_key for s in capability.statements):
                return capability
        raise KeyError(statement_key)

    # --- editing a draft (each returns a new instrument) ---------------------------------------

    def with_statement_text(self, statement_key: str, text: str) -> Instrument:
        """Return a copy with one statement reworded.

        :raise InstrumentError: unknown key, or text too short or too long.
        """
        text = _clean_statement(text)
        if statement_key not in self.statement_keys:
            raise InstrumentError(f"There is no statement {statement_key!r}.")
        return replace(self, capabilities=tuple(
            replace(c, statements=tuple(
                replace(s, text=text) if s.key == statement_key else s for s in c.statements
            )) for c in self.capabilities
        ))

    def with_added_statement(self, capability_key: str, text: str) -> Instrument:
        """Return a copy with a statement added at the end of a capability.

        :raise InstrumentError: unknown capability, text too short or too long, or the
            capability already has ``MAX_ADDED_PER_CAPABILITY`` added statements.
        """
        text = _clean_statement(text)
        try:
            target = self.capability(capability_key)
        except KeyError:
            raise InstrumentError(f"There is no capability {capability_key!r}.") from None
        added = [s for s in target.statements if s.added]
        if len(added) >= MAX_ADDED_PER_CAPABILITY:
            raise InstrumentError(
                f"{target.name} already has {MAX_ADDED_PER_CAPABILITY} added statements, "
                "the most a round can add."
            )
        n = 1
        while f"{capability_key}.added{n}" in self.statement_keys:
            n += 1
        statement = Statement(key=f"{capability_key}.added{n}", text=text, added=True)
        return replace(self, capabilities=tuple(
            replace(c, statements=c.statements + (statement,)) if c.key == capability_key else c
            for c in self.capabilities
        ))

    def without_statement(self, statement_key: str) -> Instrument:
        """Return a copy without an added statement.

        :raise InstrumentError: unknown key, or a statement of the published instrument.
        """
        statement = next((s for s in self.statements if s.key == statement_key), None)
        if statement is None:
            raise InstrumentError(f"There is no statement {statement_key!r}.")
        if not statement.added:
            raise InstrumentError("Only statements added to this round can be removed.")
        return replace(self, capabilities=tuple(
            replace(c, statements=tuple(s for s in c.statements if s.key != statement_key))
            for c in self.capabilities
        ))

    # --- serialising ---------------------------------------------------------------------------

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Instrument:
        """Build an instrument from a TOML table or ``to_dict()`` output.

        :raise InstrumentError: when a part is missing, a key repeats, or the scale is not 1..n.
        """
        try:
            instrument = cls(
                id=str(data["id"]),
                version=int(data["version"]),
                title=str(data["title"]),
                scale=tuple(ScalePoint(int(p["value"]), str(p["label"]))
                            for p in _points(data["scale"])),
                capabilities=tuple(
                    Capability(
                        key=str(c["key"]), name=str(c["name"]), summary=str(c["summary"]),
                        statements=tuple(
                            Statement(str(s["key"]), str(s["text"]), bool(s.get("added", False)))
                            for s in c["statements"]
                        ),
                    )
                    for c in data["capabilities"]
                ),
                questions=tuple(
                    Question(str(q["key"]), str(q["text"]), str(q.get("hint", "")),
                             bool(q.get("required", False)))
                    for q in data.get("questions", ())
                ),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise InstrumentError(f"The instrument is malformed: {error!r}") from error
        instrument.check()
        return instrument

    def check(self) -> None:
        """:raise InstrumentError: when keys repeat, a capability is empty or the scale is odd."""
        if [p.value for p in self.scale] != list(range(1, len(self.scale) + 1)):
            raise InstrumentError("The scale must run 1, 2, ... n.")
        keys = [c.key for c in self.capabilities] + list(self.statement_keys)
        keys += [q.key for q in self.questions]
        duplicates = sorted({k for k in keys if keys.count(k) > 1})
        if duplicates:
            raise InstrumentError(f"Keys used twice: {', '.join(duplicates)}.")
        if not self.capabilities or any(not c.statements for c in self.capabilities):
            raise InstrumentError("Every capability needs at least one statement.")


def _points(scale) -> list:
    return scale["points"] if isinstance(scale, dict) else list(scale)


def _clean_statement(text: str) -> str:
    text = one_line(str(text))
    if len(text) < STATEMENT_MIN_LENGTH:
        raise InstrumentError(f"A statement needs at least {STATEMENT_MIN_LENGTH} characters.")
    if len(text) > STATEMENT_MAX_LENGTH:
        raise InstrumentError(f"A statement can have at most {STATEMENT_MAX_LENGTH} characters.")
    return text


def load(path: Path = DEFAULT_FILE) -> Instrument:
    """Read an instrument file. :raise InstrumentError: when it is malformed."""
    with open(path, "rb") as f:
        return Instrument.from_dict(tomllib.load(f))


def load_default() -> Instrument:
    """The published service-capabilities instrument."""
    return load(DEFAULT_FILE)
