"""Invitations through a real queue: every invitation of a round sent by worker processes on
Redis to a local SMTP sink, one worker killed midway and its work taken over.

The round, its people and invitations are made in a database of their own (the
organisation's cache is not needed). The sink (aiosmtpd, in this process) counts each
message by its Message-ID and recipient, so that a message sent twice, or lost, shows.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from aiosmtpd.controller import Controller
from sqlalchemy import func, insert, select

from surveyapp import create_app
from surveyapp.extensions import db
from surveyapp.models import Invitation, MailBatch, Person, Team
from surveyapp.rounds.operations import create_round, launch_round

from .build import bench_config, migrate
from .measure import ROOT, cli_env

#: Worker processes, and how far into the run the first worker is killed.
WORKERS = 2
KILL_AT = 0.3
#: The lease of the benchmark's batches: a killed worker's batch is taken over after it.
LEASE_SECONDS = 5
HEADER = re.compile(rb"^(To|Message-ID): *(.*?)\r?$", re.M | re.I)


class Sink:
    """An SMTP handler that counts messages by (recipient, Message-ID)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seen: dict[tuple[bytes, bytes], int] = {}
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        head = envelope.content.split(b"\r\n\r\n", 1)[0]
        fields = {name.lower(): value for name, value in HEADER.findall(head)}
        key = (fields.get(b"to", b""), fields.get(b"message-id", b""))
        with self.lock:
            self.seen[key] = self.seen.get(key, 0) + 1
            self.count += 1
        return "250 OK"


@dataclass(frozen=True)
class MailRun:
    invitations: int
    delivered: int
    #: Messages the workers were sending for (the first run and the run after the kill).
    seconds: float
    distinct_ids: int
    distinct_recipients: int
    #: Recipients with more than one Message-ID (must be 0), and deliveries of a Message-ID
    #: already delivered (at most one per worker killed).
    two_ids: int
    twice: int
    killed_after: int
    unsent: int

    @property
    def per_second(self) -> float:
        return self.invitations / self.seconds

    @property
    def ok(self) -> bool:
        return (self.distinct_ids == self.distinct_recipients == self.invitations
                and self.two_ids == 0 and self.twice <= WORKERS and self.unsent == 0)


def prepare(url: str, count: int, log) -> int:
    """Schema, one team of ``count`` people and a launched round; returns the round's id."""
    migrate(url)
    app = create_app(bench_config(url))
    with app.app_context():
        team = Team(name="Everyone")
        db.session.add(team)
        db.session.flush()
        for start in range(0, count, 10_000):
            db.session.execute(insert(Person), [
                {"email": f"person{n}@example.test", "name": f"Person {n}", "team_id": team.id}
                for n in range(start, min(count, start + 10_000))])
        today = date.today()
        round_ = create_round(name="Mail", teams=[team], opens_on=today,
                              closes_on=today + timedelta(days=30), today=today)
        launch_round(round_, today=today)
        db.session.commit()
        round_id = round_.id
        db.engine.dispose()
    log(f"    {count:,} invitations ready")
    return round_id


def _progress(app, round_id: int) -> tuple[int, int]:
    """(invitations not sent, batches not finished). ``app`` is made once: making one at each
    look would take CPU from the workers being measured."""
    with app.app_context():
        unsent = db.session.scalar(select(func.count()).select_from(Invitation).where(
            Invitation.round_id == round_id, Invitation.sent_at.is_(None)))
        open_batches = db.session.scalar(select(func.count()).select_from(MailBatch).where(
            MailBatch.round_id == round_id, MailBatch.finished_at.is_(None)))
        db.session.remove()
    return unsent, open_batches


def invitations(url: str, count: int, folder: Path, instance: Path, log) -> MailRun:
    sys.path.insert(0, str(ROOT))
    from tests.redisserver import start_redis

    round_id = prepare(url, count, log)
    app = create_app(bench_config(url))
    sink = Sink()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    redis = start_redis()
    env = cli_env(url, instance) | {
        "SURVEYAPP_QUEUE_URL": redis.url, "SURVEYAPP_QUEUE_NAME": "bench-mail",
        "SURVEYAPP_MAIL_SERVER": "127.0.0.1", "SURVEYAPP_MAIL_PORT": str(controller.port),
        "SURVEYAPP_MAIL_LEASE_SECONDS": str(LEASE_SECONDS)}
    log_file = (folder / "mail-workers.log").open("ab")

    def command(*args: str) -> None:
        subprocess.run([sys.executable, "-m", "flask", "--app", "surveyapp", *args], cwd=ROOT,
                       env=env, check=True, stdout=log_file, stderr=log_file)

    def worker() -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "flask", "--app", "surveyapp", "worker",
                                 "--workers", str(WORKERS), "--no-clock"], cwd=ROOT, env=env,
                                stdout=log_file, stderr=log_file, start_new_session=True)

    try:
        command("round", "send", str(round_id))
        started = time.perf_counter()
        first = worker()
        kill_at = max(1, int(count * KILL_AT))
        deadline = time.monotonic() + 600
        while sink.count < kill_at and time.monotonic() < deadline and first.poll() is None:
            time.sleep(0.01)
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
        killed_after = sink.count
        first_run = time.perf_counter() - started
        log(f"    killed the workers after {killed_after:,} messages ({first_run:.1f} s)")
        time.sleep(LEASE_SECONDS + 1)  # the killed worker's leases run out
        command("round", "send", str(round_id))  # queues again what no lease holds
        restarted = time.perf_counter()
        second = worker()
        try:
            deadline = time.monotonic() + 3600
            while time.monotonic() < deadline:
                unsent, open_batches = _progress(app, round_id)
                if not unsent and not open_batches:
                    break
                time.sleep(1)
            second_run = time.perf_counter() - restarted
        finally:
            os.killpg(second.pid, signal.SIGTERM)
            second.wait(timeout=60)
        time.sleep(0.5)  # the last replies reach the sink's counters
    finally:
        controller.stop()
        redis.stop()
        log_file.close()
    by_recipient: dict[bytes, set[bytes]] = {}
    for to, message_id in sink.seen:
        by_recipient.setdefault(to, set()).add(message_id)
    unsent, _ = _progress(app, round_id)
    with app.app_context():
        db.engine.dispose()
    return MailRun(
        invitations=count, delivered=sink.count, seconds=first_run + second_run,
        distinct_ids=len({message_id for _, message_id in sink.seen}),
        distinct_recipients=len(by_recipient),
        two_ids=sum(len(ids) > 1 for ids in by_recipient.values()),
        twice=sum(n - 1 for n in sink.seen.values()), killed_after=killed_after, unsent=unsent)
