"""The suppression rules give exactly the groups of their first, plain implementation.

``decide_visibility`` finds the unsafe residues once and checks again only the group whose
residue changed (rule 3 runs it once per statement and capability on trees of thousands of
teams); the plain version, kept here as the reference, scans every shown group again after
each group it hides.
"""

import random
from collections.abc import Collection, Iterable
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from surveyapp.analysis.confidentiality import (
    ORGANISATION,
    GroupNode,
    Visibility,
    decide_figure_visibility,
    decide_visibility,
)

from ..profiles import examples


def reference_visibility(nodes: Iterable[GroupNode], minimum: int,
                      within: Collection[int] | None = None) -> Visibility:
    """Rules 1 and 2 as first written: restart the scan after every hidden group.

    Nodes whose parent is None (or not among the nodes) hang under ``ORGANISATION``.
    ``within``, when given, limits the groups that may be shown (rule 3: a statement's figures
    only where its group is shown); the groups outside it count as hidden.
    """
    nodes = list(nodes)
    ids = {n.id for n in nodes}
    if ORGANISATION in ids:
        raise ValueError("team id 0 is reserved for the organisation")
    parent = {n.id: (n.parent_id if n.parent_id in ids else ORGANISATION) for n in nodes}
    children: dict[int, list[int]] = {ORGANISATION: []}
    for n in nodes:
        children.setdefault(n.id, [])
    for n in nodes:
        children[parent[n.id]].append(n.id)
    own = {n.id: n.responses for n in nodes} | {ORGANISATION: 0}
    invited = {n.id: n.invited for n in nodes} | {ORGANISATION: 0}

    totals: dict[int, int] = {}

    def add_up(node: int) -> None:
        # Iterative post-order, so that deep trees cannot hit the recursion limit.
        stack = [(node, False)]
        while stack:
            current, done = stack.pop()
            if done:
                totals[current] = own[current] + sum(totals[c] for c in children[current])
            else:
                stack.append((current, True))
                stack.extend((c, False) for c in children[current])

    add_up(ORGANISATION)
    # Which sub-group complementary suppression hides: the one with the fewest people invited
    # (team and below), then the lowest id.
    invited_totals: dict[int, int] = {}
    for group in sorted(totals, key=lambda g: -depth(g, parent)):
        invited_totals[group] = invited[group] + sum(invited_totals[c] for c in children[group])
    shown = {g for g, total in totals.items()
             if total >= minimum and (within is None or g in within)}

    def residue(group: int) -> tuple[int, list[int], bool]:
        """(responses in the residue, the largest shown sub-groups, whether it matters).

        A residue matters when it holds responses, or a hidden team that could hold some
        (subtracting would show that team to be empty, unlike every other hidden team).
        """
        count = own[group]
        hides_a_team = False
        frontier: list[int] = []
        stack = list(children[group])
        while stack:
            current = stack.pop()
            if current in shown:
                frontier.append(current)
                continue
            count += own[current]
            hides_a_team = hides_a_team or invited[current] > 0 or own[current] > 0
            stack.extend(children[current])
        return count, frontier, count > 0 or hides_a_team

    changed = True
    while changed:
        changed = False
        for group in sorted(shown):
            count, frontier, matters = residue(group)
            if matters and count < minimum and frontier:
                smallest = min(frontier, key=lambda g: (invited_totals[g], g))
                shown.discard(smallest)
                changed = True
                break
    return Visibility(minimum=minimum, totals=totals, shown=frozenset(shown))


def depth(group: int, parent: dict[int, int]) -> int:
    level = 0
    while group != ORGANISATION:
        group, level = parent[group], level + 1
    return level


@st.composite
def trees(draw):
    """Up to 40 teams; parents before children; some teams empty or with no one invited."""
    nodes = []
    for i in range(1, draw(st.integers(1, 40)) + 1):
        parent = draw(st.one_of(st.none(), st.integers(1, i - 1))) if i > 1 else None
        nodes.append(GroupNode(i * 7, parent * 7 if parent else None, draw(st.integers(0, 9)),
                               draw(st.integers(0, 3))))
    return nodes


@settings(max_examples=examples(500))
@given(trees(), st.integers(3, 8), st.booleans(), st.integers(0, 2**32))
def test_the_same_groups_are_shown_as_by_the_plain_rules(nodes, minimum, limited, seed):
    rng = random.Random(seed)
    within = {ORGANISATION} | {n.id for n in nodes if rng.random() < 0.8} if limited else None
    fast, plain = decide_visibility(nodes, minimum, within), reference_visibility(nodes, minimum,
                                                                                  within)
    assert fast.shown == plain.shown
    assert fast.totals == plain.totals


@settings(max_examples=examples(200))
@given(trees(), st.integers(0, 2**32))
def test_rule_3_shows_the_same_figures_as_the_plain_rules_per_statement(nodes, seed):
    rng = random.Random(seed)
    capabilities = {"A": ["a1", "a2"], "B": ["b1"]}
    answered = {n.id: {k: rng.randint(0, n.responses) for k in ("a1", "a2", "b1")}
                for n in nodes}
    shown = decide_visibility(nodes, 5).shown
    figures = decide_figure_visibility(nodes, capabilities, answered, 5, shown)
    for key in ("a1", "a2", "b1"):
        counted = [replace(n, responses=answered[n.id][key]) for n in nodes]
        assert figures.statements[key] == reference_visibility(counted, 5, shown).shown
    # A capability: where every one of its statements is shown.
    assert figures.capabilities["A"] == shown & figures.statements["a1"] & figures.statements["a2"]
    assert figures.capabilities["B"] == shown & figures.statements["b1"]
