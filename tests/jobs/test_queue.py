"""The job queue for real: a worker process on Redis, and the embedded SQLite queue run by the
web server itself or by a worker. Each test closes a round and expects its reports stored, with
no page view doing any of the work."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from surveyapp.clock import today
from surveyapp.instrument import load_default
from surveyapp.models import Invitation, Response, Round, RoundStatus, StoredReport
from surveyapp.rounds.operations import create_round, launch_round
from surveyapp.rounds.tokens import token_for

from .conftest import running_worker, wait_for

pytestmark = [pytest.mark.both_databases, pytest.mark.slow]

FIRST = load_default().statement_keys[0]


@pytest.fixture
def answered_round(app, db, make_team, make_person) -> int:
    """An open round over one team of six, five of whom have submitted; its id."""
    team = make_team("Operations")
    for _ in range(6):
        make_person(team=team)
    now = today()
    round_ = create_round(name="Spring", teams=[team], opens_on=now, closes_on=now + timedelta(7),
                          today=now)
    launch_round(round_, today=now)
    db.session.commit()
    tokens = [token_for(i.nonce) for i in db.session.scalars(
        select(Invitation).where(Invitation.round_id == round_.id))]
    round_id = round_.id
    db.session.rollback()
    client = app.test_client()
    for token in tokens[:5]:
        client.post(f"/s/{token}/step/1", data={f"s:{FIRST}": "4", "action": "next"})
        assert client.post(f"/s/{token}/submit").status_code == 302
    return round_id


def closed_and_stored(db, round_id: int) -> bool:
    """Whether the round has closed and both groups' PDF and CSV are stored."""
    db.session.rollback()
    round_ = db.session.get(Round, round_id)
    stored = db.session.scalar(select(func.count()).select_from(StoredReport)
                               .where(StoredReport.round_id == round_id))
    done = round_.status == RoundStatus.CLOSED and stored == 4  # organisation + team, two kinds
    db.session.rollback()
    return done


def close_from_the_round_page(client, round_id: int) -> None:
    """HR (signed in on ``client``) presses "Close round now"."""
    response = client.submit(f"/rounds/{round_id}/close")
    assert response.status_code == 302


def stored_pdf_is_served(db, client, round_id: int) -> None:
    team_id = db.session.scalar(select(Invitation.team_id).where(Invitation.round_id == round_id))
    stored = db.session.get(StoredReport, (round_id, team_id, "pdf"))
    db.session.rollback()
    response = client.get(f"/reports/{round_id}/{team_id}/report.pdf")
    assert response.status_code == 200 and response.data == stored.content


class TestRedis:
    @pytest.fixture
    def queue_url(self, redis_server):
        return redis_server.url

    def test_a_worker_closes_the_round_hr_closed_and_stores_its_reports(
            self, app, db, client, hr, answered_round):
        close_from_the_round_page(client, answered_round)
        db.session.rollback()
        # The request only asked: the round takes no answers, and nothing is tallied yet.
        assert db.session.get(Round, answered_round).phase(today()) == RoundStatus.CLOSING
        assert db.session.scalar(select(func.count()).select_from(Response)) == 0
        db.session.rollback()
        with running_worker(app, "--workers", "2"):
            wait_for(lambda: closed_and_stored(db, answered_round), what="for the close")
        assert db.session.scalar(select(func.count()).select_from(Response)) == 5
        stored_pdf_is_served(db, client, answered_round)

    def test_the_clock_closes_a_round_past_its_date_with_no_one_asking(
            self, app, db, answered_round):
        round_ = db.session.get(Round, answered_round)
        round_.opens_on = round_.closes_on = today() - timedelta(days=1)
        db.session.commit()
        with running_worker(app, "--workers", "1", "--threads"):
            wait_for(lambda: closed_and_stored(db, answered_round), what="for the clock")


class TestEmbedded:
    @pytest.fixture
    def queue_url(self):
        return ""

    def test_the_web_server_runs_the_jobs_itself(self, app, db, client, hr,
                                                 answered_round):
        close_from_the_round_page(client, answered_round)
        consumer = app.extensions["jobs"].web_consumer
        assert consumer is not None, "the first request starts the web server's worker"
        try:
            wait_for(lambda: closed_and_stored(db, answered_round), what="for the web worker")
        finally:
            consumer.stop(graceful=True)
        stored_pdf_is_served(db, client, answered_round)



class TestEmbeddedWithAWorker:
    @pytest.fixture
    def queue_url(self):
        return ""

    @pytest.fixture
    def app_settings(self):
        return {"QUEUE_WORKER_IN_WEB": False}

    def test_a_worker_process_works_on_the_same_queue_file(self, app, db, client, hr,
                                                           answered_round):
        close_from_the_round_page(client, answered_round)
        assert app.extensions["jobs"].web_consumer is None
        with running_worker(app, "--workers", "1", SURVEYAPP_QUEUE_WORKER_IN_WEB="false"):
            wait_for(lambda: closed_and_stored(db, answered_round), what="for the worker")
