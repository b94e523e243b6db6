"""Response rates per team: figures, and the confidentiality of small groups' participation."""

import pytest
from sqlalchemy import select, update

from surveyapp.analysis.confidentiality import GroupNode, decide_visibility
from surveyapp.models import Invitation, Participation
from surveyapp.rounds.progress import (
    NOT_YET,
    PROTECTS_ANOTHER,
    TOO_FEW_INVITED,
    round_counts,
    round_progress,
)

pytestmark = pytest.mark.both_databases


def submit(db, round_, people):
    for person in people:
        db.session.add(Participation(round_id=round_.id, person_id=person.id))
    db.session.commit()


def email_everyone(db, round_):
    db.session.execute(update(Invitation).where(Invitation.round_id == round_.id)
                       .values(sent_at=round_.launched_at))
    db.session.commit()


def test_round_figures_count_invited_emailed_submitted_and_whom_to_remind(db, org, make_round):
    round_ = make_round([org.sales], launched=True)
    submit(db, round_, org.people[7:12])
    progress = round_progress(round_)
    assert (progress.invited, progress.emailed, progress.submitted) == (6, 0, 5)
    assert progress.unsent == 6 and round(progress.rate, 3) == 0.833
    email_everyone(db, round_)
    assert round_progress(round_).to_remind == 1


def test_team_rows_count_each_team_with_the_teams_below_it(db, org, make_round):
    round_ = make_round([org.ops], launched=True)
    submit(db, round_, org.people[:6])  # Customer Care's 3 and 3 of North's 4
    rows = {t.name: t for t in round_progress(round_).teams}
    assert [t.name for t in round_progress(round_).teams] == ["Operations", "Customer Care",
                                                              "North"]
    assert (rows["Operations"].invited, rows["Operations"].submitted) == (7, 6)
    assert (rows["Customer Care"].invited, rows["Customer Care"].submitted) == (7, 6)
    assert rows["North"].hidden_because == TOO_FEW_INVITED and rows["North"].submitted is None
    assert rows["North"].depth == 2


def test_a_small_team_cannot_be_recovered_by_subtracting_its_sibling_from_the_parent(
        db, make_team, make_person, make_round):
    # Region (no people of its own) = Big (6) + Small (2). Showing Region and Big would give
    # Small's count by subtraction, so Big is never shown; Region (8) shows once 5 submitted.
    region = make_team("Region")
    big = make_team("Big", parent=region)
    small = make_team("Small", parent=region)
    big_people = [make_person(team=big) for _ in range(6)]
    small_people = [make_person(team=small) for _ in range(2)]
    round_ = make_round([region], launched=True)
    submit(db, round_, big_people[:5] + small_people[:1])
    rows = {t.name: t for t in round_progress(round_).teams}
    assert rows["Small"].hidden_because == TOO_FEW_INVITED
    assert rows["Big"].hidden_because == PROTECTS_ANOTHER and rows["Big"].submitted is None
    assert (rows["Region"].submitted, rows["Region"].invited) == (6, 8)


def test_a_small_top_team_is_protected_from_the_round_total(db, make_team, make_person,
                                                            make_round):
    # The round's total is on the page; with two top teams, showing the big one would give
    # the small one's count as the total minus the big one.
    big = make_team("Big")
    small = make_team("Small")
    [make_person(team=big) for _ in range(6)]
    [make_person(team=small) for _ in range(2)]
    round_ = make_round([big, small], launched=True)
    rows = {t.name: t for t in round_progress(round_).teams}
    assert rows["Big"].hidden_because == PROTECTS_ANOTHER
    assert rows["Small"].hidden_because == TOO_FEW_INVITED


# --- the minimum applies to those who have submitted ------------------------------------------


def test_the_rounds_count_is_hidden_while_fewer_than_the_minimum_have_submitted(
        db, make_team, make_person, make_round):
    team = make_team("Four")
    people = [make_person(team=team) for _ in range(4)]
    round_ = make_round([team], launched=True)
    email_everyone(db, round_)
    submit(db, round_, people[:3])
    progress = round_progress(round_)
    assert progress.invited == 4
    assert (progress.submitted, progress.rate, progress.to_remind) == (None, None, None)
    assert progress.never_shown
    count = round_counts([round_])[round_.id]
    assert (count.invited, count.submitted, count.rate) == (4, None, None)


def test_a_team_shows_its_count_only_once_the_minimum_have_submitted_there(db, org, make_round):
    round_ = make_round([org.sales], launched=True)
    submit(db, round_, org.people[7:11])
    (sales,) = round_progress(round_).teams
    assert (sales.submitted, sales.hidden_because) == (None, NOT_YET)
    assert round_progress(round_).submitted is None
    submit(db, round_, org.people[11:12])
    (sales,) = round_progress(round_).teams
    assert (sales.submitted, sales.hidden_because) == (5, None)
    assert round_progress(round_).submitted == 5


def test_a_hidden_count_looks_the_same_whether_none_or_nearly_the_minimum_submitted(
        db, org, make_round):
    round_ = make_round([org.sales], launched=True)
    email_everyone(db, round_)
    before = round_progress(round_)
    submit(db, round_, org.people[7:11])
    assert round_progress(round_) == before


def test_a_team_that_reached_the_minimum_is_hidden_when_it_would_reveal_a_sibling(
        db, make_team, make_person, make_round):
    # Region = A (6 invited) + B (6 invited): both are big enough to show by the numbers
    # invited. With 5 submitted in A and 2 in B, Region (7) shows, and A would give B's 2.
    region = make_team("Region")
    a, b = make_team("A", parent=region), make_team("B", parent=region)
    a_people = [make_person(team=a) for _ in range(6)]
    b_people = [make_person(team=b) for _ in range(6)]
    round_ = make_round([region], launched=True)
    submit(db, round_, a_people[:5] + b_people[:2])
    rows = {t.name: t for t in round_progress(round_).teams}
    assert rows["Region"].submitted == 7
    assert rows["A"].hidden_because == NOT_YET and rows["A"].submitted is None
    assert rows["B"].hidden_because == NOT_YET
    submit(db, round_, b_people[2:5])
    rows = {t.name: t for t in round_progress(round_).teams}
    assert (rows["A"].submitted, rows["B"].submitted, rows["Region"].submitted) == (5, 5, 10)


def test_whom_a_reminder_would_reach_is_hidden_while_some_invitations_are_not_emailed(
        db, org, make_round):
    # E-mailed minus those to remind would give how many of the e-mailed people submitted,
    # and the total minus that how many of the others did.
    round_ = make_round([org.sales], launched=True)
    submit(db, round_, org.people[7:12])
    first = db.session.scalars(select(Invitation).where(Invitation.round_id == round_.id)).first()
    first.sent_at = round_.launched_at
    db.session.commit()
    progress = round_progress(round_)
    assert (progress.submitted, progress.emailed, progress.to_remind) == (5, 1, None)


def test_the_page_and_the_report_hide_the_same_groups_so_they_cannot_be_subtracted(
        db, make_team, make_person, make_round):
    """A parent with two people of its own and three sub-teams: each set of counts alone is
    safe, but the report hides one sub-team to protect the parent's own two, and the page
    must hide that one too, or the parent minus the three sub-teams shown here and there
    counts the two."""
    operations = make_team("Operations")
    north = make_team("Care North", parent=operations)
    south = make_team("Care South", parent=operations)
    field = make_team("Field Service", parent=operations)
    people = {team: [make_person(team=team) for _ in range(n)]
              for team, n in ((operations, 2), (north, 18), (south, 17), (field, 16))}
    round_ = make_round([operations], launched=True)
    submitted = {operations: 2, north: 13, south: 13, field: 14}
    for team, n in submitted.items():
        submit(db, round_, people[team][:n])
    rows = {t.team_id: t for t in round_progress(round_).teams}
    report = decide_visibility(
        [GroupNode(t.id, t.parent_id, submitted[t], len(people[t])) for t in submitted],
        round_.min_group_size)
    shown = {team_id for team_id, row in rows.items() if row.submitted is not None}
    assert shown <= report.shown
    assert all(rows[team_id].submitted == report.totals[team_id] for team_id in shown)
    # Nothing shown on either lets the parent's own two be worked out.
    children = [north, south, field]
    visible = [t for t in children if t.id in shown | report.shown]
    assert operations.id in shown and len(visible) < len(children)


def test_the_group_hidden_to_protect_another_stays_the_same_as_people_answer(
        db, make_team, make_person, make_round):
    """Which sub-team is hidden to protect a small group follows the numbers invited, not the
    counts: were it the smaller count, it would switch as people answer, and two looks at the
    page, each safe, would together count the small group (here: the parent's own two and
    Field Service, always hidden, at none)."""
    operations = make_team("Operations")
    north = make_team("Care North", parent=operations)
    south = make_team("Care South", parent=operations)
    field = make_team("Field Service", parent=operations)
    people = {team: [make_person(team=team) for _ in range(n)]
              for team, n in ((operations, 2), (north, 18), (south, 17), (field, 16))}
    round_ = make_round([operations], launched=True)
    ids = (operations.id, north.id, south.id, field.id)

    def look() -> dict[int, int | None]:
        rows = {t.team_id: t.submitted for t in round_progress(round_).teams}
        return {team_id: rows[team_id] for team_id in ids}

    submit(db, round_, people[north][:5] + people[south][:5])
    first = look()
    submit(db, round_, people[north][5:6])
    second = look()
    hidden = [{t for t, n in seen.items() if n is None} for seen in (first, second)]
    assert hidden[0] == hidden[1]
    # Whatever is shown, the parent minus the sub-teams shown leaves at least the minimum.
    for seen in (first, second):
        shown_children = sum(seen[t] or 0 for t in ids[1:])
        assert seen[operations.id] is None or seen[operations.id] - shown_children >= 5
