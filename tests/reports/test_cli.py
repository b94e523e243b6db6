"""``flask report``: files of a closed round's results (fixture ``closed_round``, conftest.py)."""

import csv
import io
import os
from datetime import date, timedelta

import pytest
from pypdf import PdfReader

from surveyapp.analysis.confidentiality import ORGANISATION
from surveyapp.analysis.report import RoundContext, RoundInfo, TeamRow
from surveyapp.clock import today
from surveyapp.instrument import load_default
from surveyapp.reports.storage import file_names
from surveyapp.rounds.operations import create_round, launch_round

HEADER = "team,capability,respondents,answers,mean,favourable_pct,neutral_pct,unfavourable_pct,notice"
#: The files of the fixture's round: the organisation's, then every team's in tree order.
FILES = ["Northwind-Services-whole-organisation.pdf", "Operations.pdf",
         "Operations-Customer-Care.pdf", "Operations-Customer-Care-North.pdf",
         "Operations-Depot.pdf", "Operations-Field-Service.pdf", "Sales.pdf"]


@pytest.fixture
def out(tmp_path):
    """An empty folder for the command's files (tmp_path also holds the app's instance/)."""
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


def report(runner, *args):
    return runner.invoke(args=["report", *map(str, args)])


def csv_lines(result):
    return list(csv.reader(io.StringIO(result.stdout)))


def test_csv_of_the_organisation_has_the_contract_header_and_every_team(runner, closed_round):
    result = report(runner, closed_round.round_id, "--format", "csv")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == HEADER  # and no byte-order mark
    rows = csv_lines(result)[1:]
    assert len(rows) == 7 * 8  # the organisation and 6 teams: 7 capabilities and the index
    # 21 responses of 28 answers each
    assert ["Northwind Services", "index", "21", "588", "3.38", "52.4", "23.8", "23.8", ""] in rows


def test_team_path_is_matched_without_regard_to_case_or_spaces(runner, closed_round):
    result = report(runner, closed_round.round_id, "--team", "operations / customer CARE",
                    "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = csv_lines(result)[1:]
    assert {r[0] for r in rows} == {"Operations/Customer Care", "Operations/Customer Care/North"}
    assert ["Operations/Customer Care", "index", "11", "308", "4.45", "100.0", "0.0", "0.0", ""] \
        in rows


def test_a_hidden_teams_csv_rows_have_no_figures(runner, closed_round):
    result = report(runner, closed_round.round_id, "--team", "Operations/Field Service",
                    "--format", "csv")
    rows = csv_lines(result)[1:]
    assert len(rows) == 8
    assert all(row[2:] == [""] * 7 for row in rows)  # no figures, and no notice


def test_csv_is_written_to_the_output_file(runner, closed_round, out):
    target = out / "sales.csv"
    result = report(runner, closed_round.round_id, "--team", "Sales", "--format", "csv",
                    "--output", target)
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert target.read_text(encoding="utf-8").splitlines()[0] == HEADER


def test_a_file_that_cannot_be_written_exits_1_with_the_reason(runner, closed_round, out):
    target = out / "missing-folder" / "sales.csv"
    result = report(runner, closed_round.round_id, "--team", "Sales", "--format", "csv",
                    "--output", target)
    assert result.exit_code == 1
    assert f"Could not write {target}: No such file or directory." in result.output


def test_unknown_team_exits_2_and_suggests_the_closest_path(runner, closed_round):
    result = report(runner, closed_round.round_id, "--team", "Operations/Customer Car",
                    "--format", "csv")
    assert result.exit_code == 2
    assert "has the path “Operations/Customer Car”" in result.output
    assert "Did you mean “Operations/Customer Care”?" in result.output


def test_unknown_round_exits_1(runner, closed_round):
    result = report(runner, closed_round.round_id + 100, "--format", "csv")
    assert result.exit_code == 1
    assert f"There is no round {closed_round.round_id + 100}." in result.output


def test_a_round_that_has_not_closed_has_no_report(runner, db, make_team, make_person):
    team = make_team("Sales")
    make_person(team=team)
    now = today()
    round_ = create_round(name="Now", teams=[team], opens_on=now,
                          closes_on=now + timedelta(days=7), today=now)
    launch_round(round_, today=now)
    db.session.commit()
    result = report(runner, round_.id, "--format", "csv")
    assert result.exit_code == 1
    assert "is open: results are published only after a round has closed" in result.output


def test_a_pdf_needs_an_output_file(runner, closed_round):
    result = report(runner, closed_round.round_id, "--format", "pdf")
    assert result.exit_code == 2
    assert "A PDF needs --output FILE." in result.output


@pytest.mark.slow
def test_all_teams_writes_only_pdfs(runner, closed_round, out):
    result = report(runner, closed_round.round_id, "--all-teams", "--format", "csv",
                    "--output", out)
    assert result.exit_code == 2
    assert not list(out.iterdir())


def test_pdf_of_a_team_is_written_to_the_output_file(runner, closed_round, out):
    target = out / "care.pdf"
    result = report(runner, closed_round.round_id, "--team", "Operations/Customer Care",
                    "--output", target)
    assert result.exit_code == 0, result.output
    reader = PdfReader(target)
    assert "Customer Care" in reader.pages[0].extract_text()
    assert [p.name for p in out.iterdir()] == ["care.pdf"]  # no temporary file left


@pytest.mark.slow
def test_all_teams_writes_one_pdf_per_team_and_the_organisations(runner, closed_round, out):
    result = report(runner, closed_round.round_id, "--all-teams", "--output", out,
                    "--jobs", 2)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)
    hidden = PdfReader(out / "Operations-Field-Service.pdf").pages[0].extract_text()
    assert "Results for Field Service are not shown" in hidden
    assert "Wrote 7 PDFs" in result.output


def test_all_teams_skips_the_files_already_there(runner, closed_round, out):
    for name in FILES[1:]:
        (out / name).write_bytes(b"done before")
    (out / f".{FILES[0]}.part").write_bytes(b"half a file from a crash")
    result = report(runner, closed_round.round_id, "--all-teams", "--output", out)
    assert result.exit_code == 0, result.output
    assert "Wrote 1 PDF to" in result.output and "(6 already there)" in result.output
    assert all((out / name).read_bytes() == b"done before" for name in FILES[1:])
    assert (out / FILES[0]).read_bytes().startswith(b"%PDF-")
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)


def test_all_teams_has_nothing_to_do_when_every_file_is_there(runner, closed_round, out):
    for name in FILES:
        (out / name).write_bytes(b"done before")
    result = report(runner, closed_round.round_id, "--all-teams", "--output", out)
    assert result.exit_code == 0
    assert "All 7 PDFs are already in" in result.output


def test_file_names_stay_unique_when_paths_make_the_same_name():
    teams = {
        1: TeamRow(1, None, "Sales & Accounts", "Sales & Accounts", 1),
        2: TeamRow(2, None, "Sales - Accounts", "Sales - Accounts", 1),
        3: TeamRow(3, None, "Acme", "Acme", 1),
        4: TeamRow(4, None, "acme whole organisation", "acme whole organisation", 1),
    }
    info = RoundInfo(1, "R", load_default(), 5, 5, date(2026, 1, 1), date(2026, 1, 2), "closed")
    names = file_names(RoundContext(info, teams, {}), "Acme")
    assert names == {ORGANISATION: "Acme-whole-organisation.pdf", 3: "Acme.pdf",
                     4: "acme-whole-organisation-4.pdf", 1: "Sales-Accounts.pdf",
                     2: "Sales-Accounts-2.pdf"}
    assert len({n.casefold() for n in names.values()}) == len(names)
    assert os.sep not in "".join(names.values())


def test_all_teams_writes_the_pdfs_prepared_at_close_and_renders_only_the_rest(
        db, runner, closed_round, out):
    from sqlalchemy import delete

    from surveyapp.models import StoredReport
    from surveyapp.reports.jobs import prepare_reports

    prepare_reports(closed_round.round_id)
    db.session.execute(delete(StoredReport).where(StoredReport.team_id == 0))
    db.session.commit()
    sales = db.session.get(StoredReport, (closed_round.round_id, closed_round.teams["Sales"], "pdf"))
    stored_sales = sales.content
    db.session.rollback()
    result = report(runner, closed_round.round_id, "--all-teams", "--output", out)
    assert result.exit_code == 0, result.output
    assert "Wrote 6 PDFs prepared when the round closed" in result.output
    assert "Wrote 1 PDF to" in result.output  # the organisation's, rendered now
    assert (out / "Sales.pdf").read_bytes() == stored_sales
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)
