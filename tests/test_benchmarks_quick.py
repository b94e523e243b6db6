"""The benchmark (python -m benchmarks) still runs end to end: its quick mode on SQLite writes a
table with a figure in every measurement row. No timing is asserted: the figures of a tiny
organisation on a shared CI machine mean nothing."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: Every measurement the benchmark makes, as the first cell of its row in docs/PERFORMANCE.md.
ROWS = [
    "Survey page GET", "Hello world, same gunicorn", "Survey GET ÷ hello world",
    "Survey submit", "Whole-organisation heatmap, context built",
    "Whole-organisation heatmap, context cached", "Raw GROUP BY of the same answers",
    "Heatmap (context built) ÷ raw GROUP BY", "One team's report data, context cached",
    "One team's report data, context built", "Whole organisation's report data",
    "Closing a round (tallying its answers)", "Team PDF render, p50", "Team PDF render, p95",
    "Team PDF peak RSS", "RSS growth over the renders", "Group PDF render, p50",
    "Bulk PDFs with the CLI", "People import, first", "People import, refresh",
    "Invitations through the queue",
]


@pytest.mark.slow
def test_the_quick_benchmark_fills_every_row_of_the_table(tmp_path):
    table = tmp_path / "PERFORMANCE.md"
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks", "run", "--quick", "--db", "sqlite",
         "--output", str(table), "--cache", str(tmp_path / "cache")],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    lines = table.read_text().splitlines()
    for name in ROWS:
        row = next((line for line in lines if line.startswith(f"| {name} |")), None)
        assert row is not None, f"no row {name!r}"
        cells = [cell.strip() for cell in row.split("|")[1:-1]]
        sqlite, postgresql = cells[1], cells[3]
        assert sqlite and not sqlite.startswith(("failed", "not ")), row
        assert postgresql == "not run", row
