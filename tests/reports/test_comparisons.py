"""Which round a report compares with: only rounds that had closed before it closed.

The attack this prevents: a leader saves a closed round's report, waits for one more person to
answer an older round that is still open, and saves it again. If the report compared with the
open round, the change of each statement (one decimal) would pin the open round's mean before
and after, and so that person's answers. And a closed round's report must never change
afterwards, when another round closes.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from surveyapp.analysis.confidentiality import ORGANISATION
from surveyapp.clock import today
from surveyapp.instrument import load_default
from surveyapp.models import Invitation, Round, Team
from surveyapp.reports.queries import NotClosed, build_context, load_context, previous_round
from surveyapp.rounds.operations import close_round, create_round, launch_round
from surveyapp.survey.storage import save_draft, submit_response

pytestmark = pytest.mark.both_databases


KEYS = load_default().statement_keys


def answer(db, round_, person_ids, value_of):
    """Everyone in ``person_ids`` submits in ``round_``; ``value_of(i, statement index)``."""
    invitations = db.session.scalars(
        select(Invitation).where(Invitation.round_id == round_.id,
                                 Invitation.person_id.in_(person_ids))
        .order_by(Invitation.person_id)).all()
    for i, invitation in enumerate(invitations):
        save_draft(invitation, {k: value_of(i, n) for n, k in enumerate(KEYS)}, {})
        submit_response(invitation)
    db.session.commit()


def new_round(db, name, teams):
    now = today()
    round_ = create_round(name=name, teams=teams, opens_on=now,
                          closes_on=now + timedelta(days=14), today=now)
    launch_round(round_, today=now)
    db.session.commit()
    return round_


@pytest.fixture
def overlapping(db, make_team, make_person):
    """Sales (8 people). "Spring" was launched first and is still open, with 5 answers;
    "Summer" was launched after it, everyone answered, and it is closed."""
    sales = make_team("Sales")
    people = [make_person(team=sales).id for _ in range(8)]
    spring = new_round(db, "Spring", [sales])
    summer = new_round(db, "Summer", [db.session.get(Team, sales.id)])
    answer(db, spring, people[:5], lambda i, n: 1 + (i + n) % 5)
    answer(db, summer, people, lambda i, n: 1 + (i * n) % 5)
    close_round(summer)
    db.session.commit()
    return spring, summer, sales.id, people


def figures_of(html: str) -> str:
    """The page without its form tokens and its round picker (which lists every closed round:
    navigation, not figures)."""
    html = re.sub(r'<form class="picker".*?</form>', "", html, flags=re.S)
    return re.sub(r'name="csrf_token"[^>]*value="[^"]+"', "", html)


def outputs(client, round_id, team_id) -> dict[str, object]:
    """Everything a leader can save of the round's report: the page, the CSV, and the PDF's
    text and attached CSV."""
    base = f"/reports/{round_id}/{team_id}"
    page = client.get(base)
    csv_file = client.get(f"{base}/aggregates.csv")
    pdf = client.get(f"{base}/report.pdf")
    assert (page.status_code, csv_file.status_code, pdf.status_code) == (200, 200, 200)
    reader = PdfReader(io.BytesIO(pdf.data))
    return {
        "page": figures_of(page.get_data(as_text=True)),
        "csv": csv_file.get_data(as_text=True),
        "pdf text": [p.extract_text() for p in reader.pages],
        "pdf csv": {name: [c.decode() for c in content]
                    for name, content in reader.attachments.items()},
    }


def test_a_report_never_compares_with_an_open_round_nor_changes_when_it_closes(
        db, client, auth, leader_of, overlapping):
    spring, summer, sales, people = overlapping
    auth.login_as(leader_of(sales))
    first = outputs(client, summer.id, sales)
    assert "Spring" not in first["page"] and not any("Spring" in t for t in first["pdf text"])
    assert list(csv.reader(io.StringIO(first["csv"].lstrip("\ufeff"))))[1][2] == "8"

    # One more person answers the older, open round: nothing the leader can save moves.
    answer(db, db.session.get(Round, spring.id), people[5:6], lambda i, n: 5)
    assert outputs(client, summer.id, sales) == first

    # The older round closes after Summer did: Summer's report still does not change.
    close_round(db.session.get(Round, spring.id))
    db.session.commit()
    assert outputs(client, summer.id, sales) == first


def test_only_a_round_closed_before_this_one_closed_is_compared_with(db, overlapping):
    spring, summer, sales, _ = overlapping
    spring, summer = db.session.get(Round, spring.id), db.session.get(Round, summer.id)
    assert spring.status == "open" and spring.launched_at < summer.launched_at
    assert previous_round(summer, sales) is None
    assert previous_round(summer, ORGANISATION) is None
    close_round(spring)
    db.session.commit()
    assert previous_round(summer, sales) is None  # Spring closed after Summer
    assert previous_round(spring, sales).id == summer.id  # Summer had closed first


def test_a_later_round_compares_with_the_one_closed_before_it(db, overlapping):
    spring, summer, sales, people = overlapping
    close_round(db.session.get(Round, spring.id))
    db.session.commit()
    autumn = new_round(db, "Autumn", [db.session.get(Team, sales)])
    assert previous_round(autumn, sales) is None  # open: no results, no comparison
    answer(db, autumn, people, lambda i, n: 3)
    close_round(autumn)
    db.session.commit()
    assert previous_round(autumn, sales).id == spring.id  # the latest to close before it


def test_no_figure_of_an_open_round_is_ever_computed(db, overlapping):
    spring = db.session.get(Round, overlapping[0].id)
    with pytest.raises(NotClosed):
        load_context(spring)
    with pytest.raises(NotClosed):
        build_context(spring)
