"""Every published figure of a group is a function of its per-statement answer counts.

Two sets of responses with the same counts (how many answered 1, 2, 3, 4, 5 to each statement,
and how many responded) differ only in who gave which answer: each statement's answers,
skips included, shuffled among the respondents independently of the other statements. If the
figures are the same for both, a group publishes nothing but its statement histograms, which is
what the confidentiality rules protect (docs/SECURITY.md, "The figures and why they are safe
together").
"""

import random
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from surveyapp.analysis.confidentiality import ORGANISATION
from surveyapp.analysis.report import (
    ResponseRow,
    RoundContext,
    RoundInfo,
    TeamRow,
    build_report,
    tally_by_team,
)
from surveyapp.analysis.scores import score_group, score_tally
from surveyapp.analysis.tally import tally

from ..profiles import examples
from .test_tally import INSTRUMENT, KEYS, answers


def shuffled(responses: list[dict[str, int]], rng: random.Random) -> list[dict[str, int]]:
    """The same per-statement counts: each statement's answers (and skips) shuffled among the
    responses, each statement on its own."""
    out: list[dict[str, int]] = [{} for _ in responses]
    for key in KEYS:
        column = [r.get(key) for r in responses]
        rng.shuffle(column)
        for row, value in zip(out, column, strict=True):
            if value is not None:
                row[key] = value
    return out


@settings(max_examples=examples(300))
@given(st.lists(answers, max_size=25), st.randoms(use_true_random=False))
def test_a_groups_scores_depend_only_on_its_answer_counts(responses, rng):
    other = shuffled(responses, rng)
    assert score_group(INSTRUMENT, other) == score_group(INSTRUMENT, responses)
    for statements in (True, False):
        assert (score_tally(INSTRUMENT, tally(INSTRUMENT, other), statements)
                == score_tally(INSTRUMENT, tally(INSTRUMENT, responses), statements))


# A round's tree: Operations (1, people of its own) above Care (2) and Depot (3); Sales (4).
TEAMS = {
    1: TeamRow(1, None, "Operations", "Operations", 9),
    2: TeamRow(2, 1, "Care", "Operations/Care", 9),
    3: TeamRow(3, 1, "Depot", "Operations/Depot", 9),
    4: TeamRow(4, None, "Sales", "Sales", 9),
}


def context(round_id: int, rows: list[ResponseRow]) -> RoundContext:
    info = RoundInfo(round_id, f"Round {round_id}", INSTRUMENT, 3, 3, date(2026, 3, 1),
                     date(2026, 3, 14), "closed")
    counts: dict[int, int] = {}
    for row in rows:
        counts[row.team_id] = counts.get(row.team_id, 0) + 1
    return RoundContext(info, TEAMS, counts, tally_by_team(INSTRUMENT, rows))


def rows_of(by_team: dict[int, list[dict[str, int]]]) -> list[ResponseRow]:
    rows = []
    for team_id, team in by_team.items():
        rows += [ResponseRow(len(rows) + i, team_id, a) for i, a in enumerate(team)]
    return rows


rounds = st.fixed_dictionaries({team: st.lists(answers, max_size=8) for team in TEAMS})


@settings(max_examples=examples(150))
@given(rounds, rounds, st.randoms(use_true_random=False))
def test_every_figure_and_change_of_a_report_depends_only_on_the_teams_answer_counts(
        before, now, rng):
    """Each team's answers shuffled within the team: every group's counts stay the same, and
    so must everything its report shows (scores, heatmap, changes since the round before)."""
    reports = []
    for version in range(2):
        if version:
            before = {t: shuffled(r, rng) for t, r in before.items()}
            now = {t: shuffled(r, rng) for t, r in now.items()}
        previous_ctx, ctx = context(1, rows_of(before)), context(2, rows_of(now))
        reports.append([
            build_report(organisation="Org", ctx=ctx, group_id=group, tallies=ctx.tallies,
                         comments=[], previous_ctx=previous_ctx,
                         previous_tallies=previous_ctx.tallies)
            for group in [ORGANISATION, *TEAMS]
        ])
    assert reports[0] == reports[1]
