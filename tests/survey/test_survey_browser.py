"""The employee's whole journey in Chromium on a 360 px phone."""

import pytest
from sqlalchemy import func, select

from surveyapp.models import Draft, Participation

from ..conftest import assert_accessible
from ..sealed import pending_responses

pytestmark = pytest.mark.browser


def answer_step(page, choice: str) -> None:
    """Choose ``choice`` ("Agree" ...) for every statement on the step, by tapping its label."""
    for fieldset in page.locator("fieldset.statement").all():
        fieldset.get_by_text(choice, exact=True).click()


def test_employee_answers_leaves_comes_back_and_submits_once_on_a_phone(
        browser, live_server, db, open_round, screenshot):
    url = f"{live_server}/s/{open_round.token}"
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True,
                                  has_touch=True, device_scale_factor=2)
    page = context.new_page()
    page.set_default_timeout(10_000)

    page.goto(url)
    screenshot(page, "survey-01-welcome-phone")
    assert_accessible(page)
    # Nothing may be wider than the phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.get_by_role("link", name="Start the survey").click()

    page.get_by_text("Step 1 of 8").wait_for()
    answer_step(page, "Agree")
    screenshot(page, "survey-02-step1-phone")
    assert_accessible(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.get_by_role("button", name="Save and continue").click()

    page.get_by_text("Step 2 of 8").wait_for()
    # Answer one statement only, then close the browser without pressing anything:
    # the script saves on change.
    page.locator("fieldset.statement").first.get_by_text("Strongly agree", exact=True).click()
    page.get_by_text("Your answers are saved.").wait_for()
    context.close()

    # Hours later, a new browser (no cookies) opens the same link and resumes on step 2.
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True,
                                  has_touch=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(url)
    page.get_by_text("Step 2 of 8").wait_for()
    first = page.locator("fieldset.statement").first
    assert first.get_by_label("Strongly agree").is_checked()

    # Keyboard only: Tab into the second statement's group and pick with the arrow keys.
    second = page.locator("fieldset.statement").nth(1)
    second.get_by_label("Strongly disagree").focus()
    page.keyboard.press("ArrowDown")
    assert second.get_by_label("Disagree", exact=True).is_checked()

    page.get_by_role("button", name="Save and continue").click()
    for number in range(3, 8):
        page.get_by_text(f"Step {number} of 8").wait_for()
        answer_step(page, "Neither agree nor disagree")
        page.get_by_role("button", name="Save and continue").click()

    page.get_by_text("Step 8 of 8").wait_for()
    box = page.get_by_label("What would you do to make our service better?")
    box.fill("Let us fix small billing errors on the phone without a ticket.")
    page.get_by_text("You have 1,938 characters remaining.").wait_for()
    screenshot(page, "survey-03-ideas-phone")
    assert_accessible(page)
    page.get_by_role("button", name="Save and continue").click()

    page.get_by_role("heading", name="Check your answers before you submit").wait_for()
    assert page.get_by_text("2 statements have no answer yet.").is_visible()
    screenshot(page, "survey-04-review-phone")
    assert_accessible(page)
    page.get_by_role("button", name="Submit my answers").click()

    page.get_by_role("heading", name="Thank you. Your answers are in.").wait_for()
    screenshot(page, "survey-05-thanks-phone")

    # Back button and submit again: refused, nothing more stored.
    page.go_back()
    page.reload()
    page.get_by_role("heading", name="You have already submitted your answers").wait_for()
    context.close()

    with db.session.no_autoflush:
        assert db.session.scalar(select(func.count()).select_from(Participation)) == 1
        assert db.session.scalar(select(func.count()).select_from(Draft)) == 0
        [pending] = pending_responses()
        assert len(pending["answers"]) == 26
        assert list(pending["comments"].values()) == [
            "Let us fix small billing errors on the phone without a ticket."]


def test_review_links_lead_back_to_the_unanswered_statement(page, live_server, open_round):
    page.goto(f"{live_server}/s/{open_round.token}/review")
    page.get_by_role("link", name="Answer “I picture a task").click()
    page.get_by_text("Step 1 of 8").wait_for()
    assert page.url.endswith("#s-awareness.customer_view")
