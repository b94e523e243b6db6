"""Invitations and reminders through a real SMTP server on loopback, and the outbox fallback.

The tests' queue is "immediate": a batch runs on a thread of its own as soon as it is queued
(after the request, for a page), so each sending here has finished when the call returns.
tests/jobs/test_mail.py sends through a real queue and worker processes.
"""

import re
from collections import Counter
from email import message_from_bytes, policy
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select, update

from surveyapp.mail import Letterhead
from surveyapp.models import Invitation, MailKind, Participation, Round, utcnow
from surveyapp.rounds import invitations as invitations_module
from surveyapp.rounds.invitations import (
    MailRequest,
    SendingStatus,
    batches_of,
    enqueue_batches,
    queue_invitations,
    queue_reminders,
    refused_invitations,
    sending_status,
)
from surveyapp.rounds.link_exports import recorded_exports
from surveyapp.rounds.tokens import hash_token
from surveyapp.rounds.views import clock_time

from .conftest import Collector, free_port, link_in

pytestmark = pytest.mark.both_databases


def send_invitations(db, round_) -> MailRequest:
    """What "Send invitations" does: record the batches, commit, queue them (sent at once)."""
    request = queue_invitations(round_, None)
    db.session.commit()
    enqueue_batches(request.batch_ids)
    return request


def send_reminders(db, round_, **options) -> MailRequest:
    request = queue_reminders(round_, None, **options)
    db.session.commit()
    enqueue_batches(request.batch_ids)
    return request


def sent(db, round_id: int, kind: str = MailKind.INVITATION, reminder: int = 0) -> int:
    """Messages the round's batches of one sending have recorded as sent."""
    db.session.rollback()
    return sum(b.sent for b in batches_of(round_id, kind, reminder))


def invitations(db, round_id):
    return db.session.scalars(select(Invitation).where(Invitation.round_id == round_id)).all()


def test_each_invited_person_gets_one_message_with_their_own_link(db, client, org, make_round,
                                                                   smtp):
    round_ = make_round([org.ops], launched=True)
    assert send_invitations(db, round_).queued == 7
    assert sent(db, round_.id) == 7
    assert sending_status(round_, MailKind.INVITATION).error is None
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
    send_invitations(db, round_)
    assert all(i.sent_at is not None for i in invitations(db, round_.id))
    assert all(b.finished_at is not None and b.lease_owner is None
               for b in batches_of(round_.id, MailKind.INVITATION))


def test_sending_again_sends_nothing_twice(db, org, make_round, smtp):
    round_ = make_round([org.sales], launched=True)
    send_invitations(db, round_)
    again = send_invitations(db, round_)
    assert (again.queued, again.batch_ids) == (0, ())
    assert len(smtp.messages) == 6


def test_a_server_failure_stops_sending_and_sending_again_sends_only_the_rest(
        db, org, make_round, smtp):
    round_ = make_round([org.ops], launched=True)
    smtp.refuse_rcpt_number = 3
    smtp.refusal = "421 4.3.2 Service shutting down"
    send_invitations(db, round_)
    assert sent(db, round_.id) == 2
    failed = sending_status(round_, MailKind.INVITATION)
    assert failed.under_way and "421 4.3.2 Service shutting down" in failed.error
    assert failed.next_try_at > failed.failed_at
    assert sum(i.sent_at is not None for i in invitations(db, round_.id)) == 2
    second = send_invitations(db, round_)  # pressed again: the waiting batch is tried now
    assert (second.queued, second.new_batches, len(second.batch_ids)) == (0, 0, 1)
    assert sent(db, round_.id) == 7
    assert sending_status(round_, MailKind.INVITATION) == SendingStatus(0, 7, 7)
    assert Counter(smtp.to()) == Counter({p.email: 1 for p in org.people[:7]})


def test_a_refused_address_is_recorded_and_the_others_still_go(db, org, make_round, smtp):
    round_ = make_round([org.ops], launched=True)
    wrong = org.people[2]
    smtp.refused = {wrong.email}
    send_invitations(db, round_)
    # The batch went on past the refused address and finished: nothing waits on it.
    status = sending_status(round_, MailKind.INVITATION)
    assert not status.under_way and status.error is None
    assert sorted(smtp.to()) == sorted(p.email for p in org.people[:7] if p is not wrong)
    count, [refused] = refused_invitations(round_)
    assert count == 1 and (refused.person_id, refused.email) == (wrong.id, wrong.email)
    assert refused.refusal.startswith("550 5.1.1") and "User unknown" in refused.refusal
    # HR corrects the address and sends again: only that invitation goes, and the refusal
    # is forgotten.
    smtp.messages.clear()
    db.session.get(type(wrong), wrong.id).email = "corrected@example.test"
    db.session.commit()
    again = send_invitations(db, round_)
    assert again.queued == 1
    assert smtp.to() == ["corrected@example.test"]
    assert refused_invitations(round_) == (0, [])
    assert all(i.sent_at is not None and i.refusal is None for i in invitations(db, round_.id))


def test_a_message_in_doubt_goes_again_under_the_same_message_id(db, org, make_round, smtp):
    """A worker killed after the server took a message, before its commit, leaves it
    unrecorded: the batch's next run sends it again, and it must be known as the same one."""
    round_ = make_round([org.sales], launched=True)
    send_invitations(db, round_)
    first = {str(m["To"]): str(m["Message-ID"]) for m in smtp.messages}
    assert len(set(first.values())) == 6
    in_doubt = invitations(db, round_.id)[2]
    in_doubt.sent_at = None  # the commit after the message never happened
    for batch in batches_of(round_.id, MailKind.INVITATION):
        batch.finished_at = None  # nor the batch's end
    db.session.commit()
    assert send_invitations(db, round_).batch_ids  # the unfinished batch is queued again
    [again] = smtp.messages[6:]
    assert str(again["To"]) == in_doubt.person.email
    assert str(again["Message-ID"]) == first[in_doubt.person.email]
    # The Message-ID says nothing of the invitation, the person or the round: a keyed hash.
    assert all(re.fullmatch(r"<[0-9a-f]{40}@example\.org>", mid) for mid in first.values())


def test_a_round_closed_midway_sends_nothing_more(db, org, make_round, smtp, monkeypatch):
    round_ = make_round([org.sales], launched=True)
    round_id, built = round_.id, []
    make = Letterhead.message

    def close_after_the_first(letterhead, to, message_id, body):
        built.append(to)
        if len(built) == 2:  # HR presses "Close round now" while the batch is under way
            with db.engine.begin() as connection:
                connection.execute(update(Round).where(Round.id == round_id)
                                   .values(close_requested_at=utcnow()))
        return make(letterhead, to, message_id, body)

    monkeypatch.setattr(Letterhead, "message", close_after_the_first)
    send_invitations(db, round_)
    assert len(built) == 2 and smtp.to() == built  # the second was on its way already
    assert sum(i.sent_at is not None for i in invitations(db, round_id)) == 2
    assert all(b.finished_at is not None for b in batches_of(round_id, MailKind.INVITATION))


def test_a_mail_server_that_is_down_leaves_every_invitation_unsent(db, org, make_round, app):
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=1, MAIL_TIMEOUT=2)
    round_ = make_round([org.sales], launched=True)
    send_invitations(db, round_)
    assert sent(db, round_.id) == 0
    assert "Could not connect to the mail server" in sending_status(
        round_, MailKind.INVITATION).error
    assert all(i.sent_at is None for i in invitations(db, round_.id))


def test_reminders_go_only_to_people_who_have_not_submitted(db, org, make_round, smtp):
    round_ = make_round([org.sales], launched=True)
    send_invitations(db, round_)
    done = org.people[7:9]
    for person in done:
        db.session.add(Participation(round_id=round_.id, person_id=person.id))
    db.session.commit()
    smtp.messages.clear()
    assert send_reminders(db, round_).queued == 4
    assert sent(db, round_.id, MailKind.REMINDER, 1) == 4
    assert sorted(smtp.to()) == sorted(p.email for p in org.people[9:13])
    assert all(m["Subject"].startswith("Reminder:") for m in smtp.messages)


def test_reminders_skip_people_whose_invitation_was_not_emailed(db, org, make_round, smtp):
    round_ = make_round([org.sales], launched=True)
    assert send_reminders(db, round_).queued == 0
    assert smtp.messages == []


def test_a_failed_reminder_resumes_without_reminding_anyone_twice(db, org, make_round, smtp):
    round_ = make_round([org.sales], launched=True)
    send_invitations(db, round_)
    smtp.messages.clear()
    smtp.rcpt_count, smtp.refuse_rcpt_number = 0, 4
    smtp.refusal = "421 4.3.2 Service shutting down"  # the server fails, not an address
    send_reminders(db, round_)
    assert sent(db, round_.id, MailKind.REMINDER, 1) == 3
    assert send_reminders(db, round_, new_batch=False).resumed
    assert sent(db, round_.id, MailKind.REMINDER, 1) == 6
    assert Counter(smtp.to()) == Counter({p.email: 1 for p in org.people[7:13]})


def test_a_refused_reminder_counts_as_sent_and_leaves_no_trace_of_whom_it_was_for(
        db, app, org, make_round, smtp, caplog):
    """Only people who have not submitted are reminded, and HR can change anyone's address:
    a reminder to an address the server refuses must look as if it had gone, or HR could
    learn whether that one person has submitted."""
    round_ = make_round([org.sales], launched=True)
    send_invitations(db, round_)
    smtp.messages.clear()
    quiet = org.people[9]
    smtp.refused = {quiet.email}
    request = send_reminders(db, round_)
    assert request.queued == 6
    status = sending_status(round_, MailKind.REMINDER)
    assert not status.under_way and status.error is None
    assert sent(db, round_.id, MailKind.REMINDER, 1) == 6
    assert sorted(smtp.to()) == sorted(p.email for p in org.people[7:13] if p is not quiet)
    # Nothing is left to send again, and the log does not name the address.
    assert send_reminders(db, round_, new_batch=False).batch_ids == ()
    assert quiet.email not in caplog.text and "refused" not in caplog.text.lower()


def test_a_reminder_to_an_address_the_server_cannot_take_leaves_no_trace_either(
        db, app, org, make_round, caplog):
    """An address beyond ASCII, to a server without SMTPUTF8: refused before anything is
    sent, for that message alone, so it too counts as sent rather than failing the batch."""
    smtp = Collector()
    controller = Controller(smtp, hostname="127.0.0.1", port=free_port(), enable_SMTPUTF8=False)
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port, MAIL_TIMEOUT=5)
    try:
        round_ = make_round([org.sales], launched=True)
        send_invitations(db, round_)
        smtp.messages.clear()
        db.session.get(type(org.people[9]), org.people[9].id).email = "zoë@example.test"
        db.session.commit()
        send_reminders(db, round_)
    finally:
        controller.stop()
    status = sending_status(round_, MailKind.REMINDER)
    assert not status.under_way and status.error is None
    assert sent(db, round_.id, MailKind.REMINDER, 1) == 6 and len(smtp.messages) == 5
    assert "SMTPUTF8" not in caplog.text


def test_pressing_send_reminders_twice_on_the_same_page_reminds_no_one_twice(
        db, org, make_round, smtp):
    round_ = make_round([org.sales], launched=True)
    send_invitations(db, round_)
    smtp.messages.clear()
    seen = round_.reminder_batches
    send_reminders(db, round_, expected_batch=seen)
    second = send_reminders(db, round_, expected_batch=seen)
    assert second.resumed and (second.queued, second.batch_ids) == (0, ())
    assert len(smtp.messages) == 6
    assert db.session.get(Round, round_.id).reminder_batches == 1


def test_without_a_mail_server_messages_are_written_to_the_outbox(db, app, org, make_round):
    round_ = make_round([org.sales], launched=True)
    send_invitations(db, round_)
    assert sent(db, round_.id) == 6
    outbox = sorted((Path(app.instance_path) / "outbox").glob("*.eml"))
    assert len(outbox) == 6
    recipients = {str(message_from_bytes(f.read_bytes(), policy=policy.default)["To"])
                  for f in outbox}
    assert recipients == {p.email for p in org.people[7:13]}


# --- through HR's page -----------------------------------------------------------------------


def test_send_button_says_what_it_queued_and_the_page_shows_the_outcome(db, client, hr, org,
                                                                         make_round, smtp):
    round_id, hr_id = make_round([org.sales], launched=True).id, hr.id
    page = client.submit(f"/rounds/{round_id}/send", form_url=f"/rounds/{round_id}",
                         follow_redirects=True).get_data(as_text=True)
    assert "Sending 6 invitations: this page shows the progress." in page
    assert "All 6 invitations have been e-mailed." in page
    [batch] = batches_of(round_id, MailKind.INVITATION)
    assert (batch.requested_by_id, batch.requested_by) == (hr_id, "Hana Reyes")


def test_the_page_shows_the_progress_and_a_failure_midway_and_offers_to_try_again(
        db, client, hr, org, make_round, smtp):
    url = f"/rounds/{make_round([org.sales], launched=True).id}"
    round_id = int(url.rsplit("/", 1)[1])
    emails = [p.email for p in org.people[7:13]]
    smtp.refuse_rcpt_number = 3
    smtp.refusal = "421 4.3.2 Service shutting down"
    page = client.submit(f"{url}/send", form_url=url, follow_redirects=True).get_data(as_text=True)
    status = page.split('sending" role="status"', 1)[1].split("</div>", 1)[0]
    assert "2 of 6 e-mailed so far" in status and 'value="2"' in status
    assert "The mail server failed at " in status and "421 4.3.2 Service shutting down" in status
    [batch] = batches_of(round_id, MailKind.INVITATION)
    assert f"Trying again at {clock_time(batch.next_try_at)}." in status
    assert "no one gets the same invitation twice" in status
    assert ">Try again now</button>" in page
    assert "Resume sending" not in page and "Send 4 invitations" not in page
    page = client.submit(f"{url}/send", form_url=url, follow_redirects=True).get_data(as_text=True)
    assert "Trying again now to send the invitations left" in page
    assert "All 6 invitations have been e-mailed." in page and "failed" not in page
    assert Counter(smtp.to()) == Counter({email: 1 for email in emails})


def test_the_page_lists_the_refused_addresses_to_correct_and_sends_them_again(
        db, client, hr, org, make_round, smtp):
    round_ = make_round([org.sales], launched=True)
    url, emails = f"/rounds/{round_.id}", [p.email for p in org.people[7:13]]
    wrong_id, wrong_email = org.people[8].id, org.people[8].email
    smtp.refused = {wrong_email}
    page = client.submit(f"{url}/send", form_url=url, follow_redirects=True).get_data(as_text=True)
    notice = page.split("The mail server refused 1 address:", 1)[1].split("</div>", 1)[0]
    assert f'href="/people/{wrong_id}"' in notice and f"&lt;{wrong_email}&gt;" in notice
    assert "User unknown" in notice
    assert "1 of 6 invitations have not been e-mailed yet" in page
    assert "Resume sending: 1 left" in page
    smtp.refused = set()
    page = client.submit(f"{url}/send", form_url=url, follow_redirects=True).get_data(as_text=True)
    assert "All 6 invitations have been e-mailed." in page and "refused" not in page
    assert Counter(smtp.to()) == Counter({email: 1 for email in emails})


def test_send_reminders_button_reminds_those_not_submitted(db, client, hr, org, make_round, smtp):
    round_ = make_round([org.sales], launched=True)
    send_invitations(db, round_)
    for person in org.people[7:12]:  # the minimum of 5 have submitted: the count is shown
        db.session.add(Participation(round_id=round_.id, person_id=person.id))
    db.session.commit()
    url, last = f"/rounds/{round_.id}", org.people[12].email
    page = client.get(url).get_data(as_text=True)
    assert "Send reminders to 1 person" in page
    page = client.submit(f"{url}/remind", {"batch": "0"}, form_url=url,
                         follow_redirects=True).get_data(as_text=True)
    assert "Sending 1 reminder: this page shows the progress." in page
    assert "Reminders started so far: 1. The last one has gone to everyone it was for" in page
    assert smtp.to()[-1] == last


def test_a_failed_reminder_can_be_resumed_from_the_page(db, client, hr, org, make_round, smtp):
    round_ = make_round([org.sales], launched=True)
    send_invitations(db, round_)
    smtp.messages.clear()
    smtp.rcpt_count, smtp.refuse_rcpt_number = 0, 3
    smtp.refusal = "421 4.3.2 Service shutting down"
    url, emails = f"/rounds/{round_.id}", [p.email for p in org.people[7:13]]
    page = client.submit(f"{url}/remind", {"batch": "0"}, form_url=url,
                         follow_redirects=True).get_data(as_text=True)
    # Reminders go only to those who have not submitted: no address; and here, with the
    # count hidden (fewer than 5 submitted), no figure of the reminder's progress.
    status = page.split('sending" role="status"', 1)[1].split("</div>", 1)[0]
    assert "The mail server failed before every reminder was sent, at " in status
    assert "The mail server refused a message: 421 4.3.2 Service shutting down" in status
    assert "@example.test" not in status and " of " not in status
    assert ">Try the last reminder again now</button>" in page
    page = client.submit(f"{url}/remind", {"resume": "1"}, form_url=url,
                         follow_redirects=True).get_data(as_text=True)
    assert "The last reminder goes on to everyone it has not reached yet" in page
    assert "The last one has gone to everyone it was for who had not submitted." in page
    assert Counter(smtp.to()) == Counter({email: 1 for email in emails})


# --- links that leave the application another way are recorded as exports --------------------


def test_invitations_written_to_the_outbox_are_recorded_as_a_link_export(db, org, make_round):
    round_ = make_round([org.sales], launched=True)
    send_invitations(db, round_)
    db.session.commit()
    [export] = recorded_exports(round_.id)
    assert export.links == 6
    assert export.exported_by == ("the command line (e-mails written to the outbox folder, as no "
                                  "mail server is set)")


def test_a_link_mailed_to_an_address_changed_after_launch_is_recorded(db, org, make_round, smtp):
    round_ = make_round([org.sales], launched=True)
    send_invitations(db, round_)
    assert recorded_exports(round_.id) == ()  # every link went to its person's own address
    person = org.people[7]
    person.email = "someone.else@example.test"
    db.session.commit()
    send_reminders(db, round_)
    db.session.commit()
    assert sent(db, round_.id, MailKind.REMINDER, 1) == 6
    [export] = recorded_exports(round_.id)
    assert export.links == 1
    assert "e-mailed to an address changed after the round opened" in export.exported_by


def test_a_message_s_record_commits_without_waiting_for_the_disk(db, org, make_round, smtp,
                                                                  monkeypatch):
    """Each message's commit skips the wait for the disk (a database crash may lose the last
    records: those messages go again under their Message-ID), and only that commit."""
    before, during = [], []
    begin, record = invitations_module._Batch.begin, invitations_module._Batch.record
    postgresql = db.engine.dialect.name == "postgresql"
    ask = "SHOW synchronous_commit" if postgresql else "PRAGMA synchronous"

    def durable_then_begin(self):
        connection = db.session.connection()
        before.append(connection.exec_driver_sql(ask).scalar())
        if postgresql:  # the suite's server never waits for the disk; this connection does
            connection.exec_driver_sql("SET synchronous_commit TO on")
        begin(self)

    def observed(self, *args):
        during.append(db.session.connection().exec_driver_sql(ask).scalar())
        return record(self, *args)

    monkeypatch.setattr(invitations_module._Batch, "begin", durable_then_begin)
    monkeypatch.setattr(invitations_module._Batch, "record", observed)
    send_invitations(db, make_round([org.sales], launched=True))
    assert len(during) == 6
    # SQLite's WAL with synchronous=NORMAL (1) never waits for the disk at a commit.
    assert set(during) == ({"off"} if postgresql else {1})
    # The message before's setting ended with its commit: the connection's own is back.
    assert set(before[1:]) == ({"on"} if postgresql else {1})
