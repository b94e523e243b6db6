"""Invitations through a real queue: worker processes on Redis and on the embedded SQLite
queue, a real SMTP server on loopback, a worker killed midway, a mail server down then up.

Every message is checked by its Message-ID: each invitation arrives, always under one
Message-ID, and the only message that may arrive twice (a worker killed after the server took
it, before the commit that records it) comes again under the same Message-ID.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from collections import Counter
from datetime import timedelta
from email.parser import BytesHeaderParser

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from surveyapp.clock import today
from surveyapp.models import Invitation, MailBatch, MailKind, Person
from surveyapp.rounds.invitations import batches_of, requeue_stalled
from surveyapp.rounds.operations import create_round, launch_round

from ..rounds.conftest import free_port
from .conftest import running_worker, wait_for

pytestmark = [pytest.mark.both_databases, pytest.mark.slow]

PEOPLE = 60
BATCH = 20
#: Short enough that a killed worker's batch is taken over within the test.
LEASE = 3


class Sink:
    """An aiosmtpd handler that keeps each message's To and Message-ID, ``delay`` seconds a
    message (so that a test can kill a worker midway)."""

    def __init__(self, delay: float = 0.0):
        self.delay = delay
        self.received: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        headers = BytesHeaderParser().parsebytes(envelope.content)
        with self.lock:
            self.received.append((str(headers["To"]), str(headers["Message-ID"])))
        return "250 Message accepted for delivery"

    def count(self) -> int:
        with self.lock:
            return len(self.received)


def start_sink(handler: Sink, port: int) -> Controller:
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    return controller


@pytest.fixture
def app_settings():
    return {"QUEUE_WORKER_IN_WEB": False, "MAIL_BATCH_SIZE": BATCH,
            "MAIL_LEASE_SECONDS": LEASE, "MAIL_RETRY_SECONDS": 1, "MAIL_TIMEOUT": 5}


def worker_settings() -> dict[str, str]:
    return {"SURVEYAPP_QUEUE_WORKER_IN_WEB": "false", "SURVEYAPP_MAIL_BATCH_SIZE": str(BATCH),
            "SURVEYAPP_MAIL_LEASE_SECONDS": str(LEASE), "SURVEYAPP_MAIL_RETRY_SECONDS": "1",
            "SURVEYAPP_MAIL_TIMEOUT": "5"}


@pytest.fixture
def open_round(app, db, make_team, make_person) -> tuple[int, set[str]]:
    """A launched round of ``PEOPLE`` people; its id and their addresses."""
    team = make_team("Operations")
    for _ in range(PEOPLE):
        make_person(team=team)
    now = today()
    round_ = create_round(name="Spring", teams=[team], opens_on=now, closes_on=now + timedelta(7),
                          today=now)
    launch_round(round_, today=now)
    db.session.commit()
    emails = set(db.session.scalars(select(Person.email)))
    round_id = round_.id
    db.session.rollback()
    return round_id, emails


def press_send(client, round_id: int) -> str:
    response = client.submit(f"/rounds/{round_id}/send", form_url=f"/rounds/{round_id}",
                             follow_redirects=True)
    return response.get_data(as_text=True)


def all_sent(db, round_id: int) -> bool:
    db.session.rollback()
    unsent = db.session.scalar(select(Invitation.id).where(
        Invitation.round_id == round_id, Invitation.sent_at.is_(None)).limit(1))
    unfinished = db.session.scalar(select(MailBatch.id).where(
        MailBatch.round_id == round_id, MailBatch.finished_at.is_(None)).limit(1))
    db.session.rollback()
    return unsent is None and unfinished is None


def tick_until(db, condition, what: str, timeout: float = 90) -> None:
    """Run the clock's job (``resume_mail``) every second until ``condition`` holds: the
    worker's own clock runs it only on the minute."""

    def ticked():
        if condition():
            return True
        db.session.rollback()
        requeue_stalled()
        time.sleep(0.5)
        return condition()

    wait_for(ticked, timeout=timeout, what=what)


def check_each_message_once(sink: Sink, emails: set[str], kills: int) -> None:
    by_address: dict[str, set[str]] = {}
    for to, message_id in sink.received:
        by_address.setdefault(to, set()).add(message_id)
    assert set(by_address) == emails, "an invitation was lost"
    assert all(len(ids) == 1 for ids in by_address.values()), \
        "an invitation went out under two Message-IDs"
    assert len({ids.pop() for ids in by_address.values()}) == len(emails)
    twice = sum(n - 1 for n in Counter(sink.received).values())
    assert twice <= kills, f"{twice} messages arrived twice after {kills} kill(s)"


class MailTests:
    """The same tests on each kind of queue (``queue_url``, set by each class below)."""

    def test_a_worker_killed_midway_leaves_the_rest_to_another_without_sending_twice(
            self, app, db, client, hr, open_round):
        round_id, emails = open_round
        sink = Sink(delay=0.05)
        controller = start_sink(sink, free_port())
        app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port)
        try:
            page = press_send(client, round_id)
            assert f"Sending {PEOPLE} invitations: this page shows the progress." in page
            with running_worker(app, "--workers", "1", "--no-clock",
                                **worker_settings()) as worker:
                wait_for(lambda: sink.count() >= BATCH + 5, what="for messages to arrive")
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait()
            arrived = sink.count()
            assert arrived < PEOPLE, "the worker finished before it was killed"
            db.session.rollback()
            leased = [b for b in batches_of(round_id, MailKind.INVITATION)
                      if b.lease_owner is not None and b.finished_at is None]
            assert len(leased) == 1, "the killed worker's batch keeps its lease until it runs out"
            db.session.rollback()
            with running_worker(app, "--workers", "2", "--no-clock", **worker_settings()):
                tick_until(db, lambda: all_sent(db, round_id), "for the rest to be sent")
            check_each_message_once(sink, emails, kills=1)
            assert sink.count() > arrived
        finally:
            controller.stop()

    def test_a_mail_server_down_then_up_is_retried_and_the_page_says_so(
            self, app, db, client, hr, open_round):
        round_id, emails = open_round
        port = free_port()
        app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
        press_send(client, round_id)
        sink = Sink()
        controller = None
        try:
            with running_worker(app, "--workers", "2", "--no-clock", **worker_settings()):
                def failed():
                    db.session.rollback()
                    batches = batches_of(round_id, MailKind.INVITATION)
                    done = len(batches) == PEOPLE // BATCH and all(b.failures for b in batches)
                    db.session.rollback()
                    return done
                wait_for(failed, what="for every batch to fail")
                page = client.get(f"/rounds/{round_id}").get_data(as_text=True)
                status = page.split('sending" role="status"', 1)[1].split("</div>", 1)[0]
                assert "0 of 60 e-mailed so far" in status
                assert "The mail server failed at " in status
                assert "Could not connect to the mail server" in status
                assert "Trying again at " in status
                controller = start_sink(sink, port)
                tick_until(db, lambda: all_sent(db, round_id), "for the retries")
            page = client.get(f"/rounds/{round_id}").get_data(as_text=True)
            assert f"All {PEOPLE} invitations have been e-mailed." in page
            assert "The mail server failed" not in page
            check_each_message_once(sink, emails, kills=0)
            assert sink.count() == PEOPLE
        finally:
            if controller is not None:
                controller.stop()


class TestRedis(MailTests):
    @pytest.fixture
    def queue_url(self, redis_server):
        return redis_server.url


class TestEmbedded(MailTests):
    @pytest.fixture
    def queue_url(self):
        return ""
