"""``python -m benchmarks run [--quick] [--db sqlite|postgresql|both]``

Builds (or reuses from .artifacts/bench/) the synthetic organisation, measures everything on
each database and writes the results table to docs/PERFORMANCE.md (``--output`` elsewhere).
``--quick`` uses a tiny organisation and runs of a few seconds: it proves that the benchmark
still works (CI runs it), its figures mean nothing. Exit code 1 when a measurement failed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .measure import probe_pdf
from .run import STEPS, execute, plan

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[1])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="measure and write the results table")
    run.add_argument("--quick", action="store_true",
                     help="a tiny organisation and short runs (for CI; figures mean nothing)")
    run.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    run.add_argument("--output", type=Path, default=ROOT / "docs" / "PERFORMANCE.md",
                     help="where to write the table (default: docs/PERFORMANCE.md)")
    run.add_argument("--cache", type=Path, default=ROOT / ".artifacts" / "bench",
                     help="where built databases are kept between runs")
    run.add_argument("--workers", type=int, help="gunicorn workers (default: 2 per core)")
    run.add_argument("--seconds", type=int, help="length of each load run (default: 20, quick 2)")
    run.add_argument("--only", default="", metavar="NAMES",
                     help="run only these measurements, comma-separated: "
                          f"{', '.join(STEPS)} (get: the survey page and submit load "
                          "runs; default: all)")
    probe = commands.add_parser("probe-pdf", help=argparse.SUPPRESS)
    probe.add_argument("url")
    probe.add_argument("round_id", type=int)
    probe.add_argument("jobs", nargs="+", metavar="TEAM:RENDERS")
    args = parser.parse_args(argv)
    if args.command == "probe-pdf":
        jobs = [tuple(int(n) for n in job.split(":")) for job in args.jobs]
        print(json.dumps(probe_pdf(args.url, args.round_id, jobs)))
        return 0
    databases = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
    only = tuple(name.strip() for name in args.only.split(",") if name.strip())
    unknown = sorted(set(only) - set(STEPS))
    if unknown:
        parser.error(f"--only: unknown measurement {', '.join(unknown)}; choose from "
                     f"{', '.join(STEPS)}")
    return execute(plan(args.quick, databases, args.output, args.cache, args.workers,
                        args.seconds, only))


if __name__ == "__main__":
    sys.exit(main())
