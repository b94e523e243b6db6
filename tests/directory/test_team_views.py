"""Teams pages: the tree, adding, renaming, moving, archiving; access; a leader's own teams."""

import pytest
from sqlalchemy import select

from surveyapp.models import Role, Team, utcnow

from .helpers import text, visible


@pytest.fixture
def org(make_team, make_person):
    ops = make_team("Operations")
    care = make_team("Customer Care", parent=ops)
    north = make_team("North", parent=care)
    sales = make_team("Sales")
    for _ in range(3):
        make_person(team=north)
    make_person(team=care)
    return ops, care, north, sales


@pytest.mark.parametrize("url", ["/teams", "/teams/new", "/people", "/people/new", "/people/import"])
def test_hr_pages_send_anonymous_users_to_sign_in(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


@pytest.mark.parametrize("url", ["/teams", "/teams/new", "/people", "/people/new", "/people/import"])
def test_hr_pages_are_forbidden_to_leaders(client, auth, make_user, url):
    auth.login_as(make_user(Role.LEADER))
    assert client.get(url).status_code == 403


def test_the_empty_tree_says_what_to_do(client, hr):
    body = visible(client.get("/teams"))
    assert "No teams yet. Add the first team or import people from a CSV file." in body


def test_the_tree_shows_nesting_counts_leaders_and_archived_teams(client, hr, org, make_user,
                                                                   make_team, db):
    make_user(Role.LEADER, name="Lena Leader", teams=[org[1]])
    make_team("Old Depot", parent=org[0], archived_at=utcnow())
    body = text(client.get("/teams"))
    assert body.count('class="button"') == 1 and "Add a team</a>" in body
    assert "3 people</span>" in body
    assert "1 person, 4 with the teams inside" in body
    assert "Led by Lena Leader" in body
    assert "Archived</span>" in body
    # Customer Care is nested inside Operations, North inside Customer Care.
    ops_at, care_at, north_at = (body.index(f">{name}</a>")
                                 for name in ("Operations", "Customer Care", "North"))
    for outer, inner in ((ops_at, care_at), (care_at, north_at)):
        between = body[outer:inner]
        assert "<ul>" in between and "</ul>" not in between


def test_hr_adds_a_team_inside_another(client, hr, org, db):
    response = client.submit("/teams/new", {"name": "Depot", "parent_id": org[0].id})
    assert response.status_code == 302
    team = db.session.scalar(select(Team).where(Team.name == "Depot"))
    assert team.parent_id == org[0].id


def test_adding_a_clashing_team_shows_the_error_beside_the_name_and_keeps_the_input(client, hr, org):
    response = client.submit("/teams/new", {"name": "sales", "parent_id": 0})
    body = text(response)
    assert response.status_code == 200
    assert "<title>Error: Add a team" in body
    assert "There is a problem" in body
    assert 'href="#name">There is already a team called Sales at the top level' in body
    assert 'value="sales"' in body


def test_hr_renames_and_moves_a_team(client, hr, org, db):
    ops, care, north, sales = org
    response = client.submit(f"/teams/{care.id}/edit", {"name": "Care", "parent_id": sales.id})
    assert response.status_code == 302
    db.session.refresh(care)
    assert (care.name, care.parent_id) == ("Care", sales.id)


def test_the_move_choices_leave_out_the_team_and_everything_inside_it(client, hr, org):
    ops, care, north, sales = org
    body = text(client.get(f"/teams/{care.id}/edit"))
    assert f'value="{north.id}"' not in body
    assert f'value="{sales.id}"' in body


def test_moving_a_team_under_its_own_descendant_is_refused(client, hr, org, db):
    ops, care, north, sales = org
    response = client.submit(f"/teams/{ops.id}/edit", {"name": "Operations", "parent_id": north.id},
                             form_url=f"/teams/{ops.id}/edit")
    # The descendant is not even offered, so the form refuses the choice.
    assert response.status_code == 200
    assert "Error:" in text(response)
    db.session.refresh(ops)
    assert ops.parent_id is None


def test_archiving_a_team_with_people_is_refused_with_a_message(client, hr, org, db):
    north = org[2]
    response = client.submit(f"/teams/{north.id}/archive", form_url=f"/teams/{north.id}",
                             follow_redirects=True)
    assert "North still has 3 people. First move them to another team or archive them" in visible(response)
    db.session.refresh(north)
    assert not north.is_archived


def test_hr_archives_and_unarchives_an_empty_team(client, hr, org, db):
    sales = org[3]
    client.submit(f"/teams/{sales.id}/archive", form_url=f"/teams/{sales.id}")
    db.session.refresh(sales)
    assert sales.is_archived
    body = text(client.get(f"/teams/{sales.id}"))
    assert "This team is archived" in body and "Unarchive Sales" in body
    client.submit(f"/teams/{sales.id}/unarchive", form_url=f"/teams/{sales.id}")
    db.session.refresh(sales)
    assert not sales.is_archived


def test_the_team_page_shows_its_path_people_and_leaders(client, hr, org):
    body = visible(client.get(f"/teams/{org[2].id}"))
    assert "Operations/Customer Care/North" in body
    assert "3 people in this team" in body
    assert "No leader yet." in body


def test_an_unknown_team_is_404(client, hr):
    assert client.get("/teams/999").status_code == 404


# --- a leader's teams ---------------------------------------------------------------------------


def test_my_teams_shows_a_leaders_teams_and_everything_below_only(client, auth, make_user, org):
    ops, care, north, sales = org
    auth.login_as(make_user(Role.LEADER, teams=[care, north]))
    body = text(client.get("/my-teams"))
    assert "Your teams" in body
    assert "Customer Care" in body and "North" in body
    assert "Sales" not in body and "Operations" not in body
    assert body.count(">North<") == 1  # North is shown once, inside Customer Care
    assert "1 person, 4 with the teams inside" in body
    assert 'href="/teams/' not in body  # read-only


def test_my_teams_empty_state_for_a_leader_without_teams(client, auth, make_user):
    auth.login_as(make_user(Role.LEADER))
    body = visible(client.get("/my-teams"))
    assert "You are not assigned to any team yet. Ask your HR team to add you as a leader." in body


def test_my_teams_sends_hr_to_the_whole_tree(client, hr):
    response = client.get("/my-teams")
    assert response.status_code == 302 and response.headers["Location"].endswith("/teams")


def test_my_teams_requires_sign_in(client):
    response = client.get("/my-teams")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_leader_lands_on_my_teams_after_the_start_page(client, auth, make_user):
    auth.login_as(make_user(Role.LEADER))
    assert client.get("/").headers["Location"].endswith("/my-teams")
