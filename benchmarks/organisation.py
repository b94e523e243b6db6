"""The synthetic organisation as plain values: sizes, the team tree, people and who responds.

Everything is seeded, so the same sizes give the same organisation on every machine and on
both databases. Nothing here touches a database (benchmarks/build.py writes it).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from surveyapp.demo import FIRST_NAMES, SURNAMES, TENURE_BANDS

SEED = 6

LOCATIONS = ("Leeds", "Bristol", "Glasgow", "Cardiff", "Remote")
LOCATION_WEIGHTS = (5, 4, 3, 2, 3)
MEMBER, LEAD, MANAGER = "Team member", "Team lead", "Manager"

DIVISIONS = ("Operations", "Customer Care", "Field Service", "Sales & Accounts", "Logistics",
             "Technology", "Finance", "People & HR")
REGIONS = ("North", "South", "East", "West", "Central")
#: People a team has itself (not counting teams below), by level, for teams that are not leaves.
OWN_HEADCOUNT = (10, 12, 8, 5)


@dataclass(frozen=True)
class Sizes:
    """How big the organisation is. ``levels`` counts the teams on each level, top first."""

    name: str
    levels: tuple[int, ...]
    people: int
    #: Responses in each of the two closed rounds.
    responses: int
    #: Invitations of the open round with a saved draft: the survey links the load runs use.
    drafts: int

    @property
    def teams(self) -> int:
        return sum(self.levels)


FULL = Sizes("full", (1, 8, 40, 240, 1711), 100_000, 80_000, 40_000)
QUICK = Sizes("quick", (1, 2, 4, 8, 25), 2_000, 1_600, 1_600)


@dataclass(frozen=True)
class TeamSpec:
    id: int
    parent_id: int | None
    name: str
    level: int  # 0 at the top


@dataclass(frozen=True)
class PersonSpec:
    id: int
    email: str
    name: str
    team_id: int
    location: str
    role_level: str
    tenure_band: str


def build_teams(sizes: Sizes) -> list[TeamSpec]:
    """The tree: each level's teams split evenly, in contiguous blocks, under the level above."""
    teams: list[TeamSpec] = []
    previous: list[TeamSpec] = []
    next_id = 1
    for level, count in enumerate(sizes.levels):
        current = []
        siblings: dict[int | None, int] = {}
        for index in range(count):
            parent = previous[index * len(previous) // count] if previous else None
            parent_id = parent.id if parent else None
            n = siblings[parent_id] = siblings.get(parent_id, 0) + 1
            current.append(TeamSpec(next_id, parent_id, _team_name(level, n), level))
            next_id += 1
        teams.extend(current)
        previous = current
    return teams


def _team_name(level: int, n: int) -> str:
    if level == 0:
        return "Northwind Services"
    if level == 1:
        return DIVISIONS[n - 1] if n <= len(DIVISIONS) else f"Division {n}"
    if level == 2:
        return REGIONS[n - 1] if n <= len(REGIONS) else f"Region {n}"
    return f"{'Group' if level == 3 else 'Team'} {n}"


def headcounts(sizes: Sizes, teams: list[TeamSpec], rng: random.Random) -> dict[int, int]:
    """People per team (own people only). Leaves vary widely; one in twenty is tiny (2 to 6),
    so that small groups are hidden and their parents need complementary suppression."""
    parents = {t.parent_id for t in teams}
    counts = {t.id: OWN_HEADCOUNT[min(t.level, len(OWN_HEADCOUNT) - 1)]
              for t in teams if t.id in parents}
    leaves = [t for t in teams if t.id not in parents]
    tiny = {t.id: rng.randint(2, 6) for t in leaves if rng.random() < 0.05}
    rest = sizes.people - sum(counts.values()) - sum(tiny.values())
    weights = {t.id: rng.lognormvariate(0, 0.45) for t in leaves if t.id not in tiny}
    total = sum(weights.values())
    shares = {team_id: rest * w / total for team_id, w in weights.items()}
    allotted = {team_id: int(share) for team_id, share in shares.items()}
    remainder = rest - sum(allotted.values())
    for team_id in sorted(shares, key=lambda t: shares[t] - allotted[t], reverse=True)[:remainder]:
        allotted[team_id] += 1
    counts.update(tiny)
    counts.update(allotted)
    return counts


def build_people(teams: list[TeamSpec], counts: dict[int, int],
                 rng: random.Random) -> list[PersonSpec]:
    """Everyone, team by team: a lead in each leaf team, managers in the teams above."""
    people = []
    leaves = {t.id for t in teams} - {t.parent_id for t in teams}
    for team in teams:
        for position in range(counts[team.id]):
            person_id = len(people) + 1
            first, last = rng.choice(FIRST_NAMES), rng.choice(SURNAMES)
            if team.id in leaves:
                role = LEAD if position == 0 else MEMBER
            else:
                role = MANAGER if position < 3 else LEAD
            tenure = rng.choices(TENURE_BANDS, (3, 4, 3) if role == MEMBER else (1, 3, 6))[0]
            people.append(PersonSpec(
                person_id, f"person{person_id:06d}@bench.example", f"{first} {last}", team.id,
                rng.choices(LOCATIONS, LOCATION_WEIGHTS)[0], role, tenure,
            ))
    return people


def respondents(people: list[PersonSpec], teams: list[TeamSpec], count: int,
                rng: random.Random) -> list[PersonSpec]:
    """Exactly ``count`` people, drawn with a response rate per team (mostly 65% to 95%)."""
    rates = {t.id: min(0.99, max(0.3, rng.gauss(0.8, 0.1))) for t in teams}
    keyed = sorted(people, key=lambda p: rng.random() / rates[p.team_id])
    return sorted(keyed[:count], key=lambda p: p.id)


def paths(teams: list[TeamSpec]) -> dict[int, str]:
    """Every team's path; parents come before their children in ``teams``."""
    out: dict[int, str] = {}
    for team in teams:
        out[team.id] = team.name if team.parent_id is None else f"{out[team.parent_id]}/{team.name}"
    return out
