"""docs/PERFORMANCE.md: the results table, each target met or missed, and the set-up behind it."""

from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATABASES = ("sqlite", "postgresql")
TITLES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


@dataclass(frozen=True)
class Row:
    """One line of the table. ``show`` and ``check`` read one database's results (a dict)."""

    name: str
    show: Callable[[dict], str]
    target: str = ""
    #: True met, False missed, None: no target for this database.
    check: Callable[[dict, str], bool | None] | None = None


def _load(result) -> str:
    return (f"{result.per_second:,.0f}/s · p50 {result.p50_ms:.0f} / p95 {result.p95_ms:.0f} / "
            f"p99 {result.p99_ms:.0f} ms")


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms" if seconds < 10 else f"{seconds:,.1f} s"


def _submit(r: dict) -> str:
    s = r["submit"]
    text = f"{_load(s)} · {s.errors} errors"
    if not _stored_ok(r):
        text += f" · {r['submit_stored']} stored for {r['submit_ok']} accepted"
    return text


def _submit_met(r: dict, database: str) -> bool:
    floor = 300 if database == "postgresql" else 150
    s = r["submit"]
    return s.per_second >= floor and s.errors == 0 and _stored_ok(r)


def _stored_ok(r: dict) -> bool:
    """Every accepted submit stored, and nothing more than the requests still in flight."""
    return r["submit_ok"] <= r["submit_stored"] <= r["submit_ok"] + r["connections"]


ROWS = (
    Row("Survey page GET", lambda r: _load(r["get"])),
    Row("Hello world, same gunicorn", lambda r: _load(r["hello"])),
    Row("Survey GET ÷ hello world", lambda r: f"{r['get'].per_second / r['hello'].per_second:.0%}",
        "≥ 25%", lambda r, d: r["get"].per_second / r["hello"].per_second >= 0.25),
    Row("Survey submit", _submit, "≥ 300/s PostgreSQL, ≥ 150/s SQLite, 0 errors", _submit_met),
    Row("Whole-organisation heatmap, context built", lambda r: _ms(r["grid"].median),
        "≤ 300 ms PostgreSQL, ≤ 1 s SQLite",
        lambda r, d: r["grid"].median <= (0.3 if d == "postgresql" else 1.0)),
    Row("Whole-organisation heatmap, context cached", lambda r: _ms(r["grid_warm"].median),
        "≤ 300 ms PostgreSQL, ≤ 1 s SQLite",
        lambda r, d: r["grid_warm"].median <= (0.3 if d == "postgresql" else 1.0)),
    Row("Raw GROUP BY of the same answers", lambda r: _ms(r["raw"].median)),
    Row("Heatmap (context built) ÷ raw GROUP BY",
        lambda r: f"{r['grid'].median / r['raw'].median:.2f}×", "≤ 3×",
        lambda r, d: r["grid"].median <= 3 * r["raw"].median),
    Row("One team's report data, context cached", lambda r: _ms(r["team_report"].median)),
    Row("One team's report data, context built", lambda r: _ms(r["team_report_cold"].median)),
    Row("Whole organisation's report data", lambda r: _ms(r["org_report"].median)),
    Row("Closing a round (tallying its answers)", lambda r: _ms(r["close"].median)),
    Row("Team PDF render, p50", lambda r: f"{r['pdf'].median:.2f} s", "≤ 1.0 s",
        lambda r, d: r["pdf"].median <= 1.0),
    Row("Team PDF render, p95", lambda r: f"{r['pdf'].p95:.2f} s", "≤ 1.5 s",
        lambda r, d: r["pdf"].p95 <= 1.5),
    Row("Team PDF peak RSS", lambda r: f"{r['pdf_probe']['peak_rss_kb'] / 1024:.0f} MB", "≤ 250 MB",
        lambda r, d: r["pdf_probe"]["peak_rss_kb"] <= 250 * 1024),
    Row("RSS growth over the renders", lambda r: f"{_growth(r):+.1%} ({_renders(r)} renders)",
        "≤ 10%", lambda r, d: _growth(r) <= 0.10),
    Row("Group PDF render, p50", lambda r: f"{r['group_pdf'].median:.2f} s"),
    Row("Bulk PDFs with the CLI",
        lambda r: f"{r['bulk'].per_core:.2f} PDF/s per core ({r['bulk'].pdfs} in "
                  f"{r['bulk'].seconds:.0f} s, {r['bulk'].jobs} workers)",
        "≥ 1 PDF/s per core", lambda r, d: r["bulk"].per_core >= 1.0),
    Row("Reports pre-rendered at close (queue, 2 workers)",
        lambda r: f"{r['prerender'].per_core:.2f} PDF/s per core ({r['prerender'].groups:,} "
                  f"groups in {r['prerender'].seconds:,.0f} s)",
        "≥ 1.5 PDF/s per core", lambda r, d: r["prerender"].per_core >= 1.5),
    Row("Stored team PDF download", lambda r: f"{_load(r['stored'])} · {r['stored'].errors} errors",
        "p95 ≤ 100 ms, 0 errors",
        lambda r, d: r["stored"].requests > 0 and r["stored"].p95_ms <= 100
        and r["stored"].errors == 0),
    Row("People import, first", lambda r: f"{r['import']['first']:.1f} s "
                                          f"({r['import']['rows']:,} rows)",
        "≤ 30 s", lambda r, d: r["import"]["first"] <= 30),
    Row("People import, refresh", lambda r: f"{r['import']['refresh']:.1f} s "
                                            f"({r['import']['rows']:,} rows)",
        "≤ 30 s", lambda r, d: r["import"]["refresh"] <= 30),
    Row("Invitations through the queue",
        lambda r: _mail(r["invitations"]),
        "≥ 500/s; none lost, none under two Message-IDs",
        lambda r, d: r["invitations"].per_second >= 500 and r["invitations"].ok),
)


def _mail(run) -> str:
    return (f"{run.per_second:,.0f} messages/s ({run.invitations:,} by 2 worker processes, "
            f"both killed after {run.killed_after:,}: {run.distinct_ids:,} Message-IDs for "
            f"{run.distinct_recipients:,} people, {run.twice} sent twice, {run.unsent} unsent)")


def _growth(r: dict) -> float:
    probe = r["pdf_probe"]
    return (probe["last_rss_kb"] - probe["first_rss_kb"]) / probe["first_rss_kb"]


def _renders(r: dict) -> int:
    return len(r["pdf_probe"]["times"])


def cell(row: Row, results: dict | None, database: str) -> tuple[str, str]:
    """(figure, verdict) of one row for one database."""
    if results is None:
        return "not run", ""
    try:
        figure = row.show(results)
    except KeyError as error:
        failure = results.get("failures", {}).get(str(error.args[0]))
        return (f"failed: {failure}" if failure else "not measured"), ""
    if row.check is None:
        return figure, ""
    met = row.check(results, database)
    return figure, "met" if met else "**missed**"


def machine() -> dict[str, str]:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{kb / 1024 / 1024:.0f} GB RAM"
    except (OSError, ValueError, IndexError):
        pass
    system = platform.platform()
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                system = line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return {"cpu": f"{cpu}, {os.cpu_count()} cores", "memory": memory, "system": system,
            "python": platform.python_version(), "sqlite": sqlite3.sqlite_version}


def git_commit() -> str:
    def git(*args: str) -> str:
        out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return out.stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    changed = git("status", "--porcelain", "--untracked-files=no", "--", "surveyapp", "templates",
                  "benchmarks")
    return f"{commit} (with uncommitted changes)" if changed else commit


def render(results: dict[str, dict | None], context: dict) -> str:
    """The whole of docs/PERFORMANCE.md."""
    m = context["machine"]
    sizes = context["sizes"]
    lines = [
        "# Performance",
        "",
        "Written by `python -m benchmarks run` (benchmarks/); do not edit by hand. "
        "Run it again after a change that may affect speed, and commit the new table.",
        "",
        f"- **Date**: {context['date']}, git commit {context['commit']}"
        + (" (quick mode: a tiny organisation, for CI; not for reading)" if context["quick"] else ""),
        f"- **Machine**: {m['cpu']}, {m['memory']}; {m['system']}; Python {m['python']}, "
        f"SQLite {m['sqlite']}, {context.get('postgresql') or 'PostgreSQL not run'}",
        f"- **Load average** (1 min) before and after: {context['load_before']:.2f} and "
        f"{context['load_after']:.2f}"
        + "".join(f"; at the start of {TITLES[d]}: {r['load']:.2f}"
                  for d, r in results.items() if r and "load" in r)
        + ("; other work ran on the machine, so figures are pessimistic"
           if max([context["load_before"], context["load_after"]]
                  + [r["load"] for r in results.values() if r and "load" in r]) > 1 else ""),
        f"- **Organisation**: {sizes}",
        f"- **Load runs**: gunicorn {context['gunicorn']}, {context['workers']} sync workers "
        f"(`--no-control-socket`), on 127.0.0.1; wrk with {context['threads']} thread(s) and "
        f"{context['connections']} connections for {context['seconds']} s per run after a warm-up",
        "",
        "| Measurement | SQLite | | PostgreSQL | | Target |",
        "|---|---|---|---|---|---|",
    ]
    for row in ROWS:
        figures = []
        for database in DATABASES:
            figures.extend(cell(row, results.get(database), database))
        lines.append(f"| {row.name} | " + " | ".join(figures) + f" | {row.target} |")
    lines += ["", "## What each line measures", ""]
    lines += [f"- {note}" for note in context["notes"]]
    return "\n".join(lines) + "\n"


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
