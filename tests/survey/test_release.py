"""Closing a round releases its sealed responses: all at once, coarsened, and only with the key
they were sealed under."""

import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from surveyapp.instrument import load_default
from surveyapp.models import Draft, Participation, PendingResponse, Response, Round, RoundStatus
from surveyapp.rounds.operations import close_round
from surveyapp.rounds.tallies import stored_tallies
from surveyapp.survey.reading import find_for_writing
from surveyapp.survey.release import release_responses
from surveyapp.survey.storage import store_response

pytestmark = pytest.mark.both_databases


FIRST = load_default().statement_keys[0]


def count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def answer_all(client, tokens, value: str = "4") -> None:
    for token in tokens:
        client.post(f"/s/{token}/step/1", data={f"s:{FIRST}": value, "action": "next"})
        assert client.post(f"/s/{token}/submit").status_code == 302


def test_a_team_of_enough_respondents_keeps_its_shared_attributes(client, db, open_round):
    answer_all(client, open_round.tokens)  # Care: 3 in Leeds; North: 4 in York (minimum 5)
    round_ = db.session.get(Round, open_round.round_id)
    round_.min_group_size = round_.min_comment_group_size = 3
    assert len(release_responses(round_)) == 7
    stored = db.session.execute(select(Response.team_id, Response.location,
                                       Response.tenure_band)).all()
    assert sorted(stored) == sorted(
        [(open_round.team_ids["care"], "Leeds", "1-3 years")] * 3
        + [(open_round.team_ids["north"], "York", "3+ years")] * 4)


def test_closing_deletes_abandoned_drafts_and_every_pending_response(client, db, open_round):
    answer_all(client, open_round.tokens[:2])
    client.post(f"/s/{open_round.tokens[2]}/step/1", data={f"s:{FIRST}": "2"})  # never submitted
    assert (count(db, Draft), count(db, PendingResponse)) == (1, 2)
    close_round(db.session.get(Round, open_round.round_id))
    db.session.commit()
    assert (count(db, Draft), count(db, PendingResponse), count(db, Response)) == (0, 0, 2)


def test_a_changed_key_stops_the_close_with_a_message_and_loses_nothing(app, client, db, hr,
                                                                       open_round):
    answer_all(client, open_round.tokens[:3])
    app.config["INVITATION_KEY"] = "another key, set while the round was open"
    db.session.rollback()
    page = client.submit(f"/rounds/{open_round.round_id}/close", follow_redirects=True)
    text = page.get_data(as_text=True)
    assert "3 of the 3 submitted responses cannot be opened" in text
    assert "INVITATION_KEY" in text
    db.session.rollback()
    assert db.session.get(Round, open_round.round_id).status == RoundStatus.OPEN
    assert (count(db, PendingResponse), count(db, Response)) == (3, 0)


def test_a_due_round_that_cannot_close_stays_open_and_the_others_close(app, client, db,
                                                                      open_round, close_due_on):
    answer_all(client, open_round.tokens[:1])
    round_ = db.session.get(Round, open_round.round_id)
    app.config["INVITATION_KEY"] = "another key"
    assert close_due_on(round_.closes_on.replace(year=round_.closes_on.year + 1)) == 0
    db.session.commit()
    assert db.session.get(Round, open_round.round_id).status == RoundStatus.OPEN
    app.config["INVITATION_KEY"] = ""
    assert close_due_on(round_.closes_on.replace(year=round_.closes_on.year + 1)) == 1
    db.session.commit()
    assert count(db, Response) == 1


@pytest.mark.only_on("sqlite")
def test_rounds_closed_when_due_leave_no_released_answer_in_sqlites_wal(
        app, client, db, open_round, caplog, close_due_on):
    """The clock's close truncates the WAL once each round's transaction commits, as HR's
    close does."""
    answer_all(client, open_round.tokens[:2])
    round_ = db.session.get(Round, open_round.round_id)
    assert close_due_on(round_.closes_on.replace(year=round_.closes_on.year + 1)) == 1
    db.session.commit()
    wal = Path(db.engine.url.database + "-wal")
    assert wal.stat().st_size == 0
    assert "could not be truncated" not in caplog.text


def test_a_submit_under_way_when_the_round_closes_is_released_and_counted(app, client, db,
                                                                          open_round):
    """A submit that has read the round open and not yet committed when HR closes it: the
    close waits for it, then releases and counts it. (On PostgreSQL the close used to release
    what it saw and leave the late one pending for ever: stored, never counted.)"""
    *others, last = open_round.tokens
    answer_all(client, others)
    client.post(f"/s/{last}/step/1", data={f"s:{FIRST}": "5", "action": "next"})
    db.session.rollback()
    stored, go_on, failures = threading.Event(), threading.Event(), []

    def in_thread(work):
        def run():
            try:
                with app.app_context():
                    work()
            except BaseException as error:  # reported by the test, not lost in the thread
                failures.append(error)
                stored.set()
        return threading.Thread(target=run)

    def submit():
        store_response(find_for_writing(last))
        stored.set()
        go_on.wait(10)
        db.session.commit()

    def close():
        close_round(db.session.get(Round, open_round.round_id))
        db.session.commit()

    submitting, closing = in_thread(submit), in_thread(close)
    submitting.start()
    assert stored.wait(10) and not failures, failures
    closing.start()
    closing.join(1.5)
    close_waited = closing.is_alive()
    go_on.set()
    submitting.join(10)
    closing.join(30)
    assert not failures, failures
    assert close_waited, "the close ran while a submit to its round was under way"
    db.session.rollback()
    assert count(db, Participation) == count(db, Response) == len(open_round.tokens)
    assert count(db, PendingResponse) == 0
    round_ = db.session.get(Round, open_round.round_id)
    assert sum(tally.values[0] for tally in stored_tallies(round_).values()) == len(
        open_round.tokens)
