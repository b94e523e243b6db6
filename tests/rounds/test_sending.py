"""Invitations and reminders through a real SMTP server on loopback, and the outbox fallback."""

from collections import Counter
from email import message_from_bytes, policy
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from surveyapp.models import Invitation, Participation, Round
from surveyapp.rounds.invitations import send_invitations, send_reminders
from surveyapp.rounds.link_exports import recorded_exports
from surveyapp.rounds.tokens import hash_token

from .conftest import link_in

pytestmark = pytest.mark.both_databases


def invitations(db, round_id):
    return db.session.scalars(select(Invitation).where(Invitation.round_id == round_id)).all()


def test_each_invited_person_gets_one_message_with_their_own_link(db, client, org, make_round,
                                                                   smtp):
    round_ = make_round([org.ops], launched=True)
    report = send_invitations(round_)
    assert (report.sent, report.error) == (7, None)
    assert sorted(smtp.to()) == sorted(p.email for p in org.people[:7])
    by_email = {i.person.email: i for i in invitations(db, round_.id)}
    for message in smtp.messages:
        url = link_in(message)
        assert url.startswith("http://survey.example.test/s/")
        token = url.rsplit("/", 1)[1]
        assert hash_token(token) == by_email[str(message["To"])].token_hash
    assert client.get(urlsplit(link_in(smtp.messages[0])).path).status_code == 200


def test_sending_records_when_each_invitation_went_out(db, org, make_round, smtp):
    round_ = make_round([org.sales], launched=True)
    send_invitations(round_)
    assert all(i.sent_at is not None for i in invitations(db, round_.id))


def test_sending_again_sends_nothing_twice(db, org, make_round, smtp):
    round_ = make_round([org.sales], launched=True)
    send_invitations(round_)
    assert send_invitations(round_).sent == 0
    assert len(smtp.messages) == 6


def test_a_refused_recipient_stops_sending_and_sending_again_sends_only_the_rest(
        db, org, make_round, smtp):
    round_ = make_round([org.ops], launched=True)
    smtp.refuse_rcpt_number = 3
    first = send_invitations(round_)
    assert first.sent == 2
    assert "550 5.1.1 Mailbox unavailable" in first.error
    assert sum(i.sent_at is not None for i in invitations(db, round_.id)) == 2
    second = send_invitations(round_)
    assert (second.sent, second.error) == (5, None)
    assert Counter(smtp.to()) == Counter({p.email: 1 for p in org.people[:7]})


def test_a_mail_server_that_is_down_leaves_every_invitation_unsent(db, org, make_round, app):
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=1, MAIL_TIMEOUT=2)
    round_ = make_round([org.sales], launched=True)
    report = send_invitations(round_)
    assert report.sent == 0 and "Could not connect to the mail server" in report.error
    assert all(i.sent_at is None for i in invitations(db, round_.id))


def test_reminders_go_only_to_people_who_have_not_submitted(db, org, make_round, smtp):
    round_ = make_round([org.sales], launched=True)
    send_invitations(round_)
    done = org.people[7:9]
    for person in done:
        db.session.add(Participation(round_id=round_.id, person_id=person.id))
    db.session.commit()
    smtp.messages.clear()
    report = send_reminders(round_)
    assert report.sent == 4
    assert sorted(smtp.to()) == sorted(p.email for p in org.people[9:13])
    assert all(m["Subject"].startswith("Reminder:") for m in smtp.messages)


def test_reminders_skip_people_whose_invitation_was_not_emailed(db, org, make_round, smtp):
    round_ = make_round([org.sales], launched=True)
    assert send_reminders(round_).sent == 0
    assert smtp.messages == []


def test_a_failed_reminder_resumes_without_reminding_anyone_twice(db, org, make_round, smtp):
    round_ = make_round([org.sales], launched=True)
    send_invitations(round_)
    smtp.messages.clear()
    smtp.rcpt_count, smtp.refuse_rcpt_number = 0, 4
    assert send_reminders(round_).sent == 3
    assert send_reminders(round_, new_batch=False).sent == 3
    assert Counter(smtp.to()) == Counter({p.email: 1 for p in org.people[7:13]})


def test_pressing_send_reminders_twice_on_the_same_page_reminds_no_one_twice(
        db, org, make_round, smtp):
    round_ = make_round([org.sales], launched=True)
    send_invitations(round_)
    smtp.messages.clear()
    seen = round_.reminder_batches
    send_reminders(round_, expected_batch=seen)
    assert send_reminders(round_, expected_batch=seen).sent == 0
    assert len(smtp.messages) == 6
    assert db.session.get(Round, round_.id).reminder_batches == 1


def test_without_a_mail_server_messages_are_written_to_the_outbox(db, app, org, make_round):
    round_ = make_round([org.sales], launched=True)
    assert send_invitations(round_).sent == 6
    outbox = sorted((Path(app.instance_path) / "outbox").glob("*.eml"))
    assert len(outbox) == 6
    recipients = {str(message_from_bytes(f.read_bytes(), policy=policy.default)["To"])
                  for f in outbox}
    assert recipients == {p.email for p in org.people[7:13]}


# --- through HR's page -----------------------------------------------------------------------


def test_send_button_reports_how_many_were_sent(client, hr, org, make_round, smtp):
    round_ = make_round([org.sales], launched=True)
    page = client.submit(f"/rounds/{round_.id}/send", form_url=f"/rounds/{round_.id}",
                         follow_redirects=True).get_data(as_text=True)
    assert "Sent 6 invitations." in page
    assert "All 6 invitations have been e-mailed." in page


def test_send_button_explains_a_failure_midway_and_offers_to_resume(client, hr, org, make_round,
                                                                     smtp):
    round_ = make_round([org.sales], launched=True)
    smtp.refuse_rcpt_number = 3
    page = client.submit(f"/rounds/{round_.id}/send", form_url=f"/rounds/{round_.id}",
                         follow_redirects=True).get_data(as_text=True)
    assert "Sent 2 of 6 invitations, then the mail server failed:" in page
    assert "no one gets the same invitation twice" in page
    assert "Resume sending: 4 left" in page


def test_send_reminders_button_reminds_those_not_submitted(db, client, hr, org, make_round, smtp):
    round_ = make_round([org.sales], launched=True)
    send_invitations(round_)
    for person in org.people[7:12]:  # the minimum of 5 have submitted: the count is shown
        db.session.add(Participation(round_id=round_.id, person_id=person.id))
    db.session.commit()
    page = client.get(f"/rounds/{round_.id}").get_data(as_text=True)
    assert "Send reminders to 1 person" in page
    page = client.submit(f"/rounds/{round_.id}/remind", {"batch": "0"},
                         form_url=f"/rounds/{round_.id}", follow_redirects=True)
    assert "Sent 1 reminder." in page.get_data(as_text=True)
    assert smtp.to()[-1] == org.people[12].email


def test_a_failed_reminder_can_be_resumed_from_the_page(client, hr, org, make_round, smtp):
    round_ = make_round([org.sales], launched=True)
    send_invitations(round_)
    smtp.messages.clear()
    smtp.rcpt_count, smtp.refuse_rcpt_number = 0, 3
    url = f"/rounds/{round_.id}"
    page = client.submit(f"{url}/remind", {"batch": "0"}, form_url=url,
                         follow_redirects=True).get_data(as_text=True)
    # Reminders go only to those who have not submitted: no count, no address.
    assert "The mail server failed before every reminder was sent: The mail server refused " \
        "a message: 550" in page
    assert "Resume the last reminder" in page
    page = client.submit(f"{url}/remind", {"resume": "1"}, form_url=url,
                         follow_redirects=True).get_data(as_text=True)
    assert "The last reminder has now gone to everyone it had not reached yet" in page
    assert Counter(smtp.to()) == Counter({p.email: 1 for p in org.people[7:13]})


# --- links that leave the application another way are recorded as exports --------------------


def test_invitations_written_to_the_outbox_are_recorded_as_a_link_export(db, org, make_round):
    round_ = make_round([org.sales], launched=True)
    send_invitations(round_)
    db.session.commit()
    [export] = recorded_exports(round_.id)
    assert export.links == 6
    assert export.exported_by == ("the command line (e-mails written to the outbox folder, as no "
                                  "mail server is set)")


def test_a_link_mailed_to_an_address_changed_after_launch_is_recorded(db, org, make_round, smtp):
    round_ = make_round([org.sales], launched=True)
    send_invitations(round_)
    assert recorded_exports(round_.id) == ()  # every link went to its person's own address
    person = org.people[7]
    person.email = "someone.else@example.test"
    db.session.commit()
    report = send_reminders(round_)
    db.session.commit()
    assert report.sent == 6
    [export] = recorded_exports(round_.id)
    assert export.links == 1
    assert "e-mailed to an address changed after the round opened" in export.exported_by
