"""Reminders scheduled ahead: HR picks days; the clock's job starts each on its day at
REMINDER_HOUR, once, and only for a round still open."""

from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from surveyapp.clock import organisation_zone, today
from surveyapp.models import Invitation, MailBatch, Round, ScheduledReminder, utcnow
from surveyapp.rounds.scheduled_reminders import start_due

pytestmark = pytest.mark.both_databases


def at(day, hour: int) -> datetime:
    """``day`` at ``hour`` o'clock where the organisation is, as an aware UTC moment."""
    return datetime.combine(day, time(hour), organisation_zone()).astimezone(UTC)


@pytest.fixture
def emailed_round(db, org, make_round):
    """An open round whose invitations were all e-mailed, closing in ten days."""
    round_ = make_round([org.sales], launched=True)
    round_.closes_on = today() + timedelta(days=10)
    for invitation in db.session.scalars(select(Invitation).where(Invitation.round_id == round_.id)):
        invitation.sent_at = utcnow()
    db.session.commit()
    return round_


def text(response) -> str:
    return response.get_data(as_text=True)


def test_hr_schedules_a_reminder_and_sees_it_on_the_rounds_page(db, client, hr, emailed_round):
    day = today() + timedelta(days=2)
    page = text(client.submit(f"/rounds/{emailed_round.id}/reminders",
                              {"send_on": day.isoformat()}, follow_redirects=True))
    assert f"A reminder will go out on {day:%A %-d %B} at 09:00." in page
    assert "Hana Reyes" in page and "Waiting" in page
    page = text(client.get(f"/rounds/{emailed_round.id}"))
    assert f"Scheduled: {day:%A %-d %B}, at 09:00." in page


@pytest.mark.parametrize("days, message", [
    (-1, "That day has passed"),
    (11, "The round closes on"),
])
def test_a_day_outside_the_round_is_refused_beside_the_field(client, hr, emailed_round, days,
                                                             message):
    day = today() + timedelta(days=days)
    page = text(client.submit(f"/rounds/{emailed_round.id}/reminders",
                              {"send_on": day.isoformat()}))
    assert "There is a problem" in page and message in page


def test_the_same_day_twice_is_refused(client, hr, emailed_round):
    url = f"/rounds/{emailed_round.id}/reminders"
    client.submit(url, {"send_on": today().isoformat()})
    assert "already scheduled" in text(client.submit(url, {"send_on": today().isoformat()}))


def test_the_clock_starts_it_on_its_day_at_the_hour_once(db, client, hr, emailed_round):
    day = today() + timedelta(days=1)
    client.submit(f"/rounds/{emailed_round.id}/reminders", {"send_on": day.isoformat()})
    db.session.rollback()
    assert start_due(at(day, 8)) == 0  # the day before the hour: nothing yet
    assert start_due(at(day, 9)) == 1
    assert start_due(at(day, 10)) == 0  # started already
    db.session.expire_all()
    assert db.session.get(Round, emailed_round.id).reminder_batches == 1
    scheduled = db.session.scalar(select(ScheduledReminder))
    assert scheduled.reminder == 1 and scheduled.started_at is not None
    batches = db.session.scalar(select(func.count()).select_from(MailBatch)
                                .where(MailBatch.kind == "reminder"))
    assert batches >= 1 and scheduled.scheduled_by == "Hana Reyes"


def test_a_cancelled_or_closed_rounds_reminder_never_starts(db, client, hr, emailed_round):
    url = f"/rounds/{emailed_round.id}/reminders"
    client.submit(url, {"send_on": today().isoformat()})
    scheduled = db.session.scalar(select(ScheduledReminder))
    page = text(client.submit(f"{url}/{scheduled.id}/cancel", form_url=url,
                              follow_redirects=True))
    assert "The scheduled reminder is cancelled." in page
    assert start_due(at(today(), 23)) == 0
    client.submit(url, {"send_on": (today() + timedelta(days=1)).isoformat()})
    round_ = db.session.get(Round, emailed_round.id)
    round_.close_requested_at = utcnow()  # HR closed it early
    db.session.commit()
    assert start_due(at(today() + timedelta(days=1), 12)) == 0
    db.session.expire_all()
    assert db.session.get(Round, emailed_round.id).reminder_batches == 0
