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

The same rules run with the comment minimum to decide where improvement ideas can be shown
(comments are subtractable too: parent's ideas minus a child's ideas).
The whole round is checked at once (with the whole organisation as the top group), so that
every viewer sees the same figures and no two views can be combined to reveal more.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

#: The id of the whole-organisation group (the round's top).
ORGANISATION = 0


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


def decide_visibility(nodes: Iterable[GroupNode], minimum: int) -> Visibility:
    """Apply primary and complementary suppression to a round's team tree.

    Nodes whose parent is None (or not among the nodes) hang under ``ORGANISATION``.
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
    shown = {g for g, total in totals.items() if total >= minimum}

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
