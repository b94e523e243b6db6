"""Staff account pages: HR only, forms in the GOV.UK pattern, every change through operations."""

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from surveyapp.auth.passwords import verify_password
from surveyapp.models import Role, User

from ..conftest import TEST_PASSWORD, AuthActions

GOOD = "lantern orchard velvet"


def page_of(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def teams(make_team):
    ops = make_team("Operations")
    care = make_team("Customer Care", parent=ops)
    north = make_team("North", parent=care)
    archived = make_team("Old depot", parent=ops, archived_at=datetime.now(UTC))
    return {"ops": ops, "care": care, "north": north, "archived": archived}


def new_leader(client, team_map, **changes):
    data = {"name": "Mia Chen", "email": "mia.chen@example.org", "role": "leader",
            "teams": [str(team_map["care"].id)], "password": GOOD, "confirm": GOOD}
    data.update(changes)
    return client.submit("/users/new", data)


# --- Who may use the pages ------------------------------------------------------------------------

HR_PAGES = [
    ("get", "/users"), ("get", "/users/new"), ("post", "/users/new"),
    ("get", "/users/{id}/edit"), ("post", "/users/{id}/edit"),
    ("get", "/users/{id}/deactivate"), ("post", "/users/{id}/deactivate"),
    ("post", "/users/{id}/reactivate"),
    ("get", "/users/{id}/password"), ("post", "/users/{id}/password"),
]


@pytest.mark.parametrize("method,url", HR_PAGES)
def test_a_leader_gets_403_on_every_staff_account_page(client, auth, make_user, teams, method,
                                                       url):
    leader = auth.login_as(make_user(Role.LEADER, teams=[teams["care"]]))
    target = url.format(id=leader.id)

    if method == "get":
        response = client.get(target)
    else:
        response = client.submit(target, {}, form_url="/account/password")

    assert response.status_code == 403
    assert "You do not have access to this page" in page_of(response)


@pytest.mark.parametrize("url", ["/users", "/users/new", "/users/1/edit"])
def test_an_anonymous_visitor_is_sent_to_sign_in(client, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_the_navigation_links_hr_to_staff_accounts(client, hr):
    page = page_of(client.get("/users"))

    assert '<a href="/users" aria-current="page">Staff accounts</a>' in page


# --- The list -----------------------------------------------------------------------------------------


def test_the_list_shows_each_user_with_role_teams_and_status(client, db, hr, make_user, teams):
    make_user(Role.LEADER, name="Mia Chen", teams=[teams["north"], teams["ops"]])
    gone = make_user(Role.LEADER, name="Ola Gone", teams=[teams["care"]])
    gone.is_active_account = False
    db.session.commit()

    page = page_of(client.get("/users"))

    assert "Hana Reyes" in page and "(you)" in page
    assert "Operations, Operations/Customer Care/North" in page
    assert "Deactivated" in page
    assert page.index("Mia Chen") < page.index("Ola Gone")  # active first
    assert '<a class="button" href="/users/new">Add a staff account</a>' in page


def test_the_list_says_what_to_do_when_hr_is_alone(client, hr):
    assert "You are the only one with an account so far." in page_of(client.get("/users"))


def test_the_list_pages_when_long(app, client, hr, make_user):
    app.config["PEOPLE_PER_PAGE"] = 2
    for _ in range(3):
        make_user(Role.HR)

    first, second = page_of(client.get("/users")), page_of(client.get("/users?page=2"))

    assert "Page 1 of 2" in first and 'rel="next"' in first
    assert "Page 2 of 2" in second
    assert second.count("/edit\">") == 2


# --- Adding --------------------------------------------------------------------------------------------


def test_the_new_user_form_offers_teams_as_paths_in_a_fieldset_without_archived_ones(client, hr,
                                                                                     teams):
    page = page_of(client.get("/users/new"))

    fieldset = page[page.index('<fieldset id="teams"'):]
    fieldset = fieldset[:fieldset.index("</fieldset>")]
    assert "<legend" in fieldset and "Teams they lead" in fieldset
    assert fieldset.count('type="checkbox"') == 3
    assert "Operations/Customer Care/North" in fieldset
    assert "Old depot" not in fieldset
    assert 'type="radio"' in page


def test_the_new_user_form_says_to_add_teams_first_when_there_are_none(client, hr):
    page = page_of(client.get("/users/new"))

    assert "There are no teams yet." in page
    assert 'href="/teams"' in page


def test_hr_creates_a_leader_who_can_then_sign_in(app, client, db, hr, teams):
    response = new_leader(client, teams)

    assert response.status_code == 302
    assert response.headers["Location"] == "/users"
    assert "Account created for Mia Chen." in page_of(client.get("/users"))
    user = db.session.scalar(select(User).where(User.email == "mia.chen@example.org"))
    assert [team.name for team in user.teams] == ["Customer Care"]
    assert AuthActions(app.test_client()).login("mia.chen@example.org", GOOD).status_code == 302


def test_hr_creates_another_hr_admin(client, db, hr, teams):
    response = new_leader(client, teams, role="hr", email="second.hr@example.org", teams=[])

    assert response.status_code == 302
    user = db.session.scalar(select(User).where(User.email == "second.hr@example.org"))
    assert user.role == Role.HR


def test_errors_are_summarised_shown_beside_fields_and_nothing_typed_is_lost(client, hr, teams):
    response = new_leader(client, teams, email="not an email", role="", confirm="different")

    page = page_of(response)
    assert response.status_code == 200
    assert "<title>Error: Add a staff account" in page
    assert "There is a problem" in page
    assert '<a href="#role">Choose a role.</a>' in page
    assert '<a href="#confirm">The two passwords are not the same. Type them again.</a>' in page
    assert 'value="Mia Chen"' in page and 'value="not an email"' in page
    assert re.search(rf'value="{teams["care"].id}"[^>]*checked|checked[^>]*value="{teams["care"].id}"',
                     page)


def test_a_leader_without_teams_is_refused_beside_the_team_picker(client, db, hr, teams):
    page = page_of(new_leader(client, teams, teams=[]))

    assert '<a href="#teams">Choose at least one team that this leader leads.</a>' in page
    assert 'id="teams-error"' in page
    assert db.session.scalar(select(User).where(User.email == "mia.chen@example.org")) is None


def test_an_email_already_used_is_refused_beside_the_email(client, hr, teams):
    page = page_of(new_leader(client, teams, email="HR@example.test"))

    assert '<a href="#email">There is already an account with this e-mail address.</a>' in page


def test_a_common_password_is_refused_with_the_policy(client, hr, teams):
    page = page_of(new_leader(client, teams, password="password1", confirm="password1"))

    assert "Choose a less common password." in page
    assert 'href="#password"' in page


def test_a_forged_team_id_is_refused(client, hr, teams):
    page = page_of(new_leader(client, teams, teams=[str(teams["archived"].id)]))

    assert "Choose teams from the list." in page


# --- Editing -------------------------------------------------------------------------------------------


def test_the_edit_form_starts_with_the_users_details(client, hr, make_user, teams):
    user = make_user(Role.LEADER, name="Mia Chen", teams=[teams["north"]])

    page = page_of(client.get(f"/users/{user.id}/edit"))

    assert 'value="Mia Chen"' in page
    assert re.search(rf'checked[^>]*value="{teams["north"].id}"|value="{teams["north"].id}"[^>]*checked',
                     page)
    assert "Set a new password" in page and "Deactivate account" in page


def test_editing_changes_name_role_and_teams(client, db, hr, make_user, teams):
    user = make_user(Role.LEADER, teams=[teams["north"]])

    response = client.submit(f"/users/{user.id}/edit", {
        "name": "Mia Chen-Li", "email": user.email, "role": "leader",
        "teams": [str(teams["ops"].id), str(teams["care"].id)],
    })

    assert response.status_code == 302
    db.session.refresh(user)
    assert user.name == "Mia Chen-Li"
    assert sorted(team.name for team in user.teams) == ["Customer Care", "Operations"]


def test_an_archived_team_the_leader_leads_is_kept_when_saving(client, db, hr, make_user, teams):
    user = make_user(Role.LEADER, teams=[teams["archived"]])
    page = page_of(client.get(f"/users/{user.id}/edit"))
    assert "Operations/Old depot (archived)" in page

    client.submit(f"/users/{user.id}/edit", {
        "name": user.name, "email": user.email, "role": "leader",
        "teams": [str(teams["archived"].id)],
    })

    db.session.refresh(user)
    assert [team.name for team in user.teams] == ["Old depot"]


def test_hr_sees_that_they_cannot_change_their_own_role(client, hr):
    page = page_of(client.get(f"/users/{hr.id}/edit"))

    assert "You cannot change your own role" in page
    assert 'type="radio"' not in page
    assert 'id="teams"' not in page  # an HR admin leads no teams
    assert "Deactivate account" not in page


def test_a_forged_own_role_change_is_refused(client, db, hr, teams):
    page = page_of(client.submit(f"/users/{hr.id}/edit", {
        "name": hr.name, "email": hr.email, "role": "leader", "teams": [str(teams["ops"].id)],
    }))

    assert "You cannot change your own role" in page
    db.session.refresh(hr)
    assert hr.role == Role.HR


def test_editing_an_unknown_user_is_404(client, hr):
    assert client.get("/users/9999/edit").status_code == 404


# --- Deactivating and reactivating ------------------------------------------------------------------


def test_deactivation_asks_for_confirmation_first(client, db, hr, make_user):
    user = make_user(Role.LEADER, name="Mia Chen")

    page = page_of(client.get(f"/users/{user.id}/deactivate"))

    assert "Deactivate Mia Chen's account?" in page
    db.session.refresh(user)
    assert user.is_active


def test_a_deactivated_user_is_signed_out_at_once_and_cannot_sign_in(app, client, db, hr,
                                                                     make_user, teams):
    user = make_user(Role.LEADER, teams=[teams["care"]])
    theirs = app.test_client()
    AuthActions(theirs).login_as(user)

    response = client.submit(f"/users/{user.id}/deactivate")

    assert response.status_code == 302
    assert "can no longer sign in" in page_of(client.get(f"/users/{user.id}/edit"))
    assert theirs.get("/account/password").status_code == 302
    assert "deactivated" in page_of(AuthActions(theirs).login(user.email))


def test_hr_cannot_deactivate_themselves(client, db, hr):
    make_user_page = client.submit(f"/users/{hr.id}/deactivate")

    assert make_user_page.status_code == 409
    assert "You cannot deactivate your own account." in page_of(make_user_page)
    db.session.refresh(hr)
    assert hr.is_active


def test_reactivating_lets_the_user_sign_in_again(app, client, db, hr, make_user):
    user = make_user(Role.HR)
    client.submit(f"/users/{user.id}/deactivate")

    response = client.submit(f"/users/{user.id}/reactivate", form_url=f"/users/{user.id}/edit")

    assert response.status_code == 302
    assert "is active again" in page_of(client.get(f"/users/{user.id}/edit"))
    assert AuthActions(app.test_client()).login(user.email).status_code == 302


def test_a_deactivated_users_page_offers_reactivation(client, db, hr, make_user):
    user = make_user(Role.LEADER)
    user.is_active_account = False
    db.session.commit()

    page = page_of(client.get(f"/users/{user.id}/edit"))

    assert "This account is deactivated" in page
    assert "Reactivate account" in page


# --- Setting a password -------------------------------------------------------------------------------


def test_hr_sets_a_new_password_which_signs_the_user_out(app, client, db, hr, make_user):
    user = make_user(Role.LEADER)
    theirs = app.test_client()
    AuthActions(theirs).login_as(user)

    response = client.submit(f"/users/{user.id}/password", {"password": GOOD, "confirm": GOOD})

    assert response.status_code == 302
    db.session.refresh(user)
    assert verify_password(user.password_hash, GOOD)
    assert theirs.get("/account/password").status_code == 302
    assert AuthActions(theirs).login(user.email, GOOD).status_code == 302


def test_hr_setting_a_password_lifts_a_lock_out(app, client, hr, make_user):
    user = make_user(Role.LEADER)
    theirs = AuthActions(app.test_client())
    for _ in range(5):
        theirs.login(user.email, "wrong guess")
    assert theirs.login(user.email).status_code == 429

    client.submit(f"/users/{user.id}/password", {"password": GOOD, "confirm": GOOD})

    assert theirs.login(user.email, GOOD).status_code == 302


def test_a_weak_password_set_by_hr_is_refused(client, db, hr, make_user):
    user = make_user(Role.LEADER)

    page = page_of(client.submit(f"/users/{user.id}/password",
                                 {"password": "short", "confirm": "short"}))

    assert "<title>Error: Set a new password" in page
    assert "The password must be at least 8 characters long." in page
    db.session.refresh(user)
    assert verify_password(user.password_hash, TEST_PASSWORD)


def test_hr_setting_their_own_password_goes_to_their_account_page(client, hr):
    response = client.get(f"/users/{hr.id}/password")

    assert response.headers["Location"] == "/account/password"
