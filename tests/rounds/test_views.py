"""HR's round pages: access, the list, creating and editing a draft, launching, extending,
closing, and the links CSV."""

import csv
import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from surveyapp.clock import today
from surveyapp.instrument import load_default
from surveyapp.models import Invitation, Participation, Role, Round, RoundStatus


def text(response) -> str:
    return response.get_data(as_text=True)


def settings(org, **overrides) -> dict:
    now = today()
    data = {"name": "Spring 2027", "teams": [str(org.ops.id)], "opens_on": now.isoformat(),
            "closes_on": (now + timedelta(days=10)).isoformat(), "min_group_size": "5",
            "min_comment_group_size": "6"}
    data.update(overrides)
    return data


# --- access ----------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/rounds", "/rounds/new", "/rounds/1", "/rounds/1/links"])
def test_anonymous_visitors_are_sent_to_sign_in(client, url):
    response = client.get(url)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize("url", ["/rounds", "/rounds/new", "/rounds/1", "/rounds/1/links"])
def test_leaders_may_not_use_round_pages(client, auth, make_user, org, make_round, url):
    make_round([org.sales], launched=True)
    auth.login_as(make_user(Role.LEADER, teams=[org.sales]))
    assert client.get(url).status_code == 403


def test_leaders_may_not_send_invitations(client, auth, make_user, org, make_round, smtp):
    round_ = make_round([org.sales], launched=True)
    auth.login_as(make_user(Role.LEADER, teams=[org.sales]))
    response = client.submit(f"/rounds/{round_.id}/send", form_url="/account/password")
    assert response.status_code == 403 and smtp.messages == []


def test_hr_navigation_leads_to_rounds(client, hr):
    assert 'href="/rounds"' in text(client.get("/rounds"))


# --- the list --------------------------------------------------------------------------------


def test_empty_list_says_how_to_start(client, hr):
    page = text(client.get("/rounds"))
    assert "No rounds yet." in page and "Create the first round." in page


def test_list_shows_rounds_newest_first_with_response_rates(db, client, hr, org, make_round):
    older = make_round([org.sales], launched=True, name="Older round")
    make_round([org.ops], name="Newer draft")
    for person in org.people[7:12]:
        db.session.add(Participation(round_id=older.id, person_id=person.id))
    db.session.commit()
    page = text(client.get("/rounds"))
    assert page.index("Newer draft") < page.index("Older round")
    assert "83%" in page  # 5 of 6
    assert "Not launched yet" in page


def test_a_round_past_its_date_shows_as_closing_until_the_clock_job_closes_it(
        db, client, hr, org, make_round):
    from surveyapp.rounds.jobs import close_due

    round_ = make_round([org.sales], launched=True)
    round_.closes_on = today() - timedelta(days=1)
    round_.opens_on = today() - timedelta(days=5)
    db.session.commit()
    assert '<span class="tag tag--closing">Closing</span>' in text(client.get("/rounds"))
    page = text(client.get(f"/rounds/{round_.id}"))
    assert "no one can answer any more" in page and "See the results" not in page
    assert "Send reminders" not in page and "Close round now" not in page
    db.session.expire_all()
    assert db.session.get(Round, round_.id).status == RoundStatus.OPEN  # no page view closed it
    db.session.rollback()
    close_due()
    db.session.expire_all()
    assert db.session.get(Round, round_.id).status == RoundStatus.CLOSED
    page = text(client.get(f"/rounds/{round_.id}"))
    assert "See the results" in page and "reports of this round" in page


# --- creating and editing --------------------------------------------------------------------


def test_the_form_lists_teams_with_their_paths_and_leaves_out_archived_ones(
        client, hr, org, make_team):
    from surveyapp.models import utcnow

    make_team("Old team", archived_at=utcnow())
    page = text(client.get("/rounds/new"))
    assert "Teams taking part" in page and "A team includes every team below it" in page
    assert "Operations / Customer Care / </span><strong>North" in page
    assert "Old team" not in page


def test_creating_a_round_saves_a_draft_and_shows_it(db, client, hr, org):
    response = client.submit("/rounds/new", settings(org))
    round_ = db.session.scalar(select(Round))
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/rounds/{round_.id}")
    assert (round_.name, round_.status, round_.min_comment_group_size) == (
        "Spring 2027", RoundStatus.DRAFT, 6)
    assert [t.name for t in round_.teams] == ["Operations"]


def test_the_new_round_form_suggests_two_weeks_from_today(client, hr):
    page = text(client.get("/rounds/new"))
    assert f'value="{today().isoformat()}"' in page
    assert f'value="{(today() + timedelta(days=14)).isoformat()}"' in page


@pytest.mark.parametrize("field, value, message", [
    ("opens_on", "2026-02-31", "Enter the opening date as a real date"),
    ("closes_on", "next week", "Enter the closing date as a real date"),
    ("closes_on", "", "Enter the closing date."),
    ("min_group_size", "five", "as a whole number"),
    ("name", "", "Enter a name for the round."),
])
def test_malformed_input_is_explained_beside_its_field(client, hr, org, field, value, message):
    response = client.submit("/rounds/new", settings(org, **{field: value}))
    page = text(response)
    assert response.status_code == 200
    assert "There is a problem" in page and f'href="#{field}"' in page
    assert page.count(message) == 2  # in the summary and beside the field
    assert "<title>Error:" in page


@pytest.mark.parametrize("overrides, field, message", [
    ({"min_group_size": "2", "min_comment_group_size": "2"}, "min_group_size", "cannot be below 3"),
    ({"min_comment_group_size": "4"}, "min_comment_group_size", "comments cannot be below"),
    ({"teams": []}, "teams", "Choose at least one team."),
    ({"closes_on": -1, "opens_on": -3}, "closes_on", "already passed"),
])
def test_rule_breaking_settings_are_refused_with_the_reason(db, client, hr, org, overrides, field,
                                                            message):
    overrides = {k: (today() + timedelta(days=v)).isoformat() if isinstance(v, int) else v
                 for k, v in overrides.items()}
    page = text(client.submit("/rounds/new", settings(org, **overrides)))
    assert "There is a problem" in page and f'href="#{field}"' in page and message in page
    assert db.session.scalar(select(func.count(Round.id))) == 0


def test_nothing_typed_is_lost_when_the_form_is_refused(client, hr, org):
    page = text(client.submit("/rounds/new", settings(org, name="Keep this name",
                                                      teams=[str(org.sales.id)],
                                                      min_group_size="2")))
    assert 'value="Keep this name"' in page
    assert f'value="{org.sales.id}" id="teams-{org.sales.id}" checked' in page
    assert re.search(r'<input[^>]*id="min_group_size"[^>]*value="2"', page)


def test_editing_a_draft_changes_its_settings(db, client, hr, org, make_round):
    round_ = make_round([org.ops])
    form = text(client.get(f"/rounds/{round_.id}/edit"))
    assert 'value="Autumn 2026"' in form
    client.submit(f"/rounds/{round_.id}/edit", settings(org, name="Renamed",
                                                         teams=[str(org.sales.id)]))
    db.session.expire_all()
    round_ = db.session.get(Round, round_.id)
    assert round_.name == "Renamed" and [t.name for t in round_.teams] == ["Sales"]


def test_an_open_round_cannot_be_edited(client, hr, org, make_round):
    round_ = make_round([org.sales], launched=True)
    response = client.get(f"/rounds/{round_.id}/edit", follow_redirects=True)
    assert "Only a draft round can be edited" in text(response)


# --- the draft's page, statements, launching -------------------------------------------------


def statements_form(**changes) -> dict:
    """Every statement field as the page sends it, with ``changes`` on top."""
    data = {"statement_" + s.key.replace(".", "__"): s.text for s in load_default().statements}
    return data | changes


def test_draft_page_summarises_settings_and_offers_preview_statements_and_launch(
        client, hr, org, make_round):
    round_ = make_round([org.ops])
    page = text(client.get(f"/rounds/{round_.id}"))
    assert "Operations" in page and "7 people" in page
    assert f'href="/rounds/{round_.id}/preview"' in page
    assert f'href="/rounds/{round_.id}/statements"' in page
    assert f'href="/rounds/{round_.id}/launch"' in page and "Delete draft" in page


def test_statements_can_be_reworded_and_added(db, client, hr, org, make_round):
    round_ = make_round([org.ops])
    url = f"/rounds/{round_.id}/statements"
    page = text(client.get(url))
    assert "Broaden awareness" in page and "Add a statement" in page
    client.submit(url, statements_form(
        statement_empathy__listen="I let upset customers finish speaking.",
        add_empathy="I thank customers for their patience."))
    db.session.expire_all()
    statements = {s["key"]: s["text"] for c in db.session.get(Round, round_.id)
                  .instrument["capabilities"] for s in c["statements"]}
    assert statements["empathy.listen"] == "I let upset customers finish speaking."
    assert statements["empathy.added1"] == "I thank customers for their patience."


def test_a_too_short_statement_is_refused_beside_it_and_nothing_is_saved(db, client, hr, org,
                                                                        make_round):
    round_ = make_round([org.ops])
    url = f"/rounds/{round_.id}/statements"
    page = text(client.submit(url, statements_form(
        statement_empathy__listen="Short",
        add_curiosity="I ask colleagues what they are working on.")))
    assert "There is a problem" in page and 'href="#statement_empathy__listen"' in page
    assert "at least 10 characters" in page
    assert "I ask colleagues what they are working on." in page  # kept
    db.session.expire_all()
    assert not any(s.get("added") for c in db.session.get(Round, round_.id)
                   .instrument["capabilities"] for s in c["statements"])


def test_an_added_statement_can_be_removed(db, client, hr, org, make_round):
    round_ = make_round([org.ops])
    url = f"/rounds/{round_.id}/statements"
    client.submit(url, statements_form(add_empathy="I thank customers for their patience."))
    page = text(client.get(url))
    assert 'name="remove" value="empathy.added1"' in page
    client.submit(url, statements_form(remove="empathy.added1",
                                       statement_empathy__added1=""))
    db.session.expire_all()
    keys = [s["key"] for c in db.session.get(Round, round_.id).instrument["capabilities"]
            for s in c["statements"]]
    assert "empathy.added1" not in keys


def test_a_capability_takes_at_most_three_added_statements(client, hr, org, make_round):
    round_ = make_round([org.ops])
    url = f"/rounds/{round_.id}/statements"
    for n in range(3):
        added = {f"statement_empathy__added{i}": f"I do kind thing number {i - 1} for customers."
                 for i in range(1, n + 1)}
        client.submit(url, statements_form(
            add_empathy=f"I do kind thing number {n} for customers.", **added))
    page = text(client.get(url))
    assert 'name="add_empathy"' not in page
    assert "already has the 3 added statements" in page


def test_launch_confirmation_says_how_many_will_be_invited_and_that_the_survey_freezes(
        client, hr, org, make_round):
    round_ = make_round([org.ops])
    page = text(client.get(f"/rounds/{round_.id}/launch"))
    assert "7 people in 3 teams will be invited" in page
    assert "The survey then freezes" in page


def test_launching_invites_everyone_and_opens_the_round(db, client, hr, org, make_round):
    round_ = make_round([org.ops])
    response = client.submit(f"/rounds/{round_.id}/launch", follow_redirects=True)
    assert "is open and 7 people are invited" in text(response)
    assert db.session.scalar(select(func.count(Invitation.id))) == 7
    db.session.expire_all()
    assert db.session.get(Round, round_.id).status == RoundStatus.OPEN


def test_launching_a_round_with_no_one_to_invite_explains_why(db, client, hr, org, make_round):
    round_ = make_round([org.depot])
    assert "There is no one to invite" in text(client.get(f"/rounds/{round_.id}/launch"))
    page = text(client.submit(f"/rounds/{round_.id}/launch", form_url=f"/rounds/{round_.id}"))
    assert "There is a problem" in page and "no one to invite" in page


def test_deleting_a_draft_removes_it(db, client, hr, org, make_round):
    round_ = make_round([org.ops])
    response = client.submit(f"/rounds/{round_.id}/delete", follow_redirects=True)
    assert "is deleted" in text(response)
    assert db.session.scalar(select(func.count(Round.id))) == 0


# --- an open round ---------------------------------------------------------------------------


def test_open_round_page_shows_figures_and_actions(client, hr, org, make_round):
    round_ = make_round([org.sales], launched=True)
    page = text(client.get(f"/rounds/{round_.id}"))
    assert "14 days left" in page
    assert "Send 6 invitations" in page
    assert "Download the links…" in page and "Close round now" in page
    assert "e-mailed from here" in page


def test_days_left_says_closes_today_on_the_last_day(db, client, hr, org, make_round):
    round_ = make_round([org.sales], launched=True)
    round_.closes_on = today()
    db.session.commit()
    assert "Closes today" in text(client.get(f"/rounds/{round_.id}"))


def test_team_rates_show_large_enough_teams_and_hide_small_ones(db, client, hr, org,
                                                               make_round):
    # Operations 7 = Customer Care's own 3 + North's 4; North is below the minimum of 5.
    round_ = make_round([org.ops], launched=True)
    for person in org.people[:2] + org.people[3:6]:
        db.session.add(Participation(round_id=round_.id, person_id=person.id))
    db.session.commit()
    page = text(client.get(f"/rounds/{round_.id}"))
    operations, care, north = page.split("<tbody>")[1].split("</tr>")[:3]
    assert "Operations" in operations and ">5<" in operations and "71%" in operations
    assert "Customer Care" in care and ">5<" in care and "71%" in care
    assert "North" in north and "Fewer than 5 invited: never shown" in north
    assert ">3<" not in north


def test_team_rates_are_hidden_while_fewer_than_the_minimum_have_submitted(db, client, hr, org,
                                                                          make_round):
    round_ = make_round([org.ops], launched=True)
    for person in org.people[:2] + org.people[3:5]:
        db.session.add(Participation(round_id=round_.id, person_id=person.id))
    db.session.commit()
    page = text(client.get(f"/rounds/{round_.id}"))
    operations, care, _north = page.split("<tbody>")[1].split("</tr>")[:3]
    for row in (operations, care):
        assert ">4<" not in row and "57%" not in row
        assert "Hidden while fewer than 5 have submitted" in row


def test_extending_moves_the_closing_date(db, client, hr, org, make_round):
    round_ = make_round([org.sales], launched=True)
    later = round_.closes_on + timedelta(days=5)
    response = client.submit(f"/rounds/{round_.id}/extend", {"closes_on": later.isoformat()},
                             follow_redirects=True)
    assert "now closes on" in text(response)
    db.session.expire_all()
    assert db.session.get(Round, round_.id).closes_on == later


def test_extending_to_an_earlier_date_is_refused_beside_the_field(client, hr, org, make_round):
    round_ = make_round([org.sales], launched=True)
    page = text(client.submit(f"/rounds/{round_.id}/extend",
                              {"closes_on": round_.closes_on.isoformat()}))
    assert "There is a problem" in page and "after the current one" in page


def test_closing_asks_first_then_closes(db, client, hr, org, make_round):
    round_ = make_round([org.sales], launched=True)
    assert "Close “Autumn 2026” now?" in text(client.get(f"/rounds/{round_.id}/close"))
    response = client.submit(f"/rounds/{round_.id}/close", follow_redirects=True)
    page = text(response)
    assert "is closed" in page and "See the results" in page
    db.session.expire_all()
    closed = db.session.get(Round, round_.id)
    assert closed.status == RoundStatus.CLOSED and closed.close_requested_at is not None
    assert closed.reports_queued_at is not None  # and the reports were prepared, by a job
    assert "All 2 reports of this round" in page or "reports of this round" in text(
        client.get(f"/rounds/{round_.id}"))


# --- links CSV -------------------------------------------------------------------------------


def test_links_csv_downloads_with_a_bom_and_every_pending_link(db, client, hr, org, make_round):
    round_ = make_round([org.sales], launched=True)
    db.session.add(Participation(round_id=round_.id, person_id=org.people[7].id))
    db.session.commit()
    response = client.submit(f"/rounds/{round_.id}/links")
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_data().decode("utf-8")
    assert body.startswith("\ufeffemail,name,team,url\r\n")
    rows = list(csv.DictReader(io.StringIO(body.lstrip("\ufeff"))))
    assert sorted(r["email"] for r in rows) == sorted(p.email for p in org.people[8:13])
    assert all(r["url"].startswith("http://survey.example.test/s/") and r["team"] == "Sales"
               for r in rows)



def test_links_csv_is_named_after_the_round_in_any_script(client, hr, org, make_round):
    round_ = make_round([org.sales], launched=True, name="Łódź: spring")
    disposition = client.submit(f"/rounds/{round_.id}/links").headers["Content-Disposition"]
    assert disposition.endswith("filename*=UTF-8''links-%C5%81%C3%B3d%C5%BA-spring.csv")

def test_unknown_round_is_not_found(client, hr):
    assert client.get("/rounds/999").status_code == 404
