"""No page view writes: every page HR, a leader and an employee can reach by following links
is read with the database's write statements watched, including a round past its closing date
(which shows as closing until a job closes it) and a closed round's reports."""

import re
from datetime import timedelta
from html import unescape

import pytest
from sqlalchemy import event, select

from surveyapp.clock import today
from surveyapp.extensions import db as _db
from surveyapp.models import Invitation, Round, RoundStatus
from surveyapp.rounds.operations import create_round, launch_round
from surveyapp.rounds.tokens import token_for

pytestmark = pytest.mark.both_databases

WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE|MERGE|CREATE|DROP|ALTER|TRUNCATE)\b", re.I)
LINK = re.compile(r'href="(/[^"#]*)"')
#: Pages that only lead to forms already covered, or out of the signed-in part.
SKIP = re.compile(r"^/(static/|login|logout)")


@pytest.fixture
def closing_round(db, make_team, make_person) -> tuple[int, str]:
    """An open round over a team of five, past its closing date; its id and one person's link."""
    team = make_team("Support")
    for _ in range(5):
        make_person(team=team)
    now = today()
    round_ = create_round(name="Past its date", teams=[team], opens_on=now, closes_on=now,
                          today=now)
    launch_round(round_, today=now)
    round_.opens_on = round_.closes_on = now - timedelta(days=2)
    db.session.commit()
    nonce = db.session.scalar(select(Invitation.nonce).where(Invitation.round_id == round_.id))
    round_id = round_.id
    db.session.rollback()
    return round_id, token_for(nonce)


def crawl(client, start: list[str], limit: int = 400) -> list[str]:
    """GET every page reachable from ``start`` by links; return the URLs read."""
    seen, queue = set(), list(start)
    while queue and len(seen) < limit:
        url = queue.pop(0)
        if url in seen or SKIP.match(url):
            continue
        seen.add(url)
        response = client.get(url)
        assert response.status_code < 500, url
        if response.mimetype == "text/html":
            queue += [unescape(link) for link in LINK.findall(response.get_data(as_text=True))]
    return sorted(seen)


@pytest.fixture
def writes(app):
    """The write statements run while the test reads pages."""
    statements: list[str] = []

    def watch(_conn, _cursor, statement, *_args):
        if WRITE.match(statement):
            statements.append(statement)

    with app.app_context():
        engine = _db.engine
    event.listen(engine, "before_cursor_execute", watch)
    yield statements
    event.remove(engine, "before_cursor_execute", watch)


def test_no_page_view_writes(app, db, client, auth, hr, closed_round, closing_round, leader_of,
                             writes):
    round_id, token = closing_round
    read = crawl(client, ["/", "/rounds", f"/rounds/{round_id}", "/reports/"])
    assert f"/reports/{closed_round.round_id}/0/report.pdf" in read
    assert f"/rounds/{round_id}/close" not in read  # a closing round offers no close
    assert len(read) > 25
    assert writes == []
    auth.logout()
    auth.login_as(leader_of(closed_round.teams["Customer Care"]))
    writes.clear()  # signing in writes, as it should
    read = crawl(client, ["/", "/reports/", "/my-teams"])
    assert any(url.endswith("/report.pdf") for url in read)
    survey = app.test_client()
    assert "closed" in survey.get(f"/s/{token}").get_data(as_text=True)
    assert writes == []
    db.session.rollback()
    assert db.session.get(Round, round_id).status == RoundStatus.OPEN
