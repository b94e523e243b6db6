"""Response rates per team: figures, and the confidentiality of small teams' participation."""

from surveyapp.models import Participation
from surveyapp.rounds.progress import PROTECTS_ANOTHER, TOO_FEW, round_progress


def submit(db, round_, people):
    for person in people:
        db.session.add(Participation(round_id=round_.id, person_id=person.id))
    db.session.commit()


def test_round_figures_count_invited_emailed_submitted_and_whom_to_remind(db, org, make_round):
    round_ = make_round([org.sales], launched=True)
    submit(db, round_, org.people[7:9])
    progress = round_progress(round_)
    assert (progress.invited, progress.emailed, progress.submitted, progress.to_remind) == (
        6, 0, 2, 0)
    assert progress.unsent == 6 and round(progress.rate, 3) == 0.333


def test_team_rows_count_each_team_with_the_teams_below_it(db, org, make_round):
    round_ = make_round([org.ops], launched=True)
    submit(db, round_, org.people[:1] + org.people[3:6])
    rows = {t.name: t for t in round_progress(round_).teams}
    assert [t.name for t in round_progress(round_).teams] == ["Operations", "Customer Care",
                                                              "North"]
    assert (rows["Operations"].invited, rows["Operations"].submitted) == (7, 4)
    assert (rows["Customer Care"].invited, rows["Customer Care"].submitted) == (7, 4)
    assert rows["North"].hidden_because == TOO_FEW and rows["North"].submitted is None
    assert rows["North"].depth == 2


def test_a_small_team_cannot_be_recovered_by_subtracting_its_sibling_from_the_parent(
        db, make_team, make_person, make_round):
    # Region (no people of its own) = Big (6) + Small (2). Showing Region and Big would give
    # Small's count by subtraction, so Big is hidden too; Region (8) still shows.
    region = make_team("Region")
    big = make_team("Big", parent=region)
    small = make_team("Small", parent=region)
    big_people = [make_person(team=big) for _ in range(6)]
    small_people = [make_person(team=small) for _ in range(2)]
    round_ = make_round([region], launched=True)
    submit(db, round_, big_people[:3] + small_people[:1])
    rows = {t.name: t for t in round_progress(round_).teams}
    assert rows["Small"].hidden_because == TOO_FEW
    assert rows["Big"].hidden_because == PROTECTS_ANOTHER and rows["Big"].submitted is None
    assert (rows["Region"].submitted, rows["Region"].invited) == (4, 8)


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
    assert rows["Small"].hidden_because == TOO_FEW


def test_which_teams_are_shown_does_not_change_as_people_submit(db, org, make_round):
    round_ = make_round([org.ops], launched=True)
    before = [t.hidden_because for t in round_progress(round_).teams]
    submit(db, round_, org.people[:7])
    assert [t.hidden_because for t in round_progress(round_).teams] == before
