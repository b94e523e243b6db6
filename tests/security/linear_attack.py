"""An exact differencing attack on published aggregates: plain Python, fractions, no numpy.

Every published figure is a *fact*: the sum of some measure over a set of *cells*, where a cell
is one team's contribution to one item in one round (``(round, team, item)``; the item is a
statement, a capability, an open question, or "" for the response count). The attacker knows
which cells each fact covers (a leader knows the team tree) and the fact's values; they do not
know the cells' values. Anything they can compute is a linear combination of facts.

A *leak* is a combination whose result depends only on the cells of fewer than ``minimum``
responses (one response: someone's answer), counting the responses that actually contribute to
those cells. The attacker is given more than the pages show: the exact values behind every
rounded figure, and which cells are empty (no response contributes to them), so the attack is
stronger than a real one.

Two kinds of attack run over the same facts:

- named strategies (``combine``): a specific combination, e.g. a parent minus the groups shown
  below it, or a team's figure in one round minus the same figure in the round before;
- ``solve``: the generic one. For each connected set of facts it finds the classes of cells no
  fact tells apart, computes a basis of the null space of the fact matrix, and looks for any set
  of classes with fewer than ``minimum`` contributors on which a non-zero combination of facts
  is supported (rows of the null-space basis that are linearly dependent). It finds leaks that
  no named strategy describes; unions of classes are searched up to ``MAX_UNION`` classes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from itertools import combinations

Cell = tuple[int, int, str]  # (round id, team id, item)
Values = tuple[Fraction, ...]
#: The generic search tries unions of up to this many classes of cells (single classes and
#: every pair, triple and quadruple whose contributors stay below the minimum).
MAX_UNION = 4


@dataclass(frozen=True)
class Fact:
    """A published figure: ``values`` summed over ``cells``."""

    family: str  # "answers", "capability", "responses" or "ideas"
    round_id: int
    group_id: int
    item: str
    cells: frozenset[Cell]
    values: Values
    source: str = ""


@dataclass(frozen=True)
class Leak:
    strategy: str
    family: str
    #: Non-zero coefficient of every cell in the result.
    result: Mapping[Cell, Fraction]
    contributors: frozenset
    values: Values
    how: str

    def __str__(self):
        cells = ", ".join(f"{c[1]}/{c[2] or 'responses'}(r{c[0]})×{k}"
                          for c, k in sorted(self.result.items()))
        return (f"[{self.strategy}] {self.family}: {len(self.contributors)} response(s) "
                f"recovered: {self.values} over {cells} ({self.how})")


class Inconsistent(AssertionError):
    """Two outputs published different values for the same cells."""


@dataclass
class Attack:
    """The facts one attacker has collected, and what they can work out from them.

    :param contributors: the responses behind each non-empty cell (ground truth, to judge a
        result; the attacker never uses it to compute one).
    :param minimum: the smallest group allowed, by family and round.
    """

    facts: Sequence[Fact]
    contributors: Mapping[Cell, frozenset]
    minimum: Callable[[str, int], int]
    attempts: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def __post_init__(self):
        self.unique = dedupe(self.facts)

    # --- judging a combination ---------------------------------------------------------------

    def judge(self, strategy: str, family: str, result: Mapping[Cell, Fraction], values: Values,
              how: str) -> Leak | None:
        """Count an attempt; return a Leak when ``result`` rests on too few responses."""
        self.attempts[strategy] += 1
        result = {c: k for c, k in result.items() if k and c in self.contributors}
        if not result:
            return None
        people = frozenset().union(*(self.contributors[c] for c in result))
        rounds = {c[0] for c in result}
        limit = min(self.minimum(family, r) for r in rounds)
        if 0 < len(people) < limit:
            return Leak(strategy, family, result, people, values, how)
        return None

    def combine(self, strategy: str, terms: Iterable[tuple[int, Fact]], how: str) -> Leak | None:
        """Judge the combination sum(k * fact) of facts of one family."""
        terms = list(terms)
        family = terms[0][1].family
        result: dict[Cell, Fraction] = defaultdict(Fraction)
        values = [Fraction(0)] * len(terms[0][1].values)
        for k, fact in terms:
            assert fact.family == family
            for cell in fact.cells:
                result[cell] += k
            values = [v + k * x for v, x in zip(values, fact.values, strict=True)]
        return self.judge(strategy, family, result, tuple(values), how)

    # --- the generic solver --------------------------------------------------------------------

    def solve(self) -> list[Leak]:
        leaks = []
        for component in components(self.unique, self.contributors):
            leaks.extend(self._solve_component(component))
        return leaks

    def _solve_component(self, facts: list[Fact]) -> list[Leak]:
        family = facts[0].family
        cells = sorted({c for f in facts for c in f.cells if c in self.contributors})
        signature: dict[Cell, tuple[int, ...]] = {
            c: tuple(i for i, f in enumerate(facts) if c in f.cells) for c in cells}
        classes: dict[tuple[int, ...], list[Cell]] = defaultdict(list)
        for cell in cells:
            classes[signature[cell]].append(cell)
        keys = list(classes)
        people = [frozenset().union(*(self.contributors[c] for c in classes[k])) for k in keys]
        matrix = [[Fraction(int(i in key)) for key in keys] for i in range(len(facts))]
        rhs = [list(f.values) for f in facts]
        reduced, pivots = rref(matrix, rhs)
        basis = null_space(reduced, pivots, len(keys))
        rows = [[vector[k] for vector in basis] for k in range(len(keys))]
        limit = min(self.minimum(family, f.round_id) for f in facts)
        # Every class is a candidate; one with enough contributors is dismissed at once, and a
        # derivable result is a sum over whole classes, so only the small ones need the search.
        self.attempts["any linear combination"] += len(keys)
        small = [k for k in range(len(keys)) if len(people[k]) < limit]
        leaks, found = [], []
        for size in range(1, MAX_UNION + 1):
            for subset in combinations(small, size):
                if any(set(f) <= set(subset) for f in found):
                    continue
                if len(frozenset().union(*(people[k] for k in subset))) >= limit:
                    continue
                self.attempts["any linear combination"] += 1
                weights = dependency([rows[k] for k in subset])
                if weights is None:
                    continue
                found.append(subset)
                y = [Fraction(0)] * len(keys)
                for k, w in zip(subset, weights, strict=True):
                    y[k] = w
                values = value_of(y, reduced, pivots, len(keys))
                result = {cell: y[k] for k in subset for cell in classes[keys[k]]}
                leak = self.judge("any linear combination", family, result, values,
                                  f"solved from {len(facts)} facts")
                if leak:
                    leaks.append(leak)
        return leaks


def dedupe(facts: Iterable[Fact]) -> list[Fact]:
    """One fact per (family, cells); :raise Inconsistent: when two disagree."""
    seen: dict[tuple[str, frozenset], Fact] = {}
    for fact in facts:
        key = (fact.family, fact.cells)
        if key in seen and seen[key].values != fact.values:
            raise Inconsistent(f"{seen[key].source} and {fact.source} differ for the same "
                               f"responses: {seen[key].values} vs {fact.values}")
        seen.setdefault(key, fact)
    return list(seen.values())


def components(facts: Sequence[Fact], contributors: Mapping[Cell, frozenset]) -> list[list[Fact]]:
    """Facts of one family grouped by shared (non-empty) cells: independent sub-problems."""
    parent: dict[int, int] = {}

    def find(i: int) -> int:
        while parent.setdefault(i, i) != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[tuple[str, Cell], int] = {}
    for i, fact in enumerate(facts):
        find(i)
        for cell in fact.cells:
            if cell not in contributors:
                continue
            key = (fact.family, cell)
            if key in owner:
                parent[find(i)] = find(owner[key])
            else:
                owner[key] = i
    groups: dict[int, list[Fact]] = defaultdict(list)
    for i, fact in enumerate(facts):
        if any(c in contributors for c in fact.cells):
            groups[find(i)].append(fact)
    return list(groups.values())


# --- exact linear algebra over the rationals ---------------------------------------------------


def rref(matrix: list[list[Fraction]], rhs: list[list[Fraction]]
         ) -> tuple[list[list[Fraction]], list[int]]:
    """Reduced row echelon form of ``[matrix | rhs]``, pivots taken in ``matrix`` only."""
    width = len(matrix[0]) if matrix else 0
    rows = [list(m) + list(r) for m, r in zip(matrix, rhs, strict=True)]
    pivots: list[int] = []
    top = 0
    for col in range(width):
        pivot = next((r for r in range(top, len(rows)) if rows[r][col] != 0), None)
        if pivot is None:
            continue
        rows[top], rows[pivot] = rows[pivot], rows[top]
        lead = rows[top][col]
        rows[top] = [x / lead for x in rows[top]]
        for r in range(len(rows)):
            if r != top and rows[r][col] != 0:
                factor = rows[r][col]
                rows[r] = [x - factor * y for x, y in zip(rows[r], rows[top], strict=True)]
        pivots.append(col)
        top += 1
    for row in rows[top:]:
        if any(row[width:]):
            raise Inconsistent("the facts contradict each other (0 = non-zero)")
    return rows[:top], pivots


def null_space(reduced: list[list[Fraction]], pivots: list[int], width: int
               ) -> list[list[Fraction]]:
    """A basis of the null space of the reduced matrix's first ``width`` columns."""
    basis = []
    for free in (c for c in range(width) if c not in pivots):
        vector = [Fraction(0)] * width
        vector[free] = Fraction(1)
        for row, pivot in zip(reduced, pivots, strict=True):
            vector[pivot] = -row[free]
        basis.append(vector)
    return basis


def dependency(rows: list[list[Fraction]]) -> list[Fraction] | None:
    """Weights w, not all zero, with sum(w[i] * rows[i]) == 0; None if the rows are independent."""
    if not rows or not rows[0]:
        return [Fraction(1)] + [Fraction(0)] * (len(rows) - 1) if rows else None
    # Left null space of ``rows``: the null space of its transpose.
    transpose = [[rows[i][j] for i in range(len(rows))] for j in range(len(rows[0]))]
    reduced, pivots = rref(transpose, [[] for _ in transpose])
    basis = null_space(reduced, pivots, len(rows))
    return basis[0] if basis else None


def value_of(y: list[Fraction], reduced: list[list[Fraction]], pivots: list[int],
             width: int) -> Values:
    """The values of the combination ``y`` (which must lie in the row space)."""
    size = len(reduced[0]) - width if reduced else 0
    values = [Fraction(0)] * size
    for row, pivot in zip(reduced, pivots, strict=True):
        values = [v + y[pivot] * x for v, x in zip(values, row[width:], strict=True)]
    return tuple(values)
