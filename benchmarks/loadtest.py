"""Load with nothing lost: every invitation of a round submits at once through gunicorn.

``python -m benchmarks.loadtest [--db sqlite|postgresql|both] [--invitations 1000]``

For each database:

1. a fresh database in a temporary instance folder, migrated with ``flask db upgrade``, and one
   open round of N invitations (N people) for each phase below, made in this process by the
   app's own operations (the people import, ``create_round``, ``launch_round``), committed;
2. gunicorn with 4 sync workers on a free port of 127.0.0.1 (``--no-control-socket``),
   configured by ``SURVEYAPP_*`` variables, as the README runs it;
3. *at once*: N clients together, one per invitation, each saving the first step's answers
   (``POST /s/<token>/step/1``), then submitting (``POST /s/<token>/submit``), with the
   Origin header of the server. A quarter send the submit twice at once (a double click); a
   quarter give up on each request after a fraction of a second and send it again (an
   impatient network); a quarter submit while the page's script is still saving the same
   answers again (an autosave in flight); every client sends a request again after a dropped
   connection or a 5xx;
4. *killed worker*: the same on the next round, while one worker is sent SIGKILL when half of
   the submits are confirmed: the master starts a new one, and the clients whose requests it
   held retry;
5. *racing saves*: N clients that submit at the very moment their first answers are being
   saved (no earlier save): the response may hold the answers or not, but the save must never
   outlive the submit as a draft (answers beside the person).

A submit is confirmed by the redirect to /thanks, or by the "already submitted" page (a retry
after the first one was stored). Afterwards the database must hold exactly one response and one
participation per invitation, no draft, and exactly the answers the clients sent (a response
carries no invitation, so the answers are compared as a whole; with racing saves, each response
has all four or none, and no answer that was not sent); every submit must have been confirmed;
the clients must have seen no 5xx and no dropped connection except from the killed worker; and
the gunicorn log must not say "database is locked" or show a traceback.
``tests/security/test_concurrent_submits.py`` runs the same with fewer invitations.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

from sqlalchemy import create_engine, func, select

from surveyapp import create_app
from surveyapp.clock import today
from surveyapp.directory.csv_import import parse_people_csv
from surveyapp.directory.importing import apply_import, plan_import
from surveyapp.extensions import db
from surveyapp.instrument import load_default
from surveyapp.models import Answer, Draft, Invitation, Participation, Response, Round, Team
from surveyapp.rounds.operations import close_round, create_round, launch_round
from surveyapp.rounds.tokens import token_for
from tests.pgcluster import create_database, start_cluster

ROOT = Path(__file__).resolve().parent.parent
SECRET_KEY = "loadtest-secret-key-0123456789-abcdefghijklmnop"
#: The statements of the first step: every client answers them.
STEP_KEYS = [s.key for s in load_default().capabilities[0].statements]
WORKERS = 4
TEAMS = 20
#: Seconds a patient client waits for an answer (the queue can be long at the start).
TIMEOUT = 120.0
#: Tries per request before a client gives up (every retry is counted).
ATTEMPTS = 8
BEHAVIOURS = ("plain", "double", "impatient", "autosave")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- the database and the round ----------------------------------------------------------------


def server_env(url: str, instance: Path) -> dict[str, str]:
    """The environment of ``flask`` and gunicorn: production settings from SURVEYAPP_* only."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SURVEYAPP_")}
    return {**env, "SURVEYAPP_ENV": "production", "SURVEYAPP_SECRET_KEY": SECRET_KEY,
            "SURVEYAPP_DATABASE_URL": url, "SURVEYAPP_INSTANCE_PATH": str(instance)}


def migrate(url: str, instance: Path) -> None:
    """``flask --app surveyapp db upgrade`` on the new database, as the README says."""
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "surveyapp", "db", "upgrade"],
                            cwd=ROOT, env=server_env(url, instance), capture_output=True,
                            text=True, timeout=300)
    if result.returncode != 0:
        raise RuntimeError(f"flask db upgrade failed:\n{result.stdout}\n{result.stderr}")


@contextmanager
def app_context(url: str, instance: Path) -> Iterator[None]:
    """The app in this process, with the server's settings (the same keys make the same links)."""
    saved = {k: os.environ.pop(k) for k in [k for k in os.environ if k.startswith("SURVEYAPP_")]}
    os.environ["SURVEYAPP_INSTANCE_PATH"] = str(instance)
    try:
        app = create_app({"ENV": "production", "SECRET_KEY": SECRET_KEY,
                          "SQLALCHEMY_DATABASE_URI": url})
    finally:
        os.environ.pop("SURVEYAPP_INSTANCE_PATH")
        os.environ.update(saved)
    with app.app_context():
        try:
            yield
        finally:
            db.session.remove()
            db.engine.dispose()


@dataclass(frozen=True)
class OpenRound:
    round_id: int
    tokens: list[str]


def open_rounds(url: str, instance: Path, invitations: int, count: int) -> list[OpenRound]:
    """For each of ``count`` rounds: import ``invitations`` people into TEAMS teams under their
    own top team, and launch a round for them."""
    rounds = []
    with app_context(url, instance):
        now = today()
        for n in range(1, count + 1):
            lines = ["email,name,team,location,role_level,tenure_band"]
            lines += [f"person{n}-{i:05d}@example.com,Person {n}-{i:05d},Load {n}/Team "
                      f"{i % TEAMS:02d},Site {i % 3},Staff,1-3 years" for i in range(invitations)]
            plan = plan_import(parse_people_csv("\n".join(lines).encode()))
            if plan.errors:
                raise RuntimeError(f"the people file is wrong: {plan.errors[:3]}")
            apply_import(plan)
            db.session.commit()
            top = db.session.scalar(select(Team).where(Team.name == f"Load {n}",
                                                       Team.parent_id.is_(None)))
            round_ = create_round(name=f"Load test {n}", teams=[top],
                                  opens_on=now - timedelta(days=1),
                                  closes_on=now + timedelta(days=14), today=now)
            launch_round(round_, today=now)
            db.session.commit()
            nonces = db.session.scalars(select(Invitation.nonce)
                                        .where(Invitation.round_id == round_.id)
                                        .order_by(Invitation.id)).all()
            rounds.append(OpenRound(round_.id, [token_for(nonce) for nonce in nonces]))
    return rounds


# --- gunicorn --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    """gunicorn with ``workers`` sync workers on a free port, for a ``with`` block."""

    def __init__(self, url: str, instance: Path, log_file: Path, workers: int = WORKERS):
        self.env = server_env(url, instance)
        self.log_file, self.workers = log_file, workers
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Gunicorn:
        command = [sys.executable, "-m", "gunicorn", "--workers", str(self.workers),
                   "--bind", f"127.0.0.1:{self.port}", "--no-control-socket", "--chdir", str(ROOT),
                   "wsgi:app"]
        self._log = open(self.log_file, "ab")  # noqa: SIM115 (closed in __exit__)
        self.process = subprocess.Popen(command, env=self.env, stdout=self._log,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 120
        while len(self.worker_pids()) < self.workers or not self._healthy():
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}: "
                                   f"{self.log_file.read_text()[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not start: {self.log_file.read_text()[-2000:]}")
            time.sleep(0.2)
        return self

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.origin + "/healthz", timeout=5) as response:
                return response.status == 200
        except OSError:
            return False

    def worker_pids(self) -> list[int]:
        """The master's children, read from /proc (Linux)."""
        if self.process is None:
            return []
        children = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.process.pid:
                children.append(int(stat.parent.name))
        return children

    def cpu_ticks(self) -> int:
        """The CPU time the workers have used so far, in clock ticks (from /proc)."""
        ticks = 0
        for pid in self.worker_pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
        return ticks

    def wait_until_idle(self, quiet: float = 1.0, limit: float = 300.0) -> None:
        """Wait until the workers have used (almost) no CPU for ``quiet`` seconds: requests
        that clients gave up on are still served after every client is done, and each takes
        SQLite's write lock in turn, so a check that writes would queue behind all of them."""
        deadline = time.monotonic() + limit
        last, since = self.cpu_ticks(), time.monotonic()
        while time.monotonic() - since < quiet:
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn's workers were still busy after {limit:.0f} s")
            time.sleep(0.1)
            now = self.cpu_ticks()
            if abs(now - last) > 2:  # a worker that ended takes its ticks along
                last, since = now, time.monotonic()

    def kill_a_worker(self) -> int:
        pid = random.choice(self.worker_pids())
        os.kill(pid, signal.SIGKILL)
        return pid

    def __exit__(self, *exc) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # graceful: the master stops its workers
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._log.close()


# --- the clients -----------------------------------------------------------------------------


@dataclass
class Tally:
    """What the clients saw, counted under a lock (the clients are threads)."""

    sent: int = 0
    submits: int = 0
    retries: int = 0
    confirmed: int = 0
    statuses: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    gave_up: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, **counts) -> None:
        with self.lock:
            for name, n in counts.items():
                setattr(self, name, getattr(self, name) + n)

    def note(self, what: str, item: str) -> None:
        with self.lock:
            getattr(self, what).append(item)

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)

    @property
    def dropped(self) -> int:
        """Connections that failed or were cut (a timeout is the client's own choice)."""
        return sum(n for kind, n in self.errors.items() if kind != "timeout")


def post(port: int, origin: str, path: str, body: str, timeout: float,
         headers: dict[str, str] | None = None) -> tuple[int, str, str]:
    """One POST on a new connection: (status, Location, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("POST", path, body=body.encode(), headers={
            "Content-Type": "application/x-www-form-urlencoded", "Origin": origin,
            "Connection": "close", **(headers or {})})
        response = conn.getresponse()
        return response.status, response.getheader("Location") or "", response.read().decode()
    finally:
        conn.close()


def send(server: Gunicorn, tally: Tally, path: str, body: str, first_timeout: float,
         done, headers: dict[str, str] | None = None) -> bool:
    """POST until ``done(status, location, text)`` says the answer is final; False if never.

    A timeout, a dropped connection and a 5xx are sent again (counted as retries), after a
    short pause that grows with each attempt.
    """
    for attempt in range(ATTEMPTS):
        if attempt:
            tally.add(retries=1)
            time.sleep(min(2.0, 0.05 * 2 ** attempt) * random.uniform(0.5, 1.5))
        tally.add(sent=1)
        try:
            status, location, text = post(server.port, server.origin, path, body,
                                          first_timeout if attempt == 0 else TIMEOUT, headers)
        except TimeoutError:
            with tally.lock:
                tally.errors["timeout"] += 1
            continue
        except (OSError, http.client.HTTPException) as error:
            with tally.lock:
                tally.errors[type(error).__name__] += 1
            continue
        with tally.lock:
            tally.statuses[status] += 1
        if status >= 500:
            continue
        if done(status, location, text):
            return True
        tally.note("unexpected", f"{path}: {status} {location} {text[:120]!r}")
        return False
    return False


def step_saved(status: int, location: str, _text: str) -> bool:
    # On to step 2, or (a late retry after the submit) back to the link's start page.
    return status == 302


def autosaved(status: int, location: str, _text: str) -> bool:
    # Saved (204), or refused because the submit came first (302 to the link's start page).
    return status in (204, 302)


def submit_confirmed(status: int, location: str, text: str) -> bool:
    return (status == 302 and location.endswith("/thanks")) or (
        status == 200 and "already submitted" in text)


def answers_of(index: int) -> dict[str, int]:
    return {key: 1 + (index + n) % 5 for n, key in enumerate(STEP_KEYS)}


def client(server: Gunicorn, tally: Tally, index: int, token: str, racing: bool) -> None:
    """One employee: save the first step's answers, then submit, as ``index``'s behaviour
    does (see the module docstring); with ``racing``, save and submit at the same moment."""
    behaviour = "racing" if racing else BEHAVIOURS[index % len(BEHAVIOURS)]
    impatient = behaviour == "impatient"
    body = urlencode({**{f"s:{k}": v for k, v in answers_of(index).items()}, "action": "next"})
    first = random.uniform(0.05, 0.5) if impatient else TIMEOUT
    if not racing and not send(server, tally, f"/s/{token}/step/1", body, first, step_saved):
        tally.note("gave_up", f"step {index}")
        return
    results: list[bool] = []

    def one_submit() -> None:
        tally.add(submits=1)
        results.append(send(server, tally, f"/s/{token}/submit", "",
                            random.uniform(0.05, 0.5) if impatient else TIMEOUT, submit_confirmed))

    def autosave() -> None:  # the step's answers, as the page's script sends them
        if not send(server, tally, f"/s/{token}/step/1", body, TIMEOUT, autosaved,
                    {"X-Autosave": "1"}):
            tally.note("gave_up", f"autosave {index}")

    if behaviour in ("double", "autosave", "racing"):
        other = threading.Thread(target=one_submit if behaviour == "double" else autosave)
        other.start()
        one_submit()
        other.join()
    else:
        one_submit()
    if any(results):
        tally.add(confirmed=1)
    else:
        tally.note("gave_up", f"submit {index}")


# --- one phase, one run ----------------------------------------------------------------------


@dataclass(frozen=True)
class Phase:
    name: str
    #: SIGKILL a worker when half of the submits are confirmed.
    kill: bool = False
    #: Submit while the first answers are being saved (see ``client``).
    racing: bool = False


AT_ONCE = Phase("at once")
KILLED_WORKER = Phase("killed worker", kill=True)
RACING_SAVES = Phase("racing saves", racing=True)
PHASES = (AT_ONCE, KILLED_WORKER, RACING_SAVES)


@dataclass
class Outcome:
    database: str
    phase: Phase
    invitations: int
    tally: Tally
    seconds: float
    killed: list[int] = field(default_factory=list)
    responses: int = 0
    participations: int = 0
    drafts: int = 0
    #: The answers stored are the ones sent (racing: a part of them, four per response or none).
    answers_right: bool = False
    #: Responses without their four answers (racing: with some but not all).
    broken_responses: int = 0
    locked: int = 0
    tracebacks: int = 0

    @property
    def throughput(self) -> float:
        return self.invitations / self.seconds if self.seconds else 0.0

    def problems(self) -> list[str]:
        """Every check that failed, in words (empty: nothing lost, nothing doubled)."""
        n, t = self.invitations, self.tally
        found = []
        if (self.responses, self.participations) != (n, n):
            found.append(f"{self.responses} responses and {self.participations} participations "
                         f"for {n} invitations")
        if self.drafts:
            found.append(f"{self.drafts} drafts left after every invitation submitted")
        if not self.answers_right or self.broken_responses:
            found.append(f"the stored answers are not the ones sent ({self.broken_responses} "
                         "responses with a part of theirs)")
        if t.confirmed != n or t.gave_up:
            found.append(f"{t.confirmed} of {n} submits confirmed; gave up: {t.gave_up[:5]}")
        if t.unexpected:
            found.append(f"{len(t.unexpected)} unexpected answers, e.g. {t.unexpected[:3]}")
        if not self.phase.kill and (t.server_errors or t.dropped):
            found.append(f"errors without a killed worker: {dict(t.statuses)} {dict(t.errors)}")
        if self.phase.kill and not self.killed:
            found.append("no worker was killed")
        if self.locked:
            found.append(f'"database is locked" {self.locked} times in the gunicorn log')
        if self.tracebacks:
            found.append(f"{self.tracebacks} tracebacks in the gunicorn log")
        return found

    def summary(self) -> str:
        t = self.tally
        phase = f"{self.phase.name} (pid {self.killed[0]})" if self.killed else self.phase.name
        errors = ", ".join(f"{n} {kind}" for kind, n in sorted(t.errors.items())) or "none"
        return (
            f"{self.database:<10} {phase:<27} {self.invitations:,} invitations, {t.sent:,} requests"
            f" sent ({t.submits:,} submits), {self.responses:,} responses and "
            f"{self.participations:,} participations stored, {self.drafts} drafts left, answers "
            f"{'right' if self.answers_right and not self.broken_responses else 'WRONG'}; "
            f"retries {t.retries:,}; errors: {t.server_errors} 5xx, {errors}; {self.locked} "
            f'"database is locked", {self.tracebacks} tracebacks; {self.seconds:.1f} s, '
            f"{self.throughput:.0f} submits/s"
        )


def check_database(outcome: Outcome, url: str, instance: Path, round_id: int) -> None:
    """Close the round (its sealed responses become readable) and count what was stored."""
    with app_context(url, instance):
        outcome.drafts = db.session.scalar(select(func.count()).select_from(Draft).join(Invitation)
                                           .where(Invitation.round_id == round_id))
        close_round(db.session.get(Round, round_id))
        db.session.commit()
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            of_round = Response.round_id == round_id
            outcome.responses = conn.scalar(
                select(func.count()).select_from(Response).where(of_round))
            outcome.participations = conn.scalar(select(func.count()).select_from(Participation)
                                                 .where(Participation.round_id == round_id))
            stored = Counter(conn.execute(select(Answer.statement_key, Answer.value)
                                          .join(Response).where(of_round)).all())
            per_response = conn.execute(select(func.count(Answer.statement_key))
                                        .select_from(Response).outerjoin(Answer)
                                        .where(of_round).group_by(Response.id)).scalars().all()
    finally:
        engine.dispose()
    sent = Counter((key, value) for i in range(outcome.invitations)
                   for key, value in answers_of(i).items())
    whole = (0, len(STEP_KEYS)) if outcome.phase.racing else (len(STEP_KEYS),)
    outcome.answers_right = (stored <= sent) if outcome.phase.racing else (stored == sent)
    outcome.broken_responses = sum(1 for n in per_response if n not in whole)


def submit_all(server: Gunicorn, round_: OpenRound, phase: Phase) -> Outcome:
    """Every invitation's client at once (see the module docstring); what they saw."""
    tally = Tally()
    killed: list[int] = []
    half = len(round_.tokens) // 2
    stop = threading.Event()

    def killer() -> None:
        while not stop.is_set():
            if tally.confirmed >= half:
                killed.append(server.kill_a_worker())
                return
            time.sleep(0.005)

    watcher = threading.Thread(target=killer, daemon=True)
    started = time.monotonic()
    if phase.kill:
        watcher.start()
    try:
        with ThreadPoolExecutor(max_workers=len(round_.tokens)) as pool:
            for future in [pool.submit(client, server, tally, i, token, phase.racing)
                           for i, token in enumerate(round_.tokens)]:
                future.result()
    finally:
        stop.set()
    return Outcome("", phase, len(round_.tokens), tally, time.monotonic() - started, killed)


def run(database: str, url: str, work: Path, invitations: int, phases=PHASES,
        workers: int = WORKERS) -> list[Outcome]:
    """Migrate the new database at ``url``, open a round per phase, start gunicorn, run the
    phases one after the other (see the module docstring); returns what happened in each."""
    instance = work / "instance"
    instance.mkdir(parents=True, exist_ok=True)
    migrate(url, instance)
    rounds = open_rounds(url, instance, invitations, len(phases))
    log_file = work / "gunicorn.log"
    outcomes = []
    with Gunicorn(url, instance, log_file, workers) as server:
        for round_, phase in zip(rounds, phases, strict=True):
            start = log_file.stat().st_size
            outcome = submit_all(server, round_, phase)
            outcome.database = database
            server.wait_until_idle()  # the last requests served, and logged
            with open(log_file, "rb") as f:
                f.seek(start)
                text = f.read().decode(errors="replace")
            outcome.locked = text.count("database is locked")
            outcome.tracebacks = text.count("Traceback (most recent call last)")
            check_database(outcome, url, instance, round_.round_id)
            outcomes.append(outcome)
    return outcomes


def run_database(database: str, invitations: int, work: Path, phases=PHASES,
                 workers: int = WORKERS) -> list[Outcome]:
    """:func:`run` on a new database of that kind: a SQLite file in the instance folder, or a
    database in a throwaway PostgreSQL cluster (tests/pgcluster.py, as the tests use)."""
    folder = work / database
    if database == "sqlite":
        return run(database, f"sqlite:///{folder / 'instance' / 'loadtest.sqlite3'}", folder,
                   invitations, phases, workers)
    cluster = start_cluster()
    try:
        return run(database, create_database(cluster.url, "loadtest"), folder, invitations,
                   phases, workers)
    finally:
        cluster.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.loadtest",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--invitations", type=int, default=1000, help="per phase (1000)")
    parser.add_argument("--workers", type=int, default=WORKERS, help="gunicorn workers (4)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary folder (databases, gunicorn logs)")
    args = parser.parse_args(argv)
    databases = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
    work = Path(tempfile.mkdtemp(prefix="surveyapp-loadtest-"))
    failed = False
    try:
        for database in databases:
            log(f"{database}: {args.invitations:,} invitations per phase, {args.workers} workers")
            for outcome in run_database(database, args.invitations, work,
                                        workers=args.workers):
                print(outcome.summary(), flush=True)
                for problem in outcome.problems():
                    failed = True
                    print(f"  FAILED: {problem}", flush=True)
    finally:
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
