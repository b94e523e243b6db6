"""An exact differencing attack on published aggregates: plain Python, fractions, no numpy.

Every published figure is a *fact*: a linear combination, with known coefficients, of unknown
*cells*, where a cell is one team's responses' contribution to one item in one round
(``(round, team, item)``): how many of them gave one answer to one statement
(``"s:<key>=<value>"``), how many answered an open question, or "" for how many responded.
The coefficients are those of the figure's documented definition: a statement's sum weighs its
count of 4s by 4, a capability's sum covers its statements' cells, the index divides each
capability's sum by its number of answers and the number of capabilities. (No figure tells the
responses of one team apart, so a cell per response would only split a cell that no fact
separates.) The attacker knows which cells each fact covers with which coefficient (a leader
knows the team tree) and the fact's value; they do not know the cells' values. Anything they
can compute is a linear combination of facts.

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

Before solving, the facts of each group that follow from the group's other facts (a statement's
sum from its counts, a capability's figures from its statements', the index from the
capabilities') are set aside: they add nothing to what can be combined, and keeping them would
join every statement of a round into one system too large to solve in fractions. One that does
not follow where it should contradicts the others (``Inconsistent``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from itertools import combinations

Cell = tuple[int, int, str]  # (round id, team id, item)
#: The generic search tries unions of up to this many classes of cells (single classes and
#: every pair, triple and quadruple whose contributors stay below the minimum).
MAX_UNION = 4


@dataclass(frozen=True)
class Fact:
    """A published figure: ``value`` = the sum over ``cells`` of coefficient × cell."""

    family: str  # "answers", "responses" or "ideas"
    round_id: int
    group_id: int
    item: str
    #: Each cell's coefficient (none zero).
    cells: Mapping[Cell, Fraction]
    value: Fraction
    source: str = ""

    @property
    def key(self) -> tuple[str, frozenset]:
        """What the fact says about which cells: equal for two facts of the same figure."""
        return (self.family, frozenset(self.cells.items()))


@dataclass(frozen=True)
class Leak:
    strategy: str
    family: str
    #: Non-zero coefficient of every cell in the result.
    result: Mapping[Cell, Fraction]
    contributors: frozenset
    value: Fraction
    how: str

    def __str__(self):
        cells = ", ".join(f"{c[1]}/{c[2] or 'responses'}(r{c[0]})×{k}"
                          for c, k in sorted(self.result.items()))
        return (f"[{self.strategy}] {self.family}: {len(self.contributors)} response(s) "
                f"recovered: {self.value} = {cells} ({self.how})")


class Inconsistent(AssertionError):
    """Two outputs published different values for the same cells, or a figure contradicts the
    figures it follows from."""


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
        #: The facts the solver works on: ``unique`` without those that follow from their own
        #: group's other facts (the module docstring).
        self.independent = independent(self.unique)

    # --- judging a combination ---------------------------------------------------------------

    def judge(self, strategy: str, family: str, result: Mapping[Cell, Fraction], value: Fraction,
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
            return Leak(strategy, family, result, people, value, how)
        return None

    def combine(self, strategy: str, terms: Iterable[tuple[int, Fact]], how: str) -> Leak | None:
        """Judge the combination sum(k * fact) of facts of one family."""
        terms = list(terms)
        family = terms[0][1].family
        result: dict[Cell, Fraction] = defaultdict(Fraction)
        value = Fraction(0)
        for k, fact in terms:
            assert fact.family == family
            for cell, coefficient in fact.cells.items():
                result[cell] += k * coefficient
            value += k * fact.value
        return self.judge(strategy, family, result, value, how)

    # --- the generic solver --------------------------------------------------------------------

    def solve(self) -> list[Leak]:
        leaks = []
        for component in components(self.independent, self.contributors):
            leaks.extend(self._solve_component(component))
        return leaks

    def _solve_component(self, facts: list[Fact]) -> list[Leak]:
        family = facts[0].family
        # Cells that every fact weighs alike form one class: no combination tells them apart.
        signature: dict[Cell, list[tuple[int, Fraction]]] = defaultdict(list)
        for i, fact in enumerate(facts):
            for cell, coefficient in fact.cells.items():
                if cell in self.contributors:
                    signature[cell].append((i, coefficient))
        classes: dict[tuple, list[Cell]] = defaultdict(list)
        for cell in sorted(signature):
            classes[tuple(signature[cell])].append(cell)
        keys = list(classes)
        people = [frozenset().union(*(self.contributors[c] for c in classes[k])) for k in keys]
        matrix = [[Fraction(0)] * len(keys) for _ in facts]
        for column, key in enumerate(keys):
            for i, coefficient in key:
                matrix[i][column] = coefficient
        rhs = [[f.value] for f in facts]
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
                (value,) = value_of(y, reduced, pivots, len(keys))
                result = {cell: y[k] for k in subset for cell in classes[keys[k]]}
                leak = self.judge("any linear combination", family, result, value,
                                  f"solved from {len(facts)} facts")
                if leak:
                    leaks.append(leak)
        return leaks


def dedupe(facts: Iterable[Fact]) -> list[Fact]:
    """One fact per (family, cells and coefficients); :raise Inconsistent: when two disagree."""
    seen: dict[tuple[str, frozenset], Fact] = {}
    for fact in facts:
        key = fact.key
        if key in seen and seen[key].value != fact.value:
            raise Inconsistent(f"{seen[key].source} and {fact.source} differ for the same "
                               f"responses: {seen[key].value} vs {fact.value}")
        seen.setdefault(key, fact)
    return list(seen.values())


def independent(facts: Sequence[Fact]) -> list[Fact]:
    """``facts`` without each one that is a linear combination of facts of its own group (same
    family, round and group) kept before it, the simplest first.

    :raise Inconsistent: when such a combination gives another value than the fact's: the
        figure is not what its definition says it is, given the others.
    """
    by_group: dict[tuple[str, int, int], list[Fact]] = defaultdict(list)
    for fact in facts:
        by_group[(fact.family, fact.round_id, fact.group_id)].append(fact)
    kept = []
    for group in by_group.values():
        basis: list[tuple[Cell, dict[Cell, Fraction], Fraction]] = []
        for fact in sorted(group, key=lambda f: (len(f.cells), f.item)):
            row, value = dict(fact.cells), fact.value
            # Each basis row holds no pivot of the rows before it, so one pass in order
            # clears every pivot from ``row``.
            for pivot, base, base_value in basis:
                k = row.get(pivot)
                if k:
                    for cell, x in base.items():
                        y = row.get(cell, 0) - k * x
                        if y:
                            row[cell] = y
                        else:
                            row.pop(cell, None)
                    value -= k * base_value
            if not row:
                if value:
                    raise Inconsistent(f"{fact.source}: {fact.item} of group {fact.group_id} "
                                       f"is off by {value} from what the group's other "
                                       f"figures imply")
                continue
            pivot = min(row)
            lead = row[pivot]
            basis.append((pivot, {c: x / lead for c, x in row.items()}, value / lead))
            kept.append(fact)
    return kept


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
             width: int) -> tuple[Fraction, ...]:
    """The values of the combination ``y`` (which must lie in the row space)."""
    size = len(reduced[0]) - width if reduced else 0
    values = [Fraction(0)] * size
    for row, pivot in zip(reduced, pivots, strict=True):
        values = [v + y[pivot] * x for v, x in zip(values, row[width:], strict=True)]
    return tuple(values)
