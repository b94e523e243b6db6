import pytest

from surveyapp.analysis.confidentiality import ORGANISATION


def url(closed_round, team, suffix=""):
    team_id = ORGANISATION if team == "ORG" else closed_round.teams[team]
    return f"/reports/{closed_round.round_id}/{team_id}{suffix}"


def test_leader_sees_their_team_with_index_and_capabilities(client, auth, closed_round, leader_of):
    auth.login_as(leader_of(closed_round.teams["Customer Care"]))
    page = client.get(url(closed_round, "Customer Care")).get_data(as_text=True)
    # Care (6 people at 4) + North (5 people at 5): index = (6*4 + 5*5) / 11 = 4.45
    assert "4.45" in page
    assert "11</strong> responses" in page
    assert page.count('class="bar"') >= 7


def test_reports_index_sends_a_leader_to_their_first_team(client, auth, closed_round, leader_of):
    auth.login_as(leader_of(closed_round.teams["Sales"]))
    response = client.get("/reports/")
    assert response.headers["Location"].endswith(url(closed_round, "Sales"))


def test_hidden_team_shows_no_figures(client, hr, closed_round):
    page = client.get(url(closed_round, "Field Service")).get_data(as_text=True)
    assert "are not shown" in page
    assert "Service Capability Index" not in page
    assert "Better vans." not in page


def test_heatmap_marks_the_small_team_hidden_and_protects_it(client, hr, closed_round):
    page = client.get(url(closed_round, "Operations")).get_data(as_text=True)
    # Depot (3) and Field (2) are hidden; together they hold 5, so Ops - Care is safe to show
    assert page.count("too few responses to show") == 2
    assert "Open earlier." in page and "Better vans." in page  # ideas of Operations as a whole


def test_ideas_are_masked_and_only_for_large_enough_groups(client, hr, closed_round):
    page = client.get(url(closed_round, "Customer Care")).get_data(as_text=True)
    assert "Fewer hand-offs between teams." in page
    assert "Call me on [phone number removed]." in page
    assert "07700" not in page


def test_a_large_group_lists_a_sample_of_its_ideas_and_every_one_on_request(
        client, hr, closed_round, monkeypatch):
    monkeypatch.setattr("surveyapp.reports.views.IDEAS_LISTED", 1)
    ideas = ["Fewer hand-offs between teams.", "Call me on [phone number removed]."]
    page = client.get(url(closed_round, "Customer Care")).get_data(as_text=True)
    assert sum(idea in page for idea in ideas) == 1
    assert "answers, chosen at random." in page
    every = url(closed_round, "Customer Care", "?ideas=all")
    assert f'href="{every}#ideas-' in page
    page = client.get(every).get_data(as_text=True)
    assert all(idea in page for idea in ideas)
    assert "chosen at random" not in page


@pytest.mark.parametrize("suffix", ["", "/aggregates.csv", "/report.pdf"])
def test_leader_gets_403_outside_their_teams_on_every_path(client, auth, closed_round, leader_of,
                                                          suffix):
    auth.login_as(leader_of(closed_round.teams["Sales"]))
    assert client.get(url(closed_round, "Customer Care", suffix)).status_code == 403
    assert client.get(url(closed_round, "ORG", suffix)).status_code == 403


@pytest.mark.parametrize("suffix", ["", "/aggregates.csv"])
def test_leader_sees_teams_below_their_own(client, auth, closed_round, leader_of, suffix):
    auth.login_as(leader_of(closed_round.teams["Operations"]))
    assert client.get(url(closed_round, "North", suffix)).status_code == 200


def test_reports_are_never_cached(client, hr, closed_round):
    assert client.get(url(closed_round, "Sales")).headers["Cache-Control"] == "no-store"


def test_anonymous_visitors_are_sent_to_sign_in(client, closed_round):
    response = client.get(url(closed_round, "Sales"))
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_csv_has_the_contract_header_and_empty_figures_for_hidden_teams(client, hr, closed_round):
    text = client.get(url(closed_round, "Operations", "/aggregates.csv")).get_data(as_text=True)
    lines = text.lstrip("\ufeff").splitlines()
    assert lines[0] == ("team,capability,respondents,answers,mean,favourable_pct,neutral_pct,"
                        "unfavourable_pct,notice")
    rows = [line.split(",") for line in lines[1:]]
    assert len(rows) == 5 * 8  # Operations, Care, North, Depot, Field: 7 capabilities + index
    ops_index = next(r for r in rows if r[0] == "Operations" and r[1] == "index")
    # (6*4 + 5*5 + 3*1 + 2*2) / 16 = 56 / 16 = 3.50; favourable: 11 of 16 answer 4 or 5;
    # 16 responses of 28 answers each
    assert ops_index == ["Operations", "index", "16", "448", "3.50", "68.8", "0.0", "31.2", ""]
    field = [r for r in rows if r[0] == "Operations/Field Service"]
    assert all(r[2:] == ["", "", "", "", "", "", ""] for r in field)
    north = next(r for r in rows if r[0] == "Operations/Customer Care/North" and r[1] == "Bounce back")
    # five responses, four statements: twenty answers
    assert north == ["Operations/Customer Care/North", "Bounce back", "5", "20", "5.00", "100.0",
                     "0.0", "0.0", ""]


def test_aggregates_csv_makes_team_paths_that_start_a_formula_inert(client, hr, db, closed_round):
    import csv
    import io

    from sqlalchemy import update

    from surveyapp.models import RoundTeam

    db.session.execute(update(RoundTeam).where(RoundTeam.round_id == closed_round.round_id)
                       .values(path="=" + RoundTeam.path))
    db.session.commit()

    text = client.get(url(closed_round, "ORG", "/aggregates.csv")).get_data(as_text=True)

    teams = {row["team"] for row in csv.DictReader(io.StringIO(text.lstrip("\ufeff")))}
    below = teams - {client.application.config["ORGANISATION_NAME"]}  # the organisation's rows
    assert below and all(team.startswith("'=") for team in below), teams


def test_the_dashboard_and_the_pdf_colour_every_mean_alike(client, app):
    from surveyapp.reports.pdf import report_css

    rules = client.get("/reports/heat.css").get_data(as_text=True).strip().splitlines()
    with app.app_context():
        pdf_css = report_css()

    assert [rule.split()[0] for rule in rules] == [f".heat-{t}" for t in range(10, 51)]
    assert all(rule in pdf_css.splitlines() for rule in rules)
