import dataclasses
import threading
from datetime import date

import pytest

from surveyapp.analysis import report as report_module
from surveyapp.analysis.confidentiality import ORGANISATION
from surveyapp.analysis.report import (
    CommentRow,
    ResponseRow,
    RoundContext,
    RoundInfo,
    TeamRow,
    build_report,
    tally_by_team,
)
from surveyapp.instrument import Capability, Instrument, Question, ScalePoint, Statement

INSTRUMENT = Instrument(
    id="t", version=1, title="t", scale=tuple(ScalePoint(v, str(v)) for v in range(1, 6)),
    capabilities=(
        Capability("A", "Alpha", "", (Statement("a1", "A one"), Statement("a2", "A two"))),
        Capability("B", "Beta", "", (Statement("b1", "B one"), Statement("b2", "B two"))),
    ),
    questions=(Question("improve", "What would you do?"),),
)

# Ops (1) -> Care (2) 5 responses, Field (3) 2, Depot (5) 4 ; Sales (4) 6 responses.
# Field and Depot are hidden; together (6) they can be derived from Ops - Care, which is safe.
TEAMS = {
    1: TeamRow(1, None, "Operations", "Operations", 0),
    2: TeamRow(2, 1, "Care", "Operations/Care", 6),
    3: TeamRow(3, 1, "Field", "Operations/Field", 4),
    4: TeamRow(4, None, "Sales", "Sales", 8),
    5: TeamRow(5, 1, "Depot", "Operations/Depot", 5),
}


def info(round_id=2, name="Spring"):
    return RoundInfo(round_id, name, INSTRUMENT, 5, 5, date(2026, 3, 1), date(2026, 3, 14), "closed")


def responses(spec):
    rows, n = [], 0
    for team_id, answer_sets in spec.items():
        for answers in answer_sets:
            n += 1
            rows.append(ResponseRow(n, team_id, answers))
    return rows


CARE = [{"a1": 5, "a2": 5, "b1": 2, "b2": 2}] * 3 + [{"a1": 4, "a2": 4, "b1": 3, "b2": 3}] * 2
FIELD = [{"a1": 1, "a2": 1, "b1": 1, "b2": 1}] * 2
SALES = [{"a1": 3, "a2": 4, "b1": 4, "b2": 5}] * 6
DEPOT = [{"a1": 3, "a2": 3, "b1": 3}] * 4
NOW = responses({2: CARE, 3: FIELD, 4: SALES, 5: DEPOT})


def tallies(rows):
    return tally_by_team(INSTRUMENT, rows)


def context(rows=NOW, round_info=None):
    counts = {}
    for r in rows:
        counts[r.team_id] = counts.get(r.team_id, 0) + 1
    return RoundContext(round_info or info(), TEAMS, counts)


def test_a_shown_team_has_scores_and_a_response_rate():
    report = build_report(organisation="Org", ctx=context(), group_id=2, tallies=tallies(NOW), comments=[])
    assert report.respondents == 5
    assert report.response_rate == pytest.approx(5 / 6)
    # A: three people at 5, two at 4 -> 4.6 ; B: three at 2, two at 3 -> 2.4 ; index 3.5
    assert report.scores.capability("A").mean == pytest.approx(4.6)
    assert report.scores.index == pytest.approx(3.5)


def test_a_hidden_team_has_no_figure_at_all():
    report = build_report(organisation="Org", ctx=context(), group_id=3, tallies=tallies(NOW), comments=[])
    assert report.scores is None and report.respondents is None and report.response_rate is None
    assert report.strengths == () and report.ideas is None


def test_heatmap_marks_small_teams_hidden():
    report = build_report(organisation="Org", ctx=context(), group_id=1, tallies=tallies(NOW), comments=[])
    assert report.shown
    assert [(row.name, row.shown) for row in report.heatmap] == [
        ("Care", True), ("Depot", False), ("Field", False)]


def test_a_lone_small_team_hides_its_sibling_too():
    rows = responses({2: CARE, 3: FIELD, 4: SALES})
    report = build_report(organisation="Org", ctx=context(rows), group_id=1, tallies=tallies(rows),
                          comments=[])
    # Operations (7) = Care (5) + Field (2): Care must be hidden too, or Field = Ops - Care.
    assert [(row.name, row.shown) for row in report.heatmap] == [
        ("Care", False), ("Depot", False), ("Field", False)]


def test_organisation_heatmap_lists_every_team_below_its_parent_with_its_depth():
    report = build_report(organisation="Org", ctx=context(), group_id=ORGANISATION,
                          tallies=tallies(NOW), comments=[])
    assert [(row.name, row.depth, row.shown) for row in report.heatmap] == [
        ("Operations", 1, True), ("Care", 2, True), ("Depot", 2, False), ("Field", 2, False),
        ("Sales", 1, True)]
    # Each row counts its whole subtree: Operations = Care 5 + Field 2 + Depot 4.
    assert report.heatmap[0].scores.respondents == 11


def test_organisation_report_covers_every_team():
    report = build_report(organisation="Org", ctx=context(), group_id=ORGANISATION,
                          tallies=tallies(NOW), comments=[])
    assert report.name == "Org"
    assert report.respondents == 17
    assert report.invited == 23


def test_strengths_and_gaps_rank_by_favourable_share():
    report = build_report(organisation="Org", ctx=context(), group_id=4, tallies=tallies(NOW), comments=[])
    # Sales: a1 all 3 (0% fav), a2 all 4, b1 all 4, b2 all 5 (100% fav; b2 has the top mean)
    assert [s.key for s in report.strengths] == ["b2", "b1", "a2"]
    assert [s.key for s in report.gaps] == ["a1"]


def test_change_since_the_previous_round_of_the_same_team():
    before_rows = responses({2: [{"a1": 2, "a2": 2, "b1": 2, "b2": 2}] * 5, 3: FIELD, 4: SALES,
                             5: DEPOT})
    previous = context(before_rows, info(round_id=1, name="Autumn"))
    report = build_report(organisation="Org", ctx=context(), group_id=2, tallies=tallies(NOW),
                          comments=[], previous_ctx=previous, previous_tallies=tallies(before_rows))
    assert report.previous_round == "Autumn"
    a = report.capability_changes["A"]
    assert a.delta == pytest.approx(4.6 - 2.0)
    # Now: scores 5,5,5,4,4 -> variance 0.3, se = sqrt(0.3 / 5) = 0.244949; before: no spread.
    # margin = 1.959964 * sqrt(0.244949^2 + 0^2) = 0.480091 < 2.6, so a real change.
    assert a.margin == pytest.approx(0.480091, abs=1e-6)
    assert a.is_real


def test_ideas_are_shown_masked_only_for_groups_at_the_comment_minimum():
    comments = [CommentRow(10, 2, "improve", "Call me on 07700 900123"),
                CommentRow(11, 3, "improve", "Field idea")]
    ctx = context()
    care = build_report(organisation="Org", ctx=ctx, group_id=2, tallies=tallies(NOW), comments=comments)
    field = build_report(organisation="Org", ctx=ctx, group_id=3, tallies=tallies(NOW), comments=comments)
    ops = build_report(organisation="Org", ctx=ctx, group_id=1, tallies=tallies(NOW), comments=comments)
    assert care.ideas[0].texts == ("Call me on [phone number removed]",)
    assert field.ideas is None
    assert sorted(ops.ideas[0].texts) == ["Call me on [phone number removed]", "Field idea"]


def test_a_context_with_its_own_tallies_scores_each_group_once_with_the_same_figures():
    own = tallies(NOW)
    counts = {team_id: t.responses for team_id, t in own.items()}
    ctx = RoundContext(info(), TEAMS, counts, own)
    # The same context, given tallies that are not its own: nothing is kept.
    uncached = build_report(organisation="Org", ctx=RoundContext(info(), TEAMS, counts, own),
                            group_id=ORGANISATION, tallies=tallies(NOW), comments=[])
    first = build_report(organisation="Org", ctx=ctx, group_id=ORGANISATION, tallies=own,
                         comments=[])
    again = build_report(organisation="Org", ctx=ctx, group_id=1, tallies=own, comments=[])
    assert first.scores == uncached.scores
    assert [row.scores for row in first.heatmap] == [row.scores for row in uncached.heatmap]
    # The second report reuses the first one's figures: the very same objects.
    care = next(row for row in again.heatmap if row.team_id == 2)
    assert care.scores is next(row for row in first.heatmap if row.team_id == 2).scores
    assert again.scores is ctx.scores(1, statements=False) is ctx.scores(1)
    # A heatmap row has no statement figures; a group's own report has them all.
    assert care.scores.statements == () and len(first.scores.statements) == 4


def test_a_context_cannot_be_changed():
    ctx = context()
    with pytest.raises(dataclasses.FrozenInstanceError):
        ctx.scores_visibility = None
    assert ctx.children == {ORGANISATION: (1, 4), 1: (2, 5, 3), 2: (), 3: (), 4: (), 5: ()}


def test_threads_sharing_a_context_score_each_group_once_and_get_the_same_figures(monkeypatch):
    own = tallies(NOW)
    ctx = RoundContext(info(), TEAMS, {t: tally.responses for t, tally in own.items()}, own)
    scored, original = [], report_module.score_tally

    def score_slowly(instrument, tally, statements=True):
        scored.append(tally)
        threading.Event().wait(0.01)  # let the other threads ask meanwhile
        return original(instrument, tally, statements)

    monkeypatch.setattr(report_module, "score_tally", score_slowly)
    start, results = threading.Barrier(8), []

    def ask():
        start.wait()
        results.append([ctx.scores(group) for group in (ORGANISATION, 1, 2, 4)])

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(scored) == 4  # the shown groups, once each, whoever asked first
    assert all(all(a is b for a, b in zip(r, results[0], strict=True)) for r in results)
