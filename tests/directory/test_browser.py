"""HR's import journey in Chromium: sign in, upload a CSV, check the preview, apply, see the tree."""

import pytest
from sqlalchemy import func, select

from surveyapp.models import Person, Role

from ..conftest import TEST_PASSWORD, assert_accessible

pytestmark = pytest.mark.browser

CSV = ("E-mail;Name;Team;Location;Role level;Badge number\r\n"
       "ana.lima@example.com;Ana Lima;Operations/Customer Care/North;Leeds;Team lead;101\r\n"
       "ben.ode@example.com;Benjamin Ode;Operations/Customer Care/North;Leeds;Team member;102\r\n"
       "cat.ng@example.com;Cat Ng;Operations/Customer Care/South;Bristol;Team member;103\r\n"
       "dev.rao@example.com;Dev Rao;Sales;Remote;Manager;104\r\n")


def sign_in(page, live_server, db, user) -> None:
    """Sign in through the login page. The test's own transaction ends first: on SQLite it
    would otherwise hold the write lock that the server needs."""
    email = user.email
    db.session.rollback()
    page.goto(f"{live_server}/login")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def count_people(db) -> int:
    """How many people the database holds (in a transaction of its own, ended at once)."""
    try:
        return db.session.scalar(select(func.count(Person.id)))
    finally:
        db.session.rollback()


def test_hr_imports_people_from_a_csv_file_and_sees_the_tree(
        page, live_server, db, make_user, make_team, make_person, screenshot, tmp_path):
    hr = make_user(Role.HR, email="hr@example.test", name="Hana Reyes")
    sales = make_team("Sales")
    make_person(team=sales, email="ben.ode@example.com", name="Ben Ode", location="Leeds",
                role_level="Team member")
    csv_path = tmp_path / "people.csv"
    csv_path.write_bytes(b"\xef\xbb\xbf" + CSV.encode())

    sign_in(page, live_server, db, hr)
    page.get_by_role("heading", name="Teams", exact=True).wait_for()
    screenshot(page, "directory-01-teams-before")
    assert_accessible(page)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Import").click()
    page.get_by_role("heading", name="Import people from a CSV file").wait_for()
    screenshot(page, "directory-02-upload")
    assert_accessible(page)
    page.get_by_label("CSV file").set_input_files(str(csv_path))
    page.get_by_role("button", name="Upload and preview").click()

    page.get_by_role("heading", name="Check the changes before you apply them").wait_for()
    screenshot(page, "directory-03-preview")
    assert_accessible(page)
    summary = page.get_by_role("list", name="Summary of changes").inner_text()
    assert " ".join(summary.split()) == "3 new 1 updated 1 moved 0 unchanged 4 teams to create"
    assert page.get_by_text("will be ignored: Badge number").is_visible()
    moved = page.get_by_role("table", name="People who move to another team")
    assert moved.get_by_role("row").nth(1).inner_text().split("\t") == [
        "3", "Benjamin Ode", "ben.ode@example.com", "Sales", "Operations/Customer Care/North"]
    # The preview has written nothing.
    assert count_people(db) == 1

    page.get_by_role("button", name="Apply these changes").click()
    page.get_by_text("Import complete: 3 new, 1 updated, 1 moved, 0 unchanged, 4 teams created.").wait_for()
    screenshot(page, "directory-04-teams-after")
    assert_accessible(page)
    tree = page.locator("ul.tree").first
    assert tree.get_by_role("link", name="Operations").is_visible()
    assert tree.get_by_role("link", name="North").is_visible()
    assert page.get_by_text("2 people", exact=True).first.is_visible()
    assert count_people(db) == 4

    page.get_by_role("navigation", name="Main").get_by_role("link", name="People").click()
    page.get_by_role("heading", name="People").wait_for()
    screenshot(page, "directory-05-people")
    assert_accessible(page)
    assert page.get_by_role("link", name="Benjamin Ode").is_visible()


def test_a_bad_file_in_the_browser_lists_its_lines_accessibly(
        page, live_server, db, make_user, screenshot, tmp_path):
    hr = make_user(Role.HR, email="hr@example.test", name="Hana Reyes")
    csv_path = tmp_path / "bad.csv"
    csv_path.write_text("email,name,team\nana@example.com,Ana,Sales\nnot-an-email,Ben,Sales\n"
                        "cat@example.com,,Sales\n", encoding="utf-8")
    sign_in(page, live_server, db, hr)
    page.goto(f"{live_server}/people/import")
    page.get_by_label("CSV file").set_input_files(str(csv_path))
    page.get_by_role("button", name="Upload and preview").click()
    page.get_by_text("There is a problem").wait_for()
    assert page.title().startswith("Error:")
    screenshot(page, "directory-06-bad-file")
    assert_accessible(page)
    assert page.get_by_role("row", name="4 The name is missing.").is_visible()
    assert count_people(db) == 0


def test_hr_manages_a_team_and_a_leader_sees_their_teams(
        browser, page, live_server, db, make_user, make_team, make_person, screenshot):
    hr = make_user(Role.HR, email="hr@example.test", name="Hana Reyes")
    ops = make_team("Operations")
    care = make_team("Customer Care", parent=ops)
    north = make_team("North", parent=care)
    make_team("Sales")
    for _ in range(3):
        make_person(team=north)
    leader = make_user(Role.LEADER, email="lena@example.test", name="Lena Leader", teams=[care])
    leader_email = leader.email
    sign_in(page, live_server, db, hr)
    page.get_by_role("link", name="Customer Care").click()
    page.get_by_role("heading", name="Customer Care").wait_for()
    screenshot(page, "directory-07-team")
    assert_accessible(page)

    page.get_by_role("button", name="Archive Customer Care").click()
    page.get_by_text("Customer Care still has 1 active team inside it (North).").wait_for()

    page.get_by_role("link", name="Rename or move").click()
    page.get_by_label("Team name").fill("sales")
    page.get_by_label("Part of").select_option(label="Nothing: a top-level team")
    page.get_by_role("button", name="Save changes").click()
    page.get_by_text("There is a problem").wait_for()
    assert page.title().startswith("Error:")
    screenshot(page, "directory-08-team-form-error")
    assert_accessible(page)
    page.get_by_role("link", name="There is already a team called Sales at the top level.").click()
    assert page.evaluate("document.activeElement.id") == "name"
    page.get_by_label("Team name").fill("Customer Service")
    page.get_by_role("button", name="Save changes").click()
    page.get_by_text("Team Customer Service saved.").wait_for()

    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True,
                                  has_touch=True, device_scale_factor=2)
    phone = context.new_page()
    phone.set_default_timeout(10_000)
    phone.goto(f"{live_server}/login")
    phone.get_by_label("E-mail address").fill(leader_email)
    phone.get_by_label("Password").fill(TEST_PASSWORD)
    phone.get_by_role("button", name="Sign in").click()
    phone.get_by_role("heading", name="Your teams").wait_for()
    screenshot(phone, "directory-09-my-teams-phone")
    assert_accessible(phone)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    assert phone.get_by_text("Customer Service", exact=True).is_visible()
    assert phone.get_by_text("North", exact=True).is_visible()
    assert phone.get_by_text("Sales", exact=True).count() == 0
    context.close()


def test_the_people_list_and_preview_fit_a_phone(phone_page, live_server, db, make_user,
                                                 make_team, make_person, screenshot, tmp_path):
    hr = make_user(Role.HR, email="hr@example.test", name="Hana Reyes")
    care = make_team("Customer Care North")
    for n in range(4):
        make_person(team=care, name=f"Person Number {n}", location="Leeds")
    csv_path = tmp_path / "people.csv"
    csv_path.write_text(CSV, encoding="utf-8")
    sign_in(phone_page, live_server, db, hr)
    phone_page.goto(f"{live_server}/people")
    screenshot(phone_page, "directory-10-people-phone")
    assert_accessible(phone_page)
    phone_page.goto(f"{live_server}/people/import")
    phone_page.get_by_label("CSV file").set_input_files(str(csv_path))
    phone_page.get_by_role("button", name="Upload and preview").click()
    phone_page.get_by_role("heading", name="Check the changes before you apply them").wait_for()
    screenshot(phone_page, "directory-11-preview-phone")
    assert_accessible(phone_page)
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 360


def test_adding_a_person_with_a_taken_email_keeps_what_was_typed(
        page, live_server, db, make_user, make_team, make_person, screenshot):
    hr = make_user(Role.HR, email="hr@example.test", name="Hana Reyes")
    sales = make_team("Sales")
    make_person(team=sales, email="ana@example.com", name="Ana Lima")
    sign_in(page, live_server, db, hr)
    page.goto(f"{live_server}/people")
    page.get_by_role("link", name="Add a person").click()
    page.get_by_label("Full name").fill("Another Ana")
    page.get_by_label("E-mail address").fill("ANA@example.com")
    page.get_by_label("Team").select_option(label="Sales")
    page.get_by_label("Location (optional)").fill("Leeds")
    page.get_by_role("button", name="Add person").click()
    page.get_by_text("There is a problem").wait_for()
    screenshot(page, "directory-12-person-form-error")
    assert_accessible(page)
    message = "Someone with this e-mail already exists: Ana Lima in Sales."
    assert page.get_by_role("link", name=message).is_visible()
    assert page.get_by_label("Location (optional)").input_value() == "Leeds"
    page.get_by_label("E-mail address").fill("another.ana@example.com")
    page.get_by_role("button", name="Add person").click()
    page.get_by_text("Another Ana added.").wait_for()
    assert count_people(db) == 2
