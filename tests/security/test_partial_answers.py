"""Partial answers: the published figures must not single out someone who skipped statements.

A capability score that averaged each person's own answers weighted a partial answerer's
answers differently from everyone else's, while the statement figures counted every answer
alike. A leader who set the two side by side could then isolate that person's answers:

    n × capability mean − Σ statement sums / 4  =  (1/k − 1/4) × the partial answerer's sum

for someone who answered k of a capability's four statements (everyone else answered all
four). Two organisations show it: a team of six where one person answered three of four
statements, and a team of nine whose hidden sub-team holds someone who answered two.

Each comes twice, in teams whose answers have the same per-statement counts and differ only
in who gave which answer: the partial answerer disagrees with everything (all 1s) in one and
agrees with everything (all 5s) in the other. The leader downloads each team's PDF and CSV and
runs the algebra above on what they print. The attack must fail in both, and the two teams'
figures must be the same, so that no other algebra can tell them apart either.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import timedelta
from fractions import Fraction
from itertools import product

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from surveyapp.clock import today
from surveyapp.instrument import load_default
from surveyapp.models import Invitation, Role
from surveyapp.rounds.operations import close_round, create_round, launch_round
from surveyapp.survey.storage import save_draft, submit_response

from .conftest import signed_in

# slow: attacks and fuzzing, left to the full run by scripts/test --quick.
pytestmark = [pytest.mark.both_databases, pytest.mark.slow]


INSTRUMENT = load_default()
TARGET = INSTRUMENT.capabilities[0]
TARGET_KEYS = [s.key for s in TARGET.statements]
OTHER_KEYS = [k for k in INSTRUMENT.statement_keys if k not in TARGET_KEYS]
#: The answers to the target capability of everyone who answered all its statements, in the
#: order they are submitted (the partial answerer comes first).
FULL = [(4, 3, 4, 4), (3, 4, 3, 5), (4, 4, 5, 3), (5, 3, 4, 4), (3, 4, 4, 2), (4, 5, 3, 4),
        (2, 4, 4, 3), (4, 3, 2, 4)]
#: Team (parent) -> people, in the order they are invited.
TEAMS = {"Harbour": (None, 6), "Quay": (None, 6),
         "Depot": (None, 5), "Night Shift": ("Depot", 4),
         "Yard": (None, 5), "Late Shift": ("Yard", 4)}


@dataclass(frozen=True)
class Case:
    """A team whose figures a leader reads, and the partial answerer's true answers."""

    team: str
    #: The partial answerer's answers to the statements they answered (the first ``k``).
    answers: tuple[int, ...]


#: Harbour and Quay, Depot and Yard: the same counts of each answer to each statement.
CASES = {"Harbour": Case("Harbour", (1, 1, 1)), "Quay": Case("Quay", (5, 5, 5)),
         "Depot": Case("Depot", (1, 1)), "Yard": Case("Yard", (5, 5))}


def team_answers(partial: tuple[int, ...], others: int, swap: bool) -> list[dict[str, int]]:
    """The answers of a team with one partial answerer (first) and ``others`` full answerers.

    With ``swap`` the partial answerer's answers and those of a full answerer who gave the
    opposite extreme change places (statement by statement), which leaves every statement's
    counts as they were.
    """
    k = len(partial)
    opposite = tuple(6 - a for a in partial)
    rows = [list(partial) + [None] * (4 - k)]
    rows += [list(opposite) + list(FULL[0][k:])] + [list(r) for r in FULL[1:others]]
    if swap:
        for i in range(k):
            rows[0][i], rows[1][i] = rows[1][i], rows[0][i]
    return [{**{key: v for key, v in zip(TARGET_KEYS, row, strict=True) if v is not None},
             **{key: 4 for key in OTHER_KEYS}} for row in rows]


#: Answers by team, in the order of its invitations. Night Shift / Late Shift hold the partial
#: answerer and three of the full answerers; Depot / Yard's own five people the rest.
ANSWERS = {
    "Harbour": team_answers((1, 1, 1), 5, swap=False),
    "Quay": team_answers((1, 1, 1), 5, swap=True),
}
_nine = team_answers((1, 1), 8, swap=False)
_nine_swapped = team_answers((1, 1), 8, swap=True)
ANSWERS |= {"Night Shift": _nine[:4], "Depot": _nine[4:],
            "Late Shift": _nine_swapped[:4], "Yard": _nine_swapped[4:]}


@dataclass
class Organisation:
    round_id: int
    teams: dict[str, int]
    leaders: dict[str, str]


@pytest.fixture
def organisation(db, make_team, make_person, make_user) -> Organisation:
    teams = {}
    for name, (parent, size) in TEAMS.items():
        teams[name] = make_team(name, parent=teams.get(parent))
        for _ in range(size):
            make_person(team=teams[name])
    leaders = {name: make_user(Role.LEADER, teams=[teams[name]]).email for name in CASES}
    now = today()
    round_ = create_round(name="Spring", teams=[t for n, t in teams.items() if not TEAMS[n][0]],
                          opens_on=now, closes_on=now + timedelta(days=14), today=now,
                          min_group_size=5)
    launch_round(round_, today=now)
    db.session.commit()
    names = {t.id: n for n, t in teams.items()}
    given = {name: iter(answers) for name, answers in ANSWERS.items()}
    invitations = db.session.scalars(select(Invitation).where(Invitation.round_id == round_.id)
                                     .order_by(Invitation.person_id))
    for invitation in invitations:
        save_draft(invitation, next(given[names[invitation.team_id]]), {})
        submit_response(invitation)
    db.session.commit()
    close_round(round_)
    db.session.commit()
    result = Organisation(round_.id, {n: t.id for n, t in teams.items()}, leaders)
    db.session.rollback()
    return result


# --- what the leader reads ---------------------------------------------------------------------


@dataclass(frozen=True)
class Published:
    """The figures of the target capability that a team's PDF and CSV print."""

    responses: int
    #: The capability's mean as the CSV prints it, or None when it is not shown.
    mean: Fraction | None
    #: (answers, mean) of each statement of the capability, as the PDF prints them.
    statements: tuple[tuple[int, Fraction], ...]
    #: The capability's page in the PDF, without the team's name: every figure it prints.
    page: str


def read_published(app, org: Organisation, team: str) -> Published:
    client = signed_in(app, org.leaders[team])
    base = f"/reports/{org.round_id}/{org.teams[team]}"
    response = client.get(base + "/aggregates.csv")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    (index,) = [r for r in rows if r["team"] == team and r["capability"] == "index"]
    (row,) = [r for r in rows if r["team"] == team and r["capability"] == TARGET.name]
    pdf = client.get(base + "/report.pdf")
    assert pdf.status_code == 200
    pages = [p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages]
    (page,) = [p for p in pages if f"CAPABILITY 1 OF {len(INSTRUMENT.capabilities)}" in p]
    statements = []
    text = " ".join(page.split())
    for statement in TARGET.statements:
        found = re.search(re.escape(" ".join(statement.text.split())) + r" ?(\d+) answers?.*?"
                          r"(\d+\.\d\d)", text)
        assert found, (statement.text, text)
        statements.append((int(found.group(1)), Fraction(found.group(2))))
    return Published(int(index["respondents"]), Fraction(row["mean"]) if row["mean"] else None,
                     tuple(statements), page.replace(team, "TEAM"))


def recover(published: Published) -> tuple[int, ...] | None:
    """The partial answerer's answers by the algebra in the module docstring, or None.

    The statements that fewer people answered than responded are the ones the partial answerer
    skipped; statement sums are exact (a mean to two decimals times fewer than 100 answers);
    the capability mean to two decimals leaves the sum within a third of the truth.
    """
    n = published.responses
    k = sum(1 for count, _ in published.statements if count == n)
    if published.mean is None or not 0 < k < len(published.statements):
        return None
    sums = [round(count * mean) for count, mean in published.statements]
    estimate = (n * published.mean - Fraction(sum(sums), 4)) / (Fraction(1, k) - Fraction(1, 4))
    total = round(estimate)
    if abs(estimate - total) > Fraction(4, 10):
        return None  # not the figure of anyone's whole answers
    candidates = [a for a in product(range(1, 6), repeat=k) if sum(a) == total]
    return candidates[0] if len(candidates) == 1 else None


# --- the tests ---------------------------------------------------------------------------------


@pytest.mark.parametrize("team", ["Harbour", "Quay"])
def test_the_answers_of_one_of_six_who_skipped_a_statement_cannot_be_recovered(
        app, organisation, team):
    published = read_published(app, organisation, team)
    assert published.mean is not None  # the capability is shown: the attack has its figures
    assert recover(published) != CASES[team].answers, published


@pytest.mark.parametrize("team", ["Depot", "Yard"])
def test_the_answers_of_a_hidden_sub_teams_member_who_skipped_half_cannot_be_recovered(
        app, organisation, team):
    published = read_published(app, organisation, team)
    assert published.mean is not None and published.responses == 9
    assert recover(published) != CASES[team].answers, published


@pytest.mark.parametrize("first, second", [("Harbour", "Quay"), ("Depot", "Yard")])
def test_teams_that_differ_only_in_who_gave_which_answer_publish_the_same_figures(
        app, organisation, first, second):
    one, other = (read_published(app, organisation, team) for team in (first, second))
    assert one == other
