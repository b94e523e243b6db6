"""The organisation tree as plain values: paths, subtrees and ordering, built from (id, parent, name).

Pure Python, so it can be used by views, operations, reports and the CSV importer alike and
tested without a database. Loading all teams once and walking them in memory is cheaper than
recursive queries at the sizes this product targets (thousands of teams).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

PATH_SEPARATOR = "/"


@dataclass(frozen=True)
class Node:
    id: int
    parent_id: int | None
    name: str
    archived: bool = False


@dataclass
class OrgTree:
    nodes: dict[int, Node]
    children: dict[int | None, list[int]] = field(default_factory=dict)

    @classmethod
    def build(cls, rows: Iterable[tuple[int, int | None, str] | tuple[int, int | None, str, bool]]):
        nodes = {}
        for row in rows:
            node = Node(*row)
            nodes[node.id] = node
        children: dict[int | None, list[int]] = {}
        for node in nodes.values():
            children.setdefault(node.parent_id, []).append(node.id)
        for ids in children.values():
            ids.sort(key=lambda i: nodes[i].name.casefold())
        return cls(nodes, children)

    def path(self, team_id: int) -> str:
        """Return "Operations/Customer Care/North" for a team."""
        return PATH_SEPARATOR.join(self.nodes[i].name for i in self.ancestry(team_id))

    def ancestry(self, team_id: int) -> list[int]:
        """Return the ids from the root down to ``team_id`` itself."""
        chain = []
        current: int | None = team_id
        seen = set()
        while current is not None:
            if current in seen:  # a cycle would be a bug elsewhere; never loop forever
                raise ValueError(f"team {current} is its own ancestor")
            seen.add(current)
            chain.append(current)
            current = self.nodes[current].parent_id
        return list(reversed(chain))

    def depth(self, team_id: int) -> int:
        return len(self.ancestry(team_id)) - 1

    def subtree(self, team_id: int) -> list[int]:
        """Return ``team_id`` and every team below it, depth first in name order."""
        out = []
        stack = [team_id]
        while stack:
            current = stack.pop()
            out.append(current)
            stack.extend(reversed(self.children.get(current, [])))
        return out

    def subtree_of_any(self, team_ids: Iterable[int]) -> set[int]:
        result: set[int] = set()
        for team_id in team_ids:
            if team_id in self.nodes and team_id not in result:
                result.update(self.subtree(team_id))
        return result

    def roots(self) -> list[int]:
        return list(self.children.get(None, []))

    def walk(self) -> list[int]:
        """Every team, depth first from the roots, siblings in name order."""
        out = []
        for root in self.roots():
            out.extend(self.subtree(root))
        return out

    def by_path(self) -> dict[str, int]:
        """Map the case-folded path of every team to its id."""
        return {self.path(i).casefold(): i for i in self.nodes}


def split_path(path: str) -> list[str]:
    """Split "Operations / Customer Care/North" into clean names; empty parts are dropped."""
    return [part.strip() for part in path.split(PATH_SEPARATOR) if part.strip()]
