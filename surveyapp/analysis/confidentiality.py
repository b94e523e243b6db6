"""Confidentiality rules, in one place, used by every output (pages, PDF, CSV, CLI).

A reporting group is a team together with every team below it. Its figures are shown only when
the rules here say so; a hidden group shows nothing at all, so that it looks the same whether it
has 0 or 4 responses.

1. Primary suppression: a group with fewer responses than the round's minimum is hidden.
2. Complementary suppression: for every shown group V, the responses that are in V but in no
   shown group below it (the "residue": V minus its largest shown sub-groups) can be worked out
   by subtraction. The residue must therefore be empty of hidden teams and of V's own people's
   responses, or hold at least the minimum. When it does not, the shown sub-group with the
   fewest people *invited* is hidden too (the lowest id among equals), and the check repeats
   until every residue is safe. The choice follows the numbers invited, fixed at launch and
   known to HR, never the responses: chosen by responses, it would tell which sub-group has
   fewer, and it would change as people answer, so that two looks at an open round's counts
   (or its last look and the closed round's report), each safe, would hide different groups
   and together give a small one away.

3. Figures of one statement or one capability: people may skip statements, so a statement's
   figures rest on the people who answered it, who can be fewer than the group's responses.
   Rules 1 and 2 therefore run again for each statement, on the counts of its answers, among
   the shown groups only. A capability is shown in a group when every one of its statements is
   shown there: its figures are a function of its statements' figures (analysis/scores.py), so
   they then add nothing, and beside a hidden statement they would give that statement away. A
   group's index needs every capability (it is their mean).

The same rules 1 and 2 run with the comment minimum to decide where improvement ideas can be
shown (comments are subtractable too: parent's ideas minus a child's ideas); a group's ideas
need only its responses to reach that minimum, whoever wrote them.
The whole round is checked at once (with the whole organisation as the top group), so that
every viewer sees the same figures and no two views can be combined to reveal more.
"""

from __future__ import annotations

import random
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from .scores import Distribution, GroupScores

#: The id of the whole-organisation group (the round's top).
ORGANISATION = 0
#: The answers of a hidden statement or capability: none.
NO_ANSWERS = Distribution((0, 0, 0, 0, 0))


@dataclass(frozen=True)
class GroupNode:
    id: int
    parent_id: int | None
    #: Responses whose team is exactly this one (not counting teams below).
    responses: int
    #: People invited whose team is exactly this one (a team with no one can hide nothing).
    invited: int = 1


@dataclass(frozen=True)
class Visibility:
    minimum: int
    #: Responses in each group (team and below), ORGANISATION included.
    totals: dict[int, int]
    shown: frozenset[int]

    def is_shown(self, group_id: int) -> bool:
        return group_id in self.shown


def decide_visibility(nodes: Iterable[GroupNode], minimum: int,
                      within: Collection[int] | None = None) -> Visibility:
    """Apply primary and complementary suppression to a round's team tree.

    Nodes whose parent is None (or not among the nodes) hang under ``ORGANISATION``.
    ``within``, when given, limits the groups that may be shown (rule 3: a statement's figures
    only where its group is shown); the groups outside it count as hidden.
    """
    nodes = list(nodes)
    return _Tree(nodes).decide([0] + [n.responses for n in nodes], minimum, within)


class _Tree:
    """A round's tree as lists indexed by position (the organisation at 0), built once and
    used for every decision on it (rule 3 makes one per statement and capability)."""

    def __init__(self, nodes: Sequence[GroupNode]):
        self.ids = [ORGANISATION] + [n.id for n in nodes]
        self.index = {team_id: i for i, team_id in enumerate(self.ids)}
        if self.index[ORGANISATION] != 0:
            raise ValueError("team id 0 is reserved for the organisation")
        self.parent = [-1] + [self.index.get(n.parent_id, 0) if n.parent_id is not None else 0
                              for n in nodes]
        self.children: list[list[int]] = [[] for _ in self.ids]
        for i in range(1, len(self.ids)):
            self.children[self.parent[i]].append(i)
        self.invited = [0] + [n.invited for n in nodes]
        # Every group after the groups below it, so that totals add up in one pass (and
        # without recursion, so that deep trees cannot hit the recursion limit).
        order, stack = [], [0]
        while stack:
            current = stack.pop()
            order.append(current)
            stack.extend(self.children[current])
        self.upward = order[::-1]
        #: People invited in each group (team and below): which shown sub-group complementary
        #: suppression hides follows these, fixed at launch, never the responses (see decide).
        self.invited_totals = list(self.invited)
        for i in self.upward:
            if i:
                self.invited_totals[self.parent[i]] += self.invited_totals[i]

    def decide(self, own: list[int], minimum: int, within: Collection[int] | None) -> Visibility:
        """Rules 1 and 2 with ``own`` responses per position (see ``decide_visibility``)."""
        ids, children, invited = self.ids, self.children, self.invited
        totals = list(own)
        for i in self.upward:
            if i:
                totals[self.parent[i]] += totals[i]
        allowed = None if within is None else {self.index[g] for g in within if g in self.index}
        shown = [total >= minimum and (allowed is None or i in allowed)
                 for i, total in enumerate(totals)]

        def unsafe_residue(group: int) -> list[int] | None:
            """The largest shown sub-groups of ``group`` when its residue (the group minus
            them) can be worked out and is too small, else None.

            A residue matters when it holds responses, or a hidden team that could hold some
            (subtracting would show that team to be empty, unlike every other hidden team).
            """
            count = own[group]
            hides_a_team = False
            frontier: list[int] = []
            stack = list(children[group])
            while stack:
                current = stack.pop()
                if shown[current]:
                    frontier.append(current)
                    continue
                count += own[current]
                hides_a_team = hides_a_team or invited[current] > 0 or own[current] > 0
                stack.extend(children[current])
            matters = count > 0 or hides_a_team
            return frontier if matters and count < minimum and frontier else None

        # Until every residue is safe: take the unsafe group with the lowest id and hide its
        # smallest shown sub-group. Hiding it changes that group's residue and no other (the
        # residues of the groups above stop at that group, which stays shown), so the unsafe
        # groups are found once and only that group is checked again after each step.
        unsafe = {ids[g]: g for g in range(len(ids)) if shown[g] and unsafe_residue(g)}
        while unsafe:
            group = unsafe[min(unsafe)]
            frontier = unsafe_residue(group)
            if frontier is None:
                raise AssertionError("a group in unsafe is left unsafe until checked again")
            smallest = min(frontier, key=lambda g: (self.invited_totals[g], ids[g]))
            shown[smallest] = False
            unsafe.pop(ids[smallest], None)
            if not unsafe_residue(group):
                del unsafe[ids[group]]
        return Visibility(minimum=minimum, totals=dict(zip(ids, totals, strict=True)),
                          shown=frozenset(ids[i] for i, visible in enumerate(shown) if visible))


@dataclass(frozen=True)
class FigureVisibility:
    """Rule 3: the groups where each statement's and each capability's figures are shown."""

    statements: Mapping[str, frozenset[int]]
    capabilities: Mapping[str, frozenset[int]]

    def hidden_statements(self, group_id: int) -> frozenset[str]:
        return frozenset(k for k, shown in self.statements.items() if group_id not in shown)

    def hidden_capabilities(self, group_id: int) -> frozenset[str]:
        return frozenset(k for k, shown in self.capabilities.items() if group_id not in shown)


def decide_figure_visibility(nodes: Sequence[GroupNode], capabilities: Mapping[str, Sequence[str]],
                             answered: Mapping[int, Mapping[str, int]], minimum: int,
                             shown: Collection[int]) -> FigureVisibility:
    """Apply rule 3 to a round's tree.

    :param capabilities: each capability's statement keys.
    :param answered: per team (its own people), the number of responses that answered each
        statement.
    :param shown: the groups shown by rules 1 and 2.
    """

    tree = _Tree(nodes)
    empty: Mapping[str, int] = {}
    statements: dict[str, frozenset[int]] = {}
    capability_groups: dict[str, frozenset[int]] = {}
    for capability, keys in capabilities.items():
        for key in keys:
            counts = [0] + [answered.get(n.id, empty).get(key, 0) for n in nodes]
            statements[key] = tree.decide(counts, minimum, shown).shown
        capability_groups[capability] = frozenset(shown).intersection(
            *(statements[k] for k in keys))
    return FigureVisibility(statements, capability_groups)


def hide_figures(scores: GroupScores, statements: Collection[str],
                 capabilities: Collection[str]) -> GroupScores:
    """``scores`` without the figures of some statements and capabilities (rule 3).

    A hidden statement or capability keeps its key and name but shows nothing: no estimate, no
    answers. The index and its interval go too when any capability goes, since the index is the
    mean of every capability's mean.
    """
    if not statements and not capabilities:
        return scores
    kept = []
    for capability in scores.capabilities:
        shown_statements = tuple(
            replace(s, estimate=None, distribution=NO_ANSWERS) if s.key in statements else s
            for s in capability.statements
        )
        if capability.key in capabilities:
            capability = replace(capability, estimate=None, distribution=NO_ANSWERS)
        kept.append(replace(capability, statements=shown_statements))
    every_capability = not any(c.key in capabilities for c in scores.capabilities)
    return replace(scores, capabilities=tuple(kept),
                   index=scores.index if every_capability else None,
                   index_estimate=scores.index_estimate if every_capability else None)


# --- Improvement ideas -------------------------------------------------------------------------

EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Phone numbers: 7+ digits with the usual separators, optionally with a leading +.
PHONE_RE = re.compile(r"(?<![\w])\+?\d(?:[\d ()./-]{5,}\d)(?![\w])")


def mask_contact_details(text: str) -> str:
    """Replace e-mail addresses and phone numbers with a marker."""
    text = EMAIL_RE.sub("[e-mail removed]", text)

    def phone(match: re.Match) -> str:
        digits = sum(c.isdigit() for c in match.group(0))
        return "[phone number removed]" if digits >= 7 else match.group(0)

    return PHONE_RE.sub(phone, text)


def present_comments(comments: Sequence[tuple[int, str]], seed: str) -> list[str]:
    """Comments for display: masked, in an order that says nothing about when they came.

    ``comments`` are (random id, text) pairs; the order is a shuffle seeded by ``seed`` (for
    example the round and team), so a report and its page show the same order.
    """
    ordered = sorted(comments)
    random.Random(seed).shuffle(ordered)
    return [mask_contact_details(text) for _, text in ordered]
