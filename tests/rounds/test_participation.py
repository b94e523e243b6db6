"""Participation follows the minimum group, on every page and command that counts it.

A round of four people ("Four", minimum 5), all e-mailed, three of whom have submitted: no page
or command may say that three (or one) have or have not submitted, nor anything that gives it
away (a rate, "the other 1", "Send reminders to 1 person", "Sending 1 reminder", a reminder's
progress).
"""

from __future__ import annotations

import pytest
from sqlalchemy import update

from surveyapp.models import Invitation, Participation

pytestmark = pytest.mark.both_databases


def text(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def four(db, make_team, make_person, make_round):
    team = make_team("Four")
    people = [make_person(team=team) for _ in range(4)]
    round_ = make_round([team], launched=True, name="Small round")
    db.session.execute(update(Invitation).where(Invitation.round_id == round_.id)
                       .values(sent_at=round_.launched_at))
    for person in people[:3]:
        db.session.add(Participation(round_id=round_.id, person_id=person.id))
    db.session.commit()
    return round_


def say_nothing_of_three_of_four(page: str) -> None:
    for giveaway in ("<strong>3</strong> submitted", "75%", "3 of 4", "The other 1",
                     "to 1 person", "1 reminder", "<td class=\"num\">3</td>"):
        assert giveaway not in page, giveaway


def test_the_round_page_hides_how_many_have_submitted_in_a_small_round(client, hr, four):
    page = text(client.get(f"/rounds/{four.id}"))
    say_nothing_of_three_of_four(page)
    assert "<strong>4</strong> invited" in page
    assert "Fewer than 5 people were invited to this round" in page
    assert ">Send reminders</button>" in page


def test_the_round_list_hides_how_many_have_submitted_in_a_small_round(client, hr, four):
    page = text(client.get("/rounds"))
    say_nothing_of_three_of_four(page)
    row = page.split("Small round")[1].split("</tr>")[0]
    assert '<td class="num">4</td>' in row and "Hidden: fewer than 5 submitted" in row


def test_the_close_page_hides_how_many_have_submitted_in_a_small_round(client, hr, four):
    page = text(client.get(f"/rounds/{four.id}/close"))
    say_nothing_of_three_of_four(page)
    assert "How many have submitted is hidden while fewer than 5 have." in page


def test_a_reminder_does_not_say_how_many_it_reached_in_a_small_round(client, hr, four, smtp):
    url = f"/rounds/{four.id}"
    page = text(client.submit(f"{url}/remind", {"batch": "0"}, form_url=url,
                              follow_redirects=True))
    say_nothing_of_three_of_four(page)
    assert "Reminders are being sent to everyone whose invitation was e-mailed" in page
    assert "The last one has gone to everyone it was for who had not submitted." in page
    assert len(smtp.messages) == 1  # the reminder itself went out


def test_a_failed_reminder_names_neither_the_recipient_nor_a_count(client, hr, four, smtp, db):
    smtp.refuse_rcpt_number = 1
    smtp.refusal = "421 4.3.2 Service shutting down"  # the server fails midway
    url = f"/rounds/{four.id}"
    page = text(client.submit(f"{url}/remind", {"batch": "0"}, form_url=url,
                              follow_redirects=True))
    say_nothing_of_three_of_four(page)
    assert "The mail server failed before every reminder was sent" in page
    assert "421" in page and "@example.test" not in page
    assert "Reminder 1 is being sent" in page and "How far it has got is not shown" in page
    page = text(client.submit(f"{url}/remind", {"resume": "1"}, form_url=url,
                              follow_redirects=True))
    say_nothing_of_three_of_four(page)
    assert "The last reminder goes on to everyone it has not reached yet" in page
    assert "The last one has gone to everyone it was for who had not submitted." in page


def test_a_large_enough_round_still_counts_its_reminders(db, client, hr, org, make_round, smtp):
    round_ = make_round([org.sales], launched=True)
    db.session.execute(update(Invitation).where(Invitation.round_id == round_.id)
                       .values(sent_at=round_.launched_at))
    for person in org.people[7:12]:
        db.session.add(Participation(round_id=round_.id, person_id=person.id))
    db.session.commit()
    url = f"/rounds/{round_.id}"
    page = text(client.get(url))
    assert "<strong>5</strong> submitted" in page and "83%" in page
    assert "Send reminders to 1 person" in page
    page = text(client.submit(f"{url}/remind", {"batch": "0"}, form_url=url,
                              follow_redirects=True))
    assert "Sending 1 reminder: this page shows the progress." in page


def test_round_list_command_hides_how_many_have_submitted_in_a_small_round(runner, four):
    result = runner.invoke(args=["round", "list"])
    assert result.exit_code == 0, result.output
    assert "3/4" not in result.stdout and "75%" not in result.stdout
    assert "4 invited, submitted hidden (fewer than 5)" in result.stdout


def test_round_remind_command_does_not_say_how_many_it_reached_in_a_small_round(
        runner, four, smtp):
    result = runner.invoke(args=["round", "remind", str(four.id)])
    assert result.exit_code == 0, result.output
    assert "Sent 1" not in result.output and "1 reminder" not in result.output
    assert "Reminding everyone e-mailed who has not submitted yet" in result.output
    result = runner.invoke(args=["round", "remind", "--wait", str(four.id)])
    assert result.exit_code == 0, result.output
    assert "Sent 1" not in result.output and "1 reminder" not in result.output
    assert "Reminded everyone e-mailed who has not submitted yet" in result.output


# --- launching a round whose groups can never reach the minimum --------------------------------


def test_launching_warns_of_teams_below_the_minimum_and_what_it_means(client, hr, org,
                                                                      make_round):
    # Operations: Customer Care (3 of its own) with North (4) below it: North can never show.
    round_ = make_round([org.ops])
    page = text(client.get(f"/rounds/{round_.id}/launch"))
    assert "1 team has fewer than 5 people to invite" in page
    assert "<li>Operations / Customer Care / North</li>" in page
    assert "Customer Care</li>" not in page.replace("Customer Care / North</li>", "")
    assert "their answers count only in the groups above them" in page


def test_launching_a_round_below_the_minimum_warns_that_nothing_will_be_shown(
        client, hr, make_team, make_person, make_round):
    team = make_team("Four")
    for _ in range(4):
        make_person(team=team)
    round_ = make_round([team])
    page = text(client.get(f"/rounds/{round_.id}/launch"))
    assert "No results can ever be shown for this round" in page
    assert "Only 4 people would be invited, fewer than the minimum group of 5" in page


def test_launching_a_round_where_every_team_can_reach_the_minimum_warns_of_nothing(
        client, hr, org, make_round):
    page = text(client.get(f"/rounds/{make_round([org.sales]).id}/launch"))
    assert "fewer than 5 people to invite" not in page and "No results can ever" not in page


def test_round_launch_command_notes_teams_below_the_minimum(runner, org, make_round):
    round_ = make_round([org.ops])
    result = runner.invoke(args=["round", "launch", str(round_.id)])
    assert result.exit_code == 0, result.output
    assert "Operations/Customer Care/North" in result.stderr
    assert "count only in the groups above them" in result.stderr
