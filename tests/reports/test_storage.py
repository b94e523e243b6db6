"""Reports kept ready: a closed round's PDFs and CSVs rendered by jobs, stored, and served to
whoever may see them, never when out of date."""

import io
from datetime import timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import delete, func, select, update

from surveyapp.models import Round, StoredReport, utcnow
from surveyapp.reports.jobs import keep_reports_ready, prepare_reports
from surveyapp.reports.storage import readiness

pytestmark = pytest.mark.both_databases

GROUPS = 7  # the organisation and the round's six teams


def stored_count(db, round_id: int) -> int:
    count = db.session.scalar(select(func.count()).select_from(StoredReport)
                              .where(StoredReport.round_id == round_id))
    db.session.rollback()
    return count


def stored(db, round_id: int, team_id: int, kind: str) -> bytes:
    content = db.session.get(StoredReport, (round_id, team_id, kind)).content
    db.session.rollback()
    return content


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_preparing_stores_every_groups_pdf_and_csv(db, closed_round):
    assert stored_count(db, closed_round.round_id) == 0
    prepare_reports(closed_round.round_id)
    assert stored_count(db, closed_round.round_id) == 2 * GROUPS
    assert readiness(closed_round.round_id).complete
    assert db.session.get(Round, closed_round.round_id).reports_queued_at is not None


def test_downloads_serve_the_stored_reports_to_those_who_may_see_them(
        db, client, auth, closed_round, leader_of):
    care, sales = closed_round.teams["Customer Care"], closed_round.teams["Sales"]
    on_demand_csv = None
    leader = leader_of(care)
    auth.login_as(leader)
    base = f"/reports/{closed_round.round_id}"
    on_demand_csv = client.get(f"{base}/{care}/aggregates.csv").data
    prepare_reports(closed_round.round_id)
    pdf = client.get(f"{base}/{care}/report.pdf")
    assert pdf.status_code == 200 and pdf.data == stored(db, closed_round.round_id, care, "pdf")
    assert pdf.headers["Cache-Control"] == "no-store"
    csv = client.get(f"{base}/{care}/aggregates.csv")
    assert csv.data == stored(db, closed_round.round_id, care, "csv") == on_demand_csv
    assert csv.headers["Content-Type"] == "text/csv; charset=utf-8"
    # Stored or not, a team the leader does not lead stays closed to them.
    assert client.get(f"{base}/{sales}/report.pdf").status_code == 403
    assert client.get(f"{base}/0/report.pdf").status_code == 403
    assert client.get(f"{base}/{sales}/aggregates.csv").status_code == 403


def test_a_report_of_another_fingerprint_is_rendered_again_not_served(
        app, db, client, hr, closed_round):
    prepare_reports(closed_round.round_id)
    app.config["ORGANISATION_NAME"] = "Southwind Services"
    assert readiness(closed_round.round_id).ready == 0
    response = client.get(f"/reports/{closed_round.round_id}/0/report.pdf")
    assert response.data != stored(db, closed_round.round_id, 0, "pdf")
    assert "Southwind Services" in pdf_text(response.data)
    assert "Southwind Services" not in pdf_text(stored(db, closed_round.round_id, 0, "pdf"))
    # The clock's job renders them anew (nothing has been queued lately... pretend so).
    db.session.execute(update(Round).values(reports_queued_at=utcnow() - timedelta(hours=1)))
    db.session.execute(update(StoredReport).values(rendered_at=utcnow() - timedelta(hours=1)))
    db.session.commit()
    keep_reports_ready()
    assert readiness(closed_round.round_id).complete
    assert "Southwind Services" in pdf_text(stored(db, closed_round.round_id, 0, "pdf"))


def test_the_clock_job_finishes_what_a_killed_worker_left_but_not_work_under_way(
        db, closed_round):
    round_id = closed_round.round_id
    keep_reports_ready()  # a round closed before reports were stored: never queued
    assert stored_count(db, round_id) == 2 * GROUPS
    db.session.execute(delete(StoredReport).where(StoredReport.team_id == 0))
    db.session.commit()
    keep_reports_ready()  # queued a moment ago: under way, left alone
    assert stored_count(db, round_id) == 2 * GROUPS - 2
    long_ago = utcnow() - timedelta(minutes=11)
    db.session.execute(update(Round).values(reports_queued_at=long_ago))
    db.session.execute(update(StoredReport).values(rendered_at=long_ago))
    db.session.commit()
    keep_reports_ready()  # no progress for over ten minutes: queued again
    assert stored_count(db, round_id) == 2 * GROUPS


def test_the_round_page_shows_how_many_reports_are_ready(db, client, hr, closed_round):
    prepare_reports(closed_round.round_id)
    page = client.get(f"/rounds/{closed_round.round_id}").get_data(as_text=True)
    assert f"All {GROUPS} reports of this round" in page
    db.session.execute(delete(StoredReport).where(StoredReport.team_id != 0))
    db.session.commit()
    page = client.get(f"/rounds/{closed_round.round_id}").get_data(as_text=True)
    assert f"1 of {GROUPS} ready" in page and 'value="1"' in page


def test_hr_downloads_every_stored_report_in_one_zip(db, client, hr, closed_round):
    import zipfile

    url = f"/reports/{closed_round.round_id}/all-reports.zip"
    early = client.get(url, follow_redirects=True).get_data(as_text=True)
    assert "still being prepared (0 of 7 ready)" in early
    prepare_reports(closed_round.round_id)
    assert url in client.get(f"/rounds/{closed_round.round_id}").get_data(as_text=True)
    response = client.get(url)
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert response.headers["Cache-Control"] == "no-store"
    assert "Spring-2026-reports.zip" in response.headers["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    assert len(archive.namelist()) == GROUPS
    sales = closed_round.teams["Sales"]
    assert archive.read("Sales.pdf") == stored(db, closed_round.round_id, sales, "pdf")


def test_a_leader_cannot_download_every_report(client, auth, closed_round, leader_of):
    prepare_reports(closed_round.round_id)
    auth.login_as(leader_of(*closed_round.teams.values()))
    assert client.get(f"/reports/{closed_round.round_id}/all-reports.zip").status_code == 403
