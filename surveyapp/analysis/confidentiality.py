"""Confidentiality rules, in one place, used by every output (pages, PDF, CSV, CLI).

A reporting group is a team together with every team below it. Its figures are shown only when
the rules here say so; a hidden group shows nothing at all, so that it looks the same whether it
has 0 or 4 responses.

1. Primary suppression: a group with fewer responses than the round's minimum is hidden.
2. Complementary suppression: for every shown group V, the responses that are in V but in no
   shown group below it (the "residue": V minus its largest shown sub-groups) can be worked out
   by subtraction. The residue must therefore be empty of hidden teams and of V's own people's
   responses, or hold at least the minimum. When it does not, the smallest shown sub-group is
   hidden too, and the check repeats until every residue is safe.

3. Figures of one statement or one capability: people may skip statements, so a statement's
   figures rest on the people who answered it, and a capability's on the people with a score
   for it (at least half its statements answered), who can be fewer than the group's responses.
   Rules 1 and 2 therefore run again for each statement, on the counts of its answers, among
   the shown groups only; then for each capability, on the counts of people with a score,
   among the groups where every one of its statements is shown (its answers are the sum of its
   statements' answers, so a capability shown beside all but one of its statements would give
   that one away). A group's index needs every capability (it is their mean).

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
                smallest = min(frontier, key=lambda g: (totals[g], g))
                shown.discard(smallest)
                changed = True
                break
    return Visibility(minimum=minimum, totals=totals, shown=frozenset(shown))


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
                             answered: Mapping[int, Mapping[str, int]],
                             scored: Mapping[int, Mapping[str, int]], minimum: int,
                             shown: Collection[int]) -> FigureVisibility:
    """Apply rule 3 to a round's tree.

    :param capabilities: each capability's statement keys.
    :param answered: per team (its own people), the number of responses that answered each
        statement. :param scored: per team, the number with a score for each capability.
    :param shown: the groups shown by rules 1 and 2.
    """

    def counted(counts: Mapping[int, Mapping[str, int]], key: str) -> list[GroupNode]:
        return [replace(n, responses=counts.get(n.id, {}).get(key, 0)) for n in nodes]

    statements: dict[str, frozenset[int]] = {}
    capability_groups: dict[str, frozenset[int]] = {}
    for capability, keys in capabilities.items():
        for key in keys:
            statements[key] = decide_visibility(counted(answered, key), minimum, shown).shown
        every_statement = frozenset(shown).intersection(*(statements[k] for k in keys))
        capability_groups[capability] = decide_visibility(
            counted(scored, capability), minimum, every_statement).shown
    return FigureVisibility(statements, capability_groups)


def hide_figures(scores: GroupScores, statements: Collection[str],
                 capabilities: Collection[str]) -> GroupScores:
    """``scores`` without the figures of some statements and capabilities (rule 3).

    A hidden statement or capability keeps its key and name but shows nothing: no estimate, no
    answers, no respondents, no alpha. The index and its interval go too when any capability
    goes, since the index is the mean of every capability's mean.
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
            capability = replace(capability, respondents=0, estimate=None,
                                 distribution=NO_ANSWERS, alpha=None)
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
