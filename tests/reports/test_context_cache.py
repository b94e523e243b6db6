"""A closed round's context (its tallies and what may be shown) is built once per app."""

from datetime import timedelta

import pytest

from surveyapp.analysis import report as report_rules
from surveyapp.clock import today
from surveyapp.models import Round
from surveyapp.reports import queries
from surveyapp.reports.queries import NotClosed, load_context
from surveyapp.rounds.operations import close_round, create_round, launch_round

pytestmark = pytest.mark.both_databases


def test_every_report_of_a_closed_round_shares_one_context(db, closed_round):
    round_ = db.session.get(Round, closed_round.round_id)
    assert load_context(round_) is load_context(round_)


def test_a_round_that_is_not_closed_has_no_context(db, make_team, make_person):
    team = make_team("Sales")
    make_person(team=team)
    round_ = create_round(name="Open", teams=[team], opens_on=today(),
                          closes_on=today() + timedelta(days=3), today=today())
    launch_round(round_, today=today())
    db.session.commit()
    with pytest.raises(NotClosed):
        load_context(round_)


def test_a_context_is_kept_by_its_round_alone_until_forgotten(db, closed_round, monkeypatch):
    round_ = db.session.get(Round, closed_round.round_id)
    before = load_context(round_)
    # The rules are code, not data: switching one is for tests, which then forget the contexts.
    monkeypatch.setattr(report_rules, "decide_visibility",
                        lambda nodes, minimum, within=None: before.scores_visibility)
    assert load_context(round_) is before
    queries.forget_contexts()
    assert load_context(round_) is not before


def test_only_the_latest_rounds_are_kept(app, db, closed_round, make_team, make_person,
                                        monkeypatch):
    monkeypatch.setattr(queries, "CACHED_CONTEXTS", 1)
    first = db.session.get(Round, closed_round.round_id)
    kept = load_context(first)
    team = make_team("Sales North")
    make_person(team=team)
    second = create_round(name="Later", teams=[team], opens_on=today(),
                          closes_on=today() + timedelta(days=3), today=today())
    launch_round(second, today=today())
    close_round(second)
    db.session.commit()
    load_context(second)
    assert len(app.extensions["surveyapp.closed_round_contexts"]) == 1
    assert load_context(first) is not kept
