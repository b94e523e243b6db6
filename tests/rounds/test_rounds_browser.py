"""HR creates a round, checks it, launches it and watches it, in Chromium."""

import pytest
from sqlalchemy import func, select

from surveyapp.models import Invitation, Role

from ..conftest import TEST_PASSWORD, assert_accessible

pytestmark = pytest.mark.browser


def end_transaction(db) -> None:
    """Let go of SQLite's write lock (tests take it on their first read) for the live server."""
    db.session.commit()


def sign_in(page, live_server, email):
    page.goto(f"{live_server}/login")
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password]").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login" not in url)


def test_hr_creates_previews_launches_and_watches_a_round(
        live_server, page, db, org, make_user, screenshot):
    make_user(Role.HR, email="hana@example.test")
    end_transaction(db)
    sign_in(page, live_server, "hana@example.test")

    page.goto(f"{live_server}/rounds")
    page.get_by_text("No rounds yet.").wait_for()
    screenshot(page, "rounds-01-empty")
    assert_accessible(page)
    page.get_by_role("link", name="Create a round").click()

    # A first try with no name and no team: the errors are summarised and shown at the fields.
    page.get_by_role("button", name="Save the draft round").click()
    page.get_by_text("There is a problem").wait_for()
    assert page.title().startswith("Error:")
    screenshot(page, "rounds-02-form-errors")
    assert_accessible(page)

    page.get_by_label("Name of the round").fill("Autumn 2026")
    page.get_by_label("Operations / Customer Care / North").check()
    page.get_by_label("Sales", exact=True).check()
    page.get_by_label("Minimum group size for comments").fill("6")
    screenshot(page, "rounds-03-form-filled")
    page.get_by_role("button", name="Save the draft round").click()

    page.get_by_role("heading", name="Autumn 2026").wait_for()
    page.get_by_text("10 people in 2 teams").wait_for()
    screenshot(page, "rounds-04-draft")
    assert_accessible(page)

    page.get_by_role("link", name="Preview the survey").click()
    page.get_by_text("This is what employees see").wait_for()
    screenshot(page, "rounds-05-preview")
    page.get_by_role("link", name="Back to the round").click()

    page.get_by_role("link", name="Edit the statements").click()
    page.get_by_role("heading", name="Edit the statements").wait_for()
    screenshot(page, "rounds-06-statements")
    assert_accessible(page)
    page.get_by_label("Add a statement (Allow for empathy)").fill(
        "I thank customers for their patience.")
    page.get_by_role("button", name="Save the statements").click()
    page.get_by_text("The statements are saved.").wait_for()
    page.get_by_text("1 added").wait_for()

    page.get_by_role("link", name="Launch round").click()
    page.get_by_text("10 people in 2 teams will be invited.").wait_for()
    # North (4 people) can never reach the minimum of 5: HR is told before launching.
    page.get_by_role("heading", name="1 team has fewer than 5 people to invite").wait_for()
    page.get_by_text("their answers count only in the groups above them").wait_for()
    screenshot(page, "rounds-07-launch-confirm")
    assert_accessible(page)
    page.get_by_role("button", name="Launch and invite 10 people").click()

    page.get_by_text("is open and 10 people are invited").wait_for()
    page.get_by_role("button", name="Send 10 invitations").wait_for()
    screenshot(page, "rounds-08-open")
    assert_accessible(page)
    assert db.session.scalar(select(func.count(Invitation.id))) == 10
    end_transaction(db)

    page.get_by_role("button", name="Send 10 invitations").click()
    page.get_by_text("Sending 10 invitations: this page shows the progress.").wait_for()
    assert_accessible(page)  # the progress, if the page came before the batch was done
    for _ in range(50):  # the batch runs once the request has ended: reload as HR would
        if page.get_by_text("All 10 invitations have been e-mailed.").count():
            break
        page.wait_for_timeout(100)
        page.reload()
    page.get_by_text("All 10 invitations have been e-mailed.").wait_for()
    screenshot(page, "rounds-09-sent")
    assert_accessible(page)

    page.get_by_role("link", name="Download the links…").click()
    page.get_by_role("heading", name="Anyone holding a link can answer as that person").wait_for()
    screenshot(page, "rounds-10-links-confirm")
    assert_accessible(page)
    page.get_by_role("link", name="Cancel").click()

    page.get_by_role("link", name="All rounds").click()
    page.get_by_role("link", name="Autumn 2026").wait_for()
    screenshot(page, "rounds-10-list")
    assert_accessible(page)


def test_the_open_round_page_fits_a_phone(live_server, phone_page, db, org, make_user,
                                          make_round, screenshot):
    make_user(Role.HR, email="hana@example.test")
    round_id = make_round([org.ops, org.sales], launched=True).id
    end_transaction(db)
    sign_in(phone_page, live_server, "hana@example.test")
    phone_page.goto(f"{live_server}/rounds/{round_id}")
    phone_page.get_by_role("heading", name="Response rate by team").wait_for()
    screenshot(phone_page, "rounds-11-open-phone")
    assert_accessible(phone_page)
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 360


def test_hr_sees_the_refused_addresses_and_sends_again_after_correcting_one(
        live_server, page, db, org, make_user, make_round, smtp, screenshot):
    make_user(Role.HR, email="hana@example.test")
    url = f"{live_server}/rounds/{make_round([org.sales], launched=True).id}"
    wrong = org.people[9]
    wrong_id, wrong_name = wrong.id, wrong.name
    smtp.refused = {wrong.email}
    end_transaction(db)
    sign_in(page, live_server, "hana@example.test")
    page.goto(url)
    page.get_by_role("button", name="Send 6 invitations").click()
    page.get_by_text("The mail server refused 1 address:").wait_for()
    screenshot(page, "rounds-refused-address")
    assert_accessible(page)
    page.get_by_role("link", name=wrong_name).click()
    page.wait_for_url(f"{live_server}/people/{wrong_id}")
    page.get_by_label("E-mail").fill("corrected@example.test")
    page.get_by_role("button", name="Save").click()
    page.goto(url)
    page.get_by_role("button", name="Resume sending: 1 left").click()
    page.get_by_text("All 6 invitations have been e-mailed.").wait_for()
    assert "corrected@example.test" in smtp.to()
