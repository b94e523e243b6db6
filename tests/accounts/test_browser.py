"""Staff accounts in a real browser: HR signs in and adds a leader for a team."""

import pytest
from sqlalchemy import select

from surveyapp.models import Role, User

from ..conftest import TEST_PASSWORD, assert_accessible

GOOD = "lantern orchard velvet"


@pytest.fixture
def organisation(db, make_team, make_user):
    ops = make_team("Operations")
    care = make_team("Customer Care", parent=ops)
    make_team("North", parent=care)
    make_team("Sales")
    make_user(Role.HR, email="grace@example.org", name="Grace Mensah")
    db.session.commit()  # end the test's transaction: the server thread writes too


def sign_in(page, base, email, password):
    page.goto(base + "/login")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


@pytest.mark.browser
def test_hr_signs_in_and_creates_a_leader_assigned_to_a_team(live_server, page, screenshot, db,
                                                              organisation):
    page.goto(live_server + "/login")
    assert_accessible(page)
    screenshot(page, "accounts-01-login")

    sign_in(page, live_server, "grace@example.org", "not the password")
    assert page.title().startswith("Error: Sign in")
    assert_accessible(page)
    screenshot(page, "accounts-02-login-error")

    sign_in(page, live_server, "grace@example.org", TEST_PASSWORD)
    page.goto(live_server + "/users/new")
    assert_accessible(page)
    screenshot(page, "accounts-03-user-form")

    page.get_by_role("button", name="Create account").click()
    assert page.title().startswith("Error: Add a staff account")
    assert_accessible(page)
    screenshot(page, "accounts-04-user-form-errors")

    page.get_by_label("Full name").fill("Mia Chen")
    page.get_by_label("E-mail address").fill("mia.chen@example.org")
    page.get_by_label("Leader", exact=True).check()
    page.get_by_label("Operations/Customer Care", exact=True).check()
    page.get_by_label("Password", exact=True).fill(GOOD)
    page.get_by_label("Type the password again").fill(GOOD)
    page.get_by_role("button", name="Create account").click()

    page.wait_for_url(live_server + "/users")
    row = page.get_by_role("row", name="Mia Chen")
    assert "Operations/Customer Care" in row.inner_text()
    assert_accessible(page)
    screenshot(page, "accounts-05-users")
    db.session.rollback()
    leader = db.session.scalar(select(User).where(User.email == "mia.chen@example.org"))
    assert [team.name for team in leader.teams] == ["Customer Care"]


@pytest.mark.browser
def test_the_edit_and_account_pages_are_accessible(live_server, page, screenshot, db, make_user,
                                                   organisation):
    make_user(Role.LEADER, email="rahul@example.org", name="Rahul Mehta")
    db.session.commit()
    sign_in(page, live_server, "grace@example.org", TEST_PASSWORD)

    page.goto(live_server + "/users")
    page.get_by_role("main").get_by_role("link", name="Grace Mensah").click()
    assert_accessible(page)
    screenshot(page, "accounts-06-edit-self")

    page.goto(live_server + "/users")
    page.get_by_role("link", name="Rahul Mehta").click()
    assert_accessible(page)
    screenshot(page, "accounts-06-edit-leader")
    page.get_by_role("link", name="Deactivate account").click()
    assert_accessible(page)
    screenshot(page, "accounts-06-deactivate")
    page.get_by_role("button", name="Deactivate account").click()
    assert "can no longer sign in" in page.inner_text("main")
    assert_accessible(page)
    screenshot(page, "accounts-06-deactivated")

    page.goto(live_server + "/account/password")
    page.get_by_role("button", name="Change password").click()
    assert page.title().startswith("Error: Your account")
    assert_accessible(page)
    screenshot(page, "accounts-07-account-errors")


@pytest.mark.browser
def test_the_login_page_fits_a_phone(live_server, phone_page, screenshot):
    phone_page.goto(live_server + "/login")

    assert_accessible(phone_page)
    assert phone_page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(phone_page, "accounts-08-login-phone")
