"""The measurements other than the load runs: report aggregation, PDFs, the CSV import.

Each measurement goes through the app's own code: the aggregation through the report views and
queries, the PDFs through ``pdf_inputs``/``render_pdf`` (as the PDF view) and the
``flask report --all-teams`` command, the import through ``flask import-people``. Work that
needs a fresh process (peak memory, the CLI) runs in a subprocess.
"""

from __future__ import annotations

import csv
import json
import os
import random
import resource
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from flask import session
from flask_login import login_user
from sqlalchemy import delete, func, select, text

from surveyapp import create_app
from surveyapp.analysis.confidentiality import ORGANISATION
from surveyapp.directory.queries import load_tree
from surveyapp.extensions import db
from surveyapp.models import Person, Round, RoundTeam, StoredReport, User
from surveyapp.reports import views as report_views
from surveyapp.reports.cli import usable_cores
from surveyapp.reports.jobs import prepare_reports
from surveyapp.reports.pdf import pdf_inputs, render_pdf
from surveyapp.reports.queries import load_context, team_report
from surveyapp.reports.storage import file_names, missing_groups, render_and_store
from surveyapp.rounds.tallies import store_tallies
from tests.redisserver import start_redis

from .build import HR_EMAIL, Manifest, bench_config, migrate

ROOT = Path(__file__).resolve().parent.parent

#: The aggregation both databases do as one statement: the floor the app's grid is compared with.
RAW_GROUP_BY = """
SELECT r.team_id, a.statement_key, COUNT(*), AVG(a.value)
FROM answer a JOIN response r ON r.id = a.response_id
WHERE r.round_id = :round_id
GROUP BY r.team_id, a.statement_key
"""


@dataclass(frozen=True)
class Timing:
    """Wall times of repeated runs, in seconds (after one warm-up run)."""

    times: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def p95(self) -> float:
        ordered = sorted(self.times)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def timed(fn: Callable[[], object], repeats: int, budget: float = 60.0,
          warm_up: bool = True) -> Timing:
    """Run ``fn`` once to warm up, then ``repeats`` times (fewer when over ``budget`` s)."""
    if warm_up:
        fn()
    times: list[float] = []
    spent = 0.0
    while len(times) < repeats and (spent < budget or not times):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
        spent += times[-1]
    return Timing(tuple(times))


def bench_app(url: str):
    return create_app(bench_config(url))


# --- Aggregation --------------------------------------------------------------------------------


@dataclass(frozen=True)
class MeasuredTeam:
    """The team whose report and PDF are measured."""

    team_id: int
    path: str
    people: int


def typical_team(url: str, manifest: Manifest) -> MeasuredTeam:
    """The team of median size among the teams with no team below them (most teams)."""
    app = bench_app(url)
    with app.app_context():
        rows = db.session.execute(
            select(RoundTeam.team_id, RoundTeam.parent_team_id, RoundTeam.path,
                   RoundTeam.invited)
            .where(RoundTeam.round_id == manifest.closed_round_ids[-1])).all()
        db.session.remove()
        db.engine.dispose()
    parents = {r.parent_team_id for r in rows}
    leaves = sorted((r for r in rows if r.team_id not in parents),
                    key=lambda r: (r.invited, r.team_id))
    chosen = leaves[len(leaves) // 2]
    return MeasuredTeam(chosen.team_id, chosen.path, chosen.invited)


def aggregation(url: str, manifest: Manifest, team: MeasuredTeam, repeats: int) -> dict[str, Timing]:
    """The whole-organisation heatmap, one team's and the organisation's report data, the raw
    GROUP BY and the closing of a round, each from a new session.

    "Cold" runs empty the app's cache of closed rounds' contexts first, as in a new worker;
    "warm" ones find the round's context already built by an earlier report.
    """
    app = bench_app(url)
    round_id = manifest.closed_round_ids[-1]
    organisation = app.config["ORGANISATION_NAME"]
    results = {}
    with app.app_context():
        hr_id = db.session.scalar(select(User.id).where(User.email == HR_EMAIL))

        def cold() -> None:
            db.session.remove()
            app.extensions.pop("surveyapp.closed_round_contexts", None)

        def grid(fresh: bool = True) -> None:
            if fresh:
                cold()
            else:
                db.session.remove()
            with app.test_request_context():
                login_user(db.session.get(User, hr_id))
                response = report_views.csv(round_id, ORGANISATION)
                lines = response.get_data(as_text=True).count("\n")
            expected = 1 + (manifest.teams + 1) * 8
            if lines != expected:
                raise AssertionError(f"the grid has {lines} lines, not {expected}")

        def raw() -> None:
            db.session.remove()
            rows = db.session.execute(text(RAW_GROUP_BY), {"round_id": round_id}).all()
            if not rows:
                raise AssertionError("the raw GROUP BY found no answers")

        def report(group_id: int, fresh: bool) -> Callable[[], None]:
            def run() -> None:
                if fresh:
                    cold()
                else:
                    db.session.remove()
                team_report(db.session.get(Round, round_id), group_id, organisation)
            return run

        def close() -> None:
            db.session.remove()
            store_tallies(db.session.get(Round, round_id))
            db.session.commit()

        results["grid"] = timed(grid, repeats)
        results["grid_warm"] = timed(lambda: grid(fresh=False), repeats)
        results["raw"] = timed(raw, repeats)
        results["team_report"] = timed(report(team.team_id, False), repeats)
        results["team_report_cold"] = timed(report(team.team_id, True), repeats)
        results["org_report"] = timed(report(ORGANISATION, False), max(1, repeats // 2))
        results["close"] = timed(close, 1, budget=0, warm_up=False)
        db.session.remove()
        db.engine.dispose()
    return results


# --- PDFs ---------------------------------------------------------------------------------------


def rss_kb() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def probe_pdf(url: str, round_id: int, jobs: list[tuple[int, int]]) -> list[dict]:
    """In this (new) process: render each (team, renders) job's PDF as the PDF view does.

    For each job: the time of each render (data and PDF), the resident memory after the first
    render and after the last, and the process's peak resident memory when the job ended.
    """
    app = bench_app(url)
    results = []
    with app.app_context():
        organisation = app.config["ORGANISATION_NAME"]
        for team_id, renders in jobs:
            times, first_rss = [], None
            for _ in range(renders):
                started = time.perf_counter()
                db.session.remove()
                inputs = pdf_inputs(db.session.get(Round, round_id), team_id, organisation)
                db.session.rollback()
                pdf = render_pdf(inputs.report, inputs.aggregates)
                times.append(time.perf_counter() - started)
                if not pdf.startswith(b"%PDF"):
                    raise AssertionError("not a PDF")
                first_rss = first_rss or rss_kb()
            results.append({
                "times": times, "first_rss_kb": first_rss, "last_rss_kb": rss_kb(),
                "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                "bytes": len(pdf),
            })
    return results


def run_probe(url: str, round_id: int, jobs: list[tuple[int, int]]) -> list[dict]:
    """``probe_pdf`` in a new process (so that its memory is the PDFs' alone)."""
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks", "probe-pdf", url, str(round_id),
         *(f"{team}:{renders}" for team, renders in jobs)],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"the PDF probe failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def cli_env(url: str, instance: Path) -> dict[str, str]:
    config = bench_config(url)
    return {**os.environ, "SURVEYAPP_DATABASE_URL": config["SQLALCHEMY_DATABASE_URI"],
            "SURVEYAPP_SECRET_KEY": config["SECRET_KEY"], "SURVEYAPP_ENV": config["ENV"],
            "SURVEYAPP_INSTANCE_PATH": str(instance)}


def flask_command(url: str, instance: Path, *args: str) -> float:
    """Run ``flask --app surveyapp ARGS``; return its wall time in seconds."""
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "flask", "--app", "surveyapp", *args],
                         cwd=ROOT, env=cli_env(url, instance), capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if out.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args)} failed:\n{out.stderr[-3000:]}")
    return elapsed


@dataclass(frozen=True)
class Bulk:
    pdfs: int
    seconds: float
    jobs: int

    @property
    def per_core(self) -> float:
        return self.pdfs / self.seconds / self.jobs


def bulk(url: str, manifest: Manifest, count: int, folder: Path, instance: Path) -> Bulk:
    """``flask report ROUND --all-teams`` for ``count`` teams spread evenly over the tree.

    The command skips PDFs that already exist, so every other team gets an empty placeholder
    file first: the command's own code renders exactly the chosen teams (not the organisation,
    whose report is of another size than a team's).
    """
    round_id = manifest.closed_round_ids[-1]
    app = bench_app(url)
    with app.app_context():
        ctx = load_context(db.session.get(Round, round_id))
        names = file_names(ctx, app.config["ORGANISATION_NAME"])
        db.session.remove()
        db.engine.dispose()
    teams = [group for group in names if group != ORGANISATION]
    step = len(teams) / count
    chosen = {teams[int(i * step)] for i in range(count)}
    folder.mkdir(parents=True, exist_ok=True)
    for group, name in names.items():
        if group not in chosen:
            (folder / name).touch()
    seconds = flask_command(url, instance, "report", str(round_id), "--all-teams", "--output",
                            str(folder))
    written = sum(1 for group in chosen if (folder / names[group]).stat().st_size > 0)
    if written != len(chosen):
        raise AssertionError(f"{written} of {len(chosen)} PDFs were written")
    return Bulk(len(chosen), seconds, usable_cores())


# --- The people import --------------------------------------------------------------------------


def people_rows(url: str) -> list[dict]:
    """Everyone in the directory as import rows (team as a path)."""
    app = bench_app(url)
    with app.app_context():
        tree = load_tree()
        paths = {team_id: tree.path(team_id) for team_id in tree.nodes}
        rows = [{"email": p.email, "name": p.name, "team": paths[p.team_id],
                 "location": p.location, "role_level": p.role_level,
                 "tenure_band": p.tenure_band}
                for p in db.session.execute(
                    select(Person.email, Person.name, Person.team_id, Person.location,
                           Person.role_level, Person.tenure_band).order_by(Person.id))]
        db.session.remove()
        db.engine.dispose()
    return rows


def write_csv(path: Path, rows: list[dict]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, ["email", "name", "team", "location", "role_level",
                                    "tenure_band"])
        writer.writeheader()
        writer.writerows(rows)
    return path


def refreshed(rows: list[dict]) -> list[dict]:
    """The directory a year on: 1% left and as many joined, 2% changed role, 1% moved team."""
    rng = random.Random(2)
    teams = sorted({r["team"] for r in rows})
    out = []
    for n, row in enumerate(rows):
        row = dict(row)
        roll = rng.random()
        if roll < 0.01:
            row["email"] = f"joiner{n:06d}@bench.example"
            row["name"] = f"New {row['name']}"
        elif roll < 0.03:
            row["role_level"] = "Team lead" if row["role_level"] != "Team lead" else "Manager"
        elif roll < 0.04:
            row["team"] = rng.choice(teams)
        out.append(row)
    return out


def imports(bench_url: str, empty_url: str, folder: Path, instance: Path) -> dict[str, float]:
    """Import the whole directory as CSV into an empty database (first import: every person and
    team is new), and a year's changes of it into the benchmark database (refresh)."""
    rows = people_rows(bench_url)
    first = write_csv(folder / "people.csv", rows)
    refresh = write_csv(folder / "people-refresh.csv", refreshed(rows))
    migrate(empty_url)
    return {
        "rows": len(rows),
        "first": flask_command(empty_url, instance, "import-people", str(first)),
        "refresh": flask_command(bench_url, instance, "import-people", str(refresh)),
    }


# --- Reports kept ready: pre-rendered at close on the queue, then served from storage -------------


@dataclass(frozen=True)
class Prerender:
    groups: int
    seconds: float
    workers: int

    @property
    def per_core(self) -> float:
        return self.groups / self.seconds / self.workers


def stored_reports(app, round_id: int) -> int:
    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(StoredReport)
                                  .where(StoredReport.round_id == round_id))
        db.session.remove()
    return count


def prerender(url: str, manifest: Manifest, instance: Path, log: Callable[[str], None],
              workers: int = 2) -> Prerender:
    """Every report of a closed round (the organisation's and every team's, PDF and CSV), as
    closing queues them: ``prepare_reports`` on a real Redis, rendered by ``flask worker``
    processes; timed from the workers' start to the last report stored."""
    round_id = manifest.closed_round_ids[-1]
    redis = start_redis()
    try:
        env = cli_env(url, instance) | {"SURVEYAPP_QUEUE_URL": redis.url,
                                        "SURVEYAPP_QUEUE_NAME": "bench"}
        app = create_app(bench_config(url) | {"QUEUE_URL": redis.url, "QUEUE_NAME": "bench"})
        with app.app_context():
            db.session.execute(delete(StoredReport).where(StoredReport.round_id == round_id))
            db.session.commit()
            groups = len(missing_groups(round_id))
            db.session.rollback()
            prepare_reports.enqueue(round_id)
            db.session.remove()
        started = time.perf_counter()
        worker_log = open(instance / "worker.log", "ab")  # noqa: SIM115 (closed below)
        worker = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "surveyapp", "worker", "--workers",
             str(workers)], cwd=ROOT, env=env, stdout=worker_log, stderr=subprocess.STDOUT,
            start_new_session=True)
        try:
            last_log = started
            while (stored := stored_reports(app, round_id)) < 2 * groups:
                if worker.poll() is not None:
                    raise RuntimeError(f"the worker exited; see {instance / 'worker.log'}")
                if time.perf_counter() - last_log > 60:
                    last_log = time.perf_counter()
                    log(f"    {stored // 2:,} of {groups:,} groups rendered")
                time.sleep(0.5)
            seconds = time.perf_counter() - started
        finally:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(timeout=60)
            worker_log.close()
        with app.app_context():
            db.engine.dispose()
    finally:
        redis.stop()
    return Prerender(groups, seconds, workers)


def session_cookie(app, user_id: int, user_agent: str) -> str:
    """The session cookie of ``user_id`` signed in from 127.0.0.1 with this User-Agent (what
    the load generator sends), as the sign-in page would set it."""
    with app.test_request_context(environ_base={"REMOTE_ADDR": "127.0.0.1",
                                                "HTTP_USER_AGENT": user_agent}):
        login_user(db.session.get(User, user_id))
        session.permanent = True
        return app.session_interface.get_signing_serializer(app).dumps(dict(session))


def ensure_stored(app, round_id: int, group_id: int) -> None:
    """Render and store the group's reports if a pre-render has not."""
    with app.app_context():
        if group_id in missing_groups(round_id):
            db.session.rollback()
            render_and_store(round_id, [group_id])
        db.session.remove()
