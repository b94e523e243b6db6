"""Exporting survey links is a deliberate, recorded act, shown on every report of the round.

The attack it answers: an HR admin downloads the links of everyone who has not submitted,
answers in their names with fixed values, closes the round, and reads the one real
respondent's answers and comment off the means. The application cannot tell those answers
from real ones; what it can do is make the export deliberate, record it, show it to everyone
who reads the round's results, and let an organisation switch it off.
"""

from __future__ import annotations

import csv
import io
from urllib.parse import urlsplit

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from surveyapp.analysis.confidentiality import ORGANISATION
from surveyapp.clock import today
from surveyapp.instrument import load_default
from surveyapp.models import LinkExport, Participation, Round, RoundStatus
from surveyapp.rounds.operations import close_round

pytestmark = pytest.mark.both_databases


INSTRUMENT = load_default()


def text(response) -> str:
    return response.get_data(as_text=True)


def exports(db) -> list[LinkExport]:
    db.session.expire_all()
    return list(db.session.scalars(select(LinkExport).order_by(LinkExport.id)))


def long_date() -> str:
    return f"{today():%-d %B %Y}"


def download(client, round_id) -> list[dict]:
    response = client.submit(f"/rounds/{round_id}/links")
    assert response.status_code == 200 and response.mimetype == "text/csv", text(response)[:300]
    return list(csv.DictReader(io.StringIO(text(response).lstrip("\ufeff"))))


# --- a deliberate act ------------------------------------------------------------------------


def test_the_round_page_leads_to_a_page_that_says_what_exporting_means(
        db, client, hr, org, make_round):
    round_ = make_round([org.sales], launched=True)
    page = text(client.get(f"/rounds/{round_.id}"))
    assert f'href="/rounds/{round_.id}/links"' in page and "links.csv" not in page
    page = text(client.get(f"/rounds/{round_.id}/links"))
    assert "Anyone holding a link can answer as that person" in page
    assert "This export will be shown on the round’s reports" in page
    assert '<form method="post"' in page and 'name="csrf_token"' in page
    assert "Download the links and record the export" in page
    assert "/s/" not in page  # the page itself holds no link
    assert exports(db) == []  # looking is not exporting


def test_a_download_is_recorded_with_who_when_and_how_many(db, client, hr, org, make_round):
    round_ = make_round([org.sales], launched=True)
    db.session.add(Participation(round_id=round_.id, person_id=org.people[7].id))
    db.session.commit()
    rows = download(client, round_.id)
    assert len(rows) == 5
    (export,) = exports(db)
    assert (export.round_id, export.user_id, export.exported_by, export.links) == (
        round_.id, hr.id, "Hana Reyes", 5)
    page = text(client.get(f"/rounds/{round_.id}"))
    assert f"Survey links were exported by Hana Reyes on {long_date()}." in page
    assert "for 5 people" not in page  # the number would say how many had submitted


def test_a_download_without_the_forms_token_is_refused_and_records_nothing(
        db, client, hr, org, make_round):
    round_ = make_round([org.sales], launched=True)
    response = client.post(f"/rounds/{round_.id}/links")
    assert response.status_code == 400 and response.mimetype == "text/html"
    assert exports(db) == []


def test_the_command_records_the_command_line_as_the_exporter(db, runner, org, make_round):
    round_ = make_round([org.sales], launched=True)
    result = runner.invoke(args=["round", "links", str(round_.id)])
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 7
    assert "shown on every report of the round" in result.stderr
    (export,) = exports(db)
    assert (export.user_id, export.exported_by, export.links) == (None, "the command line", 6)


def test_a_closed_rounds_links_are_not_exported(db, client, hr, runner, org, make_round):
    round_ = make_round([org.sales], launched=True)
    close_round(round_)
    db.session.commit()
    response = client.get(f"/rounds/{round_.id}/links", follow_redirects=True)
    assert "This round has closed: its links no longer work." in text(response)
    result = runner.invoke(args=["round", "links", str(round_.id)])
    assert result.exit_code == 1 and "no longer work" in result.stderr
    assert exports(db) == []


# --- LINK_EXPORT = False: switched off everywhere ---------------------------------------------


def test_switched_off_the_page_explains_the_route_refuses_and_the_command_refuses(
        app, db, client, hr, runner, org, make_round):
    app.config["LINK_EXPORT"] = False
    round_ = make_round([org.sales], launched=True)
    page = text(client.get(f"/rounds/{round_.id}"))
    assert "Downloading survey links is switched off for your organisation" in page
    assert f"/rounds/{round_.id}/links" not in page
    assert client.get(f"/rounds/{round_.id}/links").status_code == 403
    token = client.csrf_token(f"/rounds/{round_.id}")
    refused = client.post(f"/rounds/{round_.id}/links", data={"csrf_token": token})
    assert refused.status_code == 403 and "/s/" not in text(refused)
    result = runner.invoke(args=["round", "links", str(round_.id)])
    assert result.exit_code == 1 and "switched off" in result.stderr and "/s/" not in result.output
    assert exports(db) == []


# --- the padding attack ends on every report of the round -------------------------------------


def answer_through(client, url: str, value: int) -> None:
    """Answer every statement with ``value`` through the link, as a browser would, and submit."""
    path = urlsplit(url).path
    for number, capability in enumerate(INSTRUMENT.capabilities, start=1):
        client.post(f"{path}/step/{number}",
                    data={f"s:{s.key}": str(value) for s in capability.statements})
    assert client.post(f"{path}/submit").status_code == 302


@pytest.fixture
def padded(db, app, client, hr, org, make_round):
    """Sales (6 people, minimum 5): one person answers for real; HR exports the other five
    links, answers in their names with 3s, and closes the round."""
    round_ = make_round([org.sales], launched=True)
    real = download(client, round_.id)  # every link, to answer as the one real person
    real_person = real[0]
    answer_through(app.test_client(), real_person["url"], 5)
    rows = download(client, round_.id)
    assert len(rows) == 5 and real_person["email"] not in {r["email"] for r in rows}
    for row in rows:
        answer_through(app.test_client(), row["url"], 3)
    close_round(db.session.get(Round, round_.id))
    db.session.commit()
    assert db.session.get(Round, round_.id).status == RoundStatus.CLOSED
    notices = [f"Survey links were exported by Hana Reyes on {long_date()}."] * 2
    names = [p.name for p in org.people[7:13]] + [p.email for p in org.people[7:13]]
    return round_.id, notices, names


@pytest.mark.slow
def test_after_padding_every_report_of_the_round_shows_the_exports(
        db, client, runner, org, padded, tmp_path):
    round_id, notices, names = padded
    for group in (org.sales.id, ORGANISATION):
        base = f"/reports/{round_id}/{group}"
        page = text(client.get(base))
        assert "Survey links were exported for this round" in page
        assert all(n in page for n in notices)

        rows = list(csv.reader(io.StringIO(text(client.get(f"{base}/aggregates.csv"))
                                           .lstrip("\ufeff"))))
        assert rows[0][-1] == "notice"
        assert {row[-1] for row in rows[1:]} == {
            " ".join(notices) + " Anyone holding a link could answer as that person."}

        reader = PdfReader(io.BytesIO(client.get(f"{base}/report.pdf").data))
        pages = [" ".join(p.extract_text().split()) for p in reader.pages]
        assert "Survey links were exported for this round" in pages[0]  # the cover
        glance = pages[1]
        assert "At a glance" in glance and all(n in glance for n in notices), glance
        # The attack worked: (5 + 5 × 3) / 6 gives the real answer away. The notice is what
        # tells every reader of these figures that this could have happened.
        assert "3.33 out of 5" in pages[0]
        method = " ".join(pages).rsplit("How to read this report", 1)[1]  # the last section
        assert "Survey links exported" in method and all(n in method for n in notices)
        (attached,) = reader.attachments["aggregates.csv"]
        assert notices[0] in attached.decode()

    result = runner.invoke(args=["report", str(round_id), "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert all(n in result.stderr for n in notices)
    assert all(row[-1].startswith(notices[0]) for row in
               list(csv.reader(io.StringIO(result.stdout)))[1:])
    target = tmp_path / "org.pdf"
    result = runner.invoke(args=["report", str(round_id), "--output", str(target)])
    assert result.exit_code == 0, result.output
    written = [" ".join(p.extract_text().split()) for p in PdfReader(str(target)).pages]
    assert "Survey links were exported for this round" in written[0]
    assert all(n in written[1] for n in notices)  # At a glance


def test_no_report_and_not_the_round_page_lists_who_has_not_answered(
        db, client, org, padded):
    round_id, _notices, names = padded
    outputs = [text(client.get(f"/rounds/{round_id}"))]
    for group in (org.sales.id, ORGANISATION):
        base = f"/reports/{round_id}/{group}"
        outputs.append(text(client.get(base)))
        outputs.append(text(client.get(f"{base}/aggregates.csv")))
        reader = PdfReader(io.BytesIO(client.get(f"{base}/report.pdf").data))
        outputs += [p.extract_text() for p in reader.pages]
    for output in outputs:
        assert not any(name in output for name in names)


def test_link_export_is_on_by_default(app):
    assert app.config["LINK_EXPORT"] is True
