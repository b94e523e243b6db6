"""One benchmark run: prepare each database, measure everything, write the table."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import gunicorn
from sqlalchemy import create_engine, func, select, update

from surveyapp.models import Response, Round

from . import http, mailing, measure, report
from .build import SECRET_KEY, Manifest
from .databases import PG_OPTIONS, Postgres, open_cache, sqlite_copy
from .organisation import FULL, QUICK, Sizes

#: The measurements, in the order they run (``--only`` picks some).
STEPS = ("grid", "pdf", "bulk", "prerender", "stored", "get", "import", "invitations")
#: The measurements that make a database of their own, without the cached organisation.
OWN_DATABASE = frozenset({"invitations"})


@dataclass(frozen=True)
class Plan:
    sizes: Sizes
    databases: tuple[str, ...]
    load: http.LoadSettings
    #: Repeats of each aggregation; renders of the team PDF (and of the group's); teams in the
    #: bulk run.
    repeats: int
    renders: int
    group_renders: int
    bulk: int
    cache: Path
    output: Path
    #: The measurements to run (every one when empty): grid, pdf, bulk, get, import.
    only: tuple[str, ...] = ()


def plan(quick: bool, databases: tuple[str, ...], output: Path, cache: Path,
         workers: int | None, seconds: int | None, only: tuple[str, ...] = ()) -> Plan:
    cores = os.cpu_count() or 1
    return Plan(
        sizes=QUICK if quick else FULL, databases=databases,
        load=http.LoadSettings(workers=workers or 2 * cores, threads=1, connections=8,
                               seconds=seconds or (1 if quick else 20)),
        repeats=2 if quick else 5, renders=3 if quick else 200,
        group_renders=1 if quick else 10, bulk=4 if quick else 500,
        cache=cache, output=output, only=only,
    )


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def execute(p: Plan) -> int:
    """Run every measurement on every database; write the table; 0 when everything ran."""
    organisation = not p.only or not set(p.only) <= OWN_DATABASE
    if organisation:
        http.wrk_path()  # fail at once, not after building the database
    load_before = os.getloadavg()[0]
    for key in [k for k in os.environ if k.startswith("SURVEYAPP_")]:
        del os.environ[key]
    work = Path(tempfile.mkdtemp(prefix="surveyapp-bench-"))
    os.environ["SURVEYAPP_INSTANCE_PATH"] = str(work / "instance")
    cache = open_cache(p.cache, p.sizes, log) if organisation else None
    manifest = Manifest.load(cache.manifest_file) if cache else None
    results: dict[str, dict | None] = {}
    postgres = Postgres(log)
    pg_version = None
    try:
        for database in p.databases:
            folder = work / database
            folder.mkdir()
            if database == "sqlite":
                url = empty_url = ""
                if cache:
                    log("SQLite: copying the cached database")
                    url = sqlite_copy(cache, folder)
                    empty_url = f"sqlite:///{folder / 'empty.sqlite3'}"
                mail_url = f"sqlite:///{folder / 'mail.sqlite3'}"
            else:
                url = empty_url = ""
                if cache:
                    log("PostgreSQL: starting a cluster and restoring the cached database")
                    url = postgres.prepare(cache)
                    empty_url = postgres.empty_database("bench_empty")
                else:
                    postgres.start().restart(PG_OPTIONS)
                mail_url = postgres.empty_database("bench_mail")
                pg_version = postgres.version()
            results[database] = measure_database(p, manifest, url, empty_url, mail_url, folder)
    finally:
        postgres.stop()
        shutil.rmtree(work, ignore_errors=True)
    context = {
        "date": report.now(), "commit": report.git_commit(), "machine": report.machine(),
        "postgresql": pg_version, "quick": p.sizes is QUICK, "sizes": describe(p.sizes, manifest),
        "load_before": load_before, "load_after": os.getloadavg()[0],
        "gunicorn": gunicorn_version(), "workers": p.load.workers, "threads": p.load.threads,
        "connections": p.load.connections, "seconds": p.load.seconds,
        "notes": notes(p, manifest, next((r["team"] for r in results.values()
                                          if r and "team" in r), None)),
        "organisation": organisation,
    }
    p.output.parent.mkdir(parents=True, exist_ok=True)
    p.output.write_text(report.render(results, context))
    log(f"Wrote {p.output}")
    failed = [f"{db}: {name}" for db, r in results.items() for name in (r or {}).get("failures", {})]
    for failure in failed:
        log(f"FAILED {failure}")
    return 1 if failed else 0


def measure_database(p: Plan, manifest: Manifest | None, url: str, empty_url: str,
                     mail_url: str, folder: Path) -> dict:
    results: dict = {"failures": {}, "load": os.getloadavg()[0]}
    log(f"  load average {results['load']:.2f}")
    instance = Path(os.environ["SURVEYAPP_INSTANCE_PATH"])
    if manifest is not None:
        reopen_survey(url, manifest)
        team = results["team"] = measure.typical_team(url, manifest)

    def step(name: str, fn: Callable[[], None]) -> None:
        if p.only and name not in p.only:
            return
        log(f"  {name}")
        try:
            fn()
        except Exception as error:  # one failed measurement must not lose the others
            traceback.print_exc()
            results["failures"][name] = f"{type(error).__name__}: {str(error)[:200]}"

    def aggregation() -> None:
        results.update(measure.aggregation(url, manifest, team, p.repeats))

    def pdf() -> None:
        probe, group = measure.run_probe(url, manifest.closed_round_ids[-1],
                                         [(team.team_id, p.renders),
                                          (manifest.team_id, p.group_renders)])
        results["pdf_probe"] = probe
        results["pdf"] = measure.Timing(tuple(probe["times"]))
        results["group_pdf"] = measure.Timing(tuple(group["times"]))

    def bulk() -> None:
        results["bulk"] = measure.bulk(url, manifest, p.bulk, folder / "pdfs", instance)

    def prerender() -> None:
        results["prerender"] = measure.prerender(url, manifest, instance, log)
        log(f"    {results['prerender'].per_core:.2f} PDF/s per core")

    def stored() -> None:
        results["stored"] = stored_download(p, manifest, url, team.team_id, folder)
        log(f"    stored PDF p95 {results['stored'].p95_ms:.0f} ms")

    def load_runs() -> None:
        results.update(survey_load(p, manifest, url, folder))

    def imports() -> None:
        results["import"] = measure.imports(url, empty_url, folder, instance)

    def invitations() -> None:
        run = results["invitations"] = mailing.invitations(mail_url, p.sizes.people, folder,
                                                           instance, log)
        log(f"    {run.per_second:,.0f} messages/s; {run.twice} sent twice, "
            f"{run.unsent} unsent, {run.distinct_ids:,} Message-IDs")

    step("grid", aggregation)
    step("pdf", pdf)
    step("bulk", bulk)
    step("prerender", prerender)
    step("stored", stored)
    step("get", load_runs)
    step("import", imports)
    step("invitations", invitations)
    return results


def reopen_survey(url: str, manifest: Manifest) -> None:
    """Move the open round's dates around today (the cached database may be weeks old)."""
    day = date.today()
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(update(Round).where(Round.id == manifest.open_round_id).values(
            opens_on=day - timedelta(days=1), closes_on=day + timedelta(days=30)))
    engine.dispose()


#: What the load generator says it is; the session cookie is made for it (sessions are bound to
#: the client's address and User-Agent).
USER_AGENT = "surveyapp-benchmark"


def stored_download(p: Plan, manifest: Manifest, url: str, team_id: int,
                    folder: Path) -> http.LoadResult:
    """HR downloading a closed round's team PDF, stored when the round closed, through the
    same gunicorn as the load runs."""
    round_id = manifest.closed_round_ids[-1]
    app = measure.bench_app(url)
    measure.ensure_stored(app, round_id, team_id)
    with app.app_context():
        cookie = measure.session_cookie(app, 1, USER_AGENT)
    env = {"SURVEYAPP_DATABASE_URL": url, "SURVEYAPP_SECRET_KEY": SECRET_KEY,
           "SURVEYAPP_ENV": "production", "SURVEYAPP_QUEUE_URL": "immediate",
           "SURVEYAPP_INSTANCE_PATH": os.environ["SURVEYAPP_INSTANCE_PATH"]}
    headers = {"Cookie": f"session={cookie}", "User-Agent": USER_AGENT}
    target = f"/reports/{round_id}/{team_id}/report.pdf"
    settings = p.load
    with http.Gunicorn("wsgi:app", settings.workers, env, folder / "gunicorn.log") as server:
        http.run_wrk(server.base_url + target, settings, headers=headers,
                     seconds=max(1, settings.seconds // 4))
        return http.run_wrk(server.base_url + target, settings, headers=headers)


def survey_load(p: Plan, manifest: Manifest, url: str, folder: Path) -> dict:
    """Hello world, then the survey page and the submit, each through the same gunicorn."""
    settings = p.load
    warm_up = max(1, settings.seconds // 4)
    get_tokens = folder / "get-tokens.txt"
    get_tokens.write_text("\n".join(manifest.get_tokens) + "\n")
    submit_tokens = folder / "submit-tokens.txt"
    submit_tokens.write_text("\n".join(manifest.submit_tokens) + "\n")
    out = {}
    with http.Gunicorn("benchmarks.hello:app", settings.workers, {}, folder / "gunicorn.log",
                       ready_path="/") as server:
        http.run_wrk(server.base_url + "/", settings, seconds=warm_up)
        out["hello"] = http.run_wrk(server.base_url + "/", settings)
        log(f"    hello world {out['hello'].per_second:,.0f}/s")
    env = {"SURVEYAPP_DATABASE_URL": url, "SURVEYAPP_SECRET_KEY": SECRET_KEY,
           "SURVEYAPP_ENV": "production",
           "SURVEYAPP_INSTANCE_PATH": os.environ["SURVEYAPP_INSTANCE_PATH"]}
    with http.Gunicorn("wsgi:app", settings.workers, env, folder / "gunicorn.log") as server:
        http.run_wrk(server.base_url, settings, "get", get_tokens, 200, seconds=warm_up)
        out["get"] = http.run_wrk(server.base_url, settings, "get", get_tokens, 200)
        log(f"    survey page {out['get'].per_second:,.0f}/s")
        out["submit"] = http.run_wrk(server.base_url, settings, "submit", submit_tokens, 302)
        log(f"    submit {out['submit'].per_second:,.0f}/s, {out['submit'].errors} errors")
    out["submit_ok"] = out["submit"].requests - out["submit"].errors
    out["connections"] = settings.connections
    engine = create_engine(url)
    with engine.connect() as conn:
        out["submit_stored"] = conn.scalar(
            select(func.count()).select_from(Response)
            .where(Response.round_id == manifest.open_round_id))
    engine.dispose()
    return out


def gunicorn_version() -> str:
    return gunicorn.__version__


def describe(sizes: Sizes, manifest: Manifest | None) -> str:
    if manifest is None:
        return (f"not built (only the invitations were measured: {sizes.people:,} people in "
                "one team, in a database of their own)")
    return (f"{manifest.people:,} people in {manifest.teams:,} teams on {len(sizes.levels)} "
            f"levels ({' / '.join(f'{n:,}' for n in sizes.levels)}); two closed rounds of "
            f"{sizes.responses:,} responses each ({manifest.answers:,} answers in all); an open "
            f"round with {sizes.drafts:,} saved drafts for the load runs")


def notes(p: Plan, manifest: Manifest | None, team: measure.MeasuredTeam | None) -> list[str]:
    mail = (f"**Invitations through the queue**: {p.sizes.people:,} invitations of one round "
            "(in a database of their own) queued by `flask round send` and sent by "
            f"`flask worker --workers {mailing.WORKERS}` (processes) on Redis to an SMTP sink "
            "on 127.0.0.1 (aiosmtpd, in the benchmark's process, counting every message by "
            f"recipient and Message-ID). After {mailing.KILL_AT:.0%} of the messages the "
            "worker's process group is killed (SIGKILL); after its leases run out "
            f"({mailing.LEASE_SECONDS} s) `flask round send` queues its batches again and a "
            "new worker finishes. Messages per second over the time the workers ran (the wait "
            "for the leases left out); checked: every invitation delivered under one "
            "Message-ID, and at most one message delivered twice per worker killed.")
    if manifest is None:
        return [mail]
    team_text = (f"{team.path} ({team.people} people), the team of median size among the "
                 "teams with no team below them" if team else "a team")
    return [
        "**Survey page GET**: `GET /s/<token>/step/1` (the first step, with a saved draft), a "
        "different link on every request. **Hello world**: a bare Flask app "
        "(benchmarks/hello.py) under the same gunicorn and wrk settings: the ceiling of the "
        "stack on this machine. Throughput counts every response; latencies are wrk's.",
        "**Survey submit**: `POST /s/<token>/submit`, every request with its own link and a "
        "full saved draft (28 answers and comments): one response, its answers, comments and "
        "participation written in one transaction. An error is any status but 302, a socket "
        "error or a timeout; afterwards the responses stored are counted: at least as many as "
        "were accepted, and at most as many more as there were connections (the requests in "
        "flight when wrk stopped).",
        f"**Whole-organisation heatmap**: the scores of every team ({manifest.teams:,}, each "
        "with the teams below it) on the 7 capabilities and the index, under every "
        "suppression rule, as HR downloads them (the organisation's aggregates.csv view), in a "
        "new session; *context built*: with the round's context (every team's tally and what "
        "may be shown) built anew each time, as for the first report of a round in a new "
        "worker; *context cached*: as for every later request in that worker (each group's "
        "scores are then worked out once per worker). **Raw GROUP BY**: one SQL statement "
        "counting and averaging the same answers by team and statement, with nothing else: "
        "the floor for reading them.",
        f"**One team's report data**: `team_report()` for {team_text}, with the change since "
        "the round before; *context cached*: the round's context (every team's tally and what "
        "may be shown) already built by an earlier report in the same worker, as for every "
        "report but the first; *context built*: the first report of a round in a new worker. "
        "**Whole organisation's report data**: the same for HR's organisation dashboard (every "
        f"team in its heatmap, and every improvement idea). Medians of {p.repeats} runs after a "
        "warm-up. **Closing a round**: tallying its answers team by team and storing the "
        "tallies, which closing a round does once.",
        f"**Team PDF**: the same team's PDF as the PDF view makes it (data, then WeasyPrint), "
        f"{p.renders} times in one new process: p50 and p95 of those, the process's peak "
        "resident memory, and the growth of resident memory from after the first render to "
        f"after the last. **Group PDF**: {manifest.team_path} ({manifest.team_people:,} people "
        f"in {manifest.team_subtree} teams), {p.group_renders} renders: a report with a "
        "heatmap of the teams below and a few hundred improvement ideas.",
        f"**Bulk PDFs**: `flask report ROUND --all-teams` rendering {p.bulk} teams spread "
        "evenly over the tree (the others are skipped as already written), one worker per "
        "core; wall time including start-up, divided by the workers.",
        "**Reports pre-rendered at close**: what closing a round queues: the PDF and the CSV "
        "of the organisation and of every team of the newer closed round, on a Redis queue "
        "(a redis-server of the benchmark's own), rendered by `flask worker --workers 2` (two "
        "processes); from the workers' start to the last report stored, divided by the workers.",
        "**Stored team PDF download**: HR downloading the measured team's PDF of the newer "
        "closed round, stored when it closed, through the same gunicorn and wrk settings as the "
        "load runs: sign-in check, access check and the stored file read from the database.",
        "**People import**: `flask import-people` with the whole directory as CSV: *first* "
        "into an empty database (every person and team new), *refresh* into the benchmark "
        "database (1% joiners, 2% changed role, 1% moved team, the rest unchanged).",
        mail,
        "PostgreSQL runs with fsync and synchronous commits on and 1 GB shared buffers; SQLite "
        "with the app's own settings (WAL, synchronous=NORMAL).",
    ]
