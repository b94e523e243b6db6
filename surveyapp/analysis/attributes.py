"""Coarse attributes that never narrow a response down to fewer people than the minimum.

A response is stored with its team and the person's location, role level and tenure band, for
breakdowns. Taken together, those can be unique within a team (the only senior person in
Leeds with under a year's service), and whoever reads the database also knows who took part:
the attributes would then name the person. So, per team, over the people who submitted:

1. each attribute's values held by fewer than the minimum become None ("not recorded or
   shared by too few"); if the people left with None are then fewer than the minimum (but
   some), the rarest remaining value joins them, until None is empty or large enough;
2. if some combination of the attributes is still held by fewer than the minimum, the last
   attribute (tenure band, then role level, then location) is dropped for everyone in the
   team, until every combination stored is shared by at least the minimum.

A team with fewer respondents than the minimum keeps no attribute at all. The respondents,
not the people invited, are counted because the participation (who took part) is known to
whoever reads the database.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

#: The attributes in the order they are kept: the last is given up first.
ATTRIBUTES = ("location", "role_level", "tenure_band")

Attributes = tuple[str | None, ...]


def shared_attributes(people: Sequence[Attributes], minimum: int) -> list[Attributes]:
    """Coarsen one team's respondents' attributes (one tuple per response, in ``ATTRIBUTES``
    order) by the rules of the module docstring; the result is in the same order."""
    count = len(people)
    width = len(ATTRIBUTES)
    if count < minimum:
        return [(None,) * width for _ in people]
    columns = [_common_values([person[i] for person in people], minimum) for i in range(width)]
    kept = width
    while kept:
        combinations = Counter(tuple(column[j] for column in columns[:kept])
                               for j in range(count))
        if min(combinations.values()) >= minimum:
            break
        kept -= 1
    return [tuple(columns[i][j] if i < kept else None for i in range(width))
            for j in range(count)]


def _common_values(values: list[str | None], minimum: int) -> list[str | None]:
    """One attribute's values, with those held by fewer than ``minimum`` (and, while the
    people left without a value are some but too few, the rarest others) replaced by None."""
    counts = Counter(v for v in values if v is not None)
    values = [v if v is not None and counts[v] >= minimum else None for v in values]
    while 0 < values.count(None) < minimum:
        counts = Counter(v for v in values if v is not None)
        rarest = min(counts, key=lambda v: (counts[v], v))
        values = [None if v == rarest else v for v in values]
    return values
