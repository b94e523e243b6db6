"""The application shell: start page, health check and error pages."""

from __future__ import annotations

import os
import re

import pytest
from flask import abort, request

from surveyapp import create_app
from surveyapp.extensions import db
from surveyapp.models import Role, Team

from .conftest import assert_accessible


def test_start_page_invites_staff_to_sign_in(client):
    response = client.get("/")

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'href="/login"' in page
    assert "personal link" in page


NAV_LINK_RE = re.compile(r'<nav class="site-nav".*?<ul>(.*?)</ul>', re.S)


def nav_labels(page: str) -> list[str]:
    return re.findall(r">([^<]+)</a>", NAV_LINK_RE.search(page).group(1))


def test_hr_navigation_offers_every_hr_section(client, hr):
    page = client.get("/no-such-page").get_data(as_text=True)

    assert nav_labels(page) == ["Rounds", "Teams", "People", "Import", "Staff accounts", "Results"]


def test_leader_navigation_offers_only_their_teams_and_results(client, auth, make_user):
    auth.login_as(make_user(Role.LEADER))

    page = client.get("/no-such-page").get_data(as_text=True)

    assert nav_labels(page) == ["My teams", "Results"]


def test_visitors_get_no_navigation(client):
    page = client.get("/no-such-page").get_data(as_text=True)

    assert 'class="site-nav"' not in page


# --- /healthz ----------------------------------------------------------------------------------


def test_healthz_answers_ok_when_the_database_answers(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "up"}


@pytest.mark.parametrize("unreachable", [
    "sqlite:////nonexistent-folder/surveyapp.sqlite3",
    "postgresql+psycopg://nobody@/surveyapp?host=/nonexistent-folder&connect_timeout=2",
])
def test_healthz_answers_503_when_the_database_does_not(unreachable, tmp_path, monkeypatch):
    for key in list(os.environ):
        if key.startswith("SURVEYAPP_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("SURVEYAPP_INSTANCE_PATH", str(tmp_path))
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": unreachable,
                      "QUEUE_URL": "immediate"})

    response = app.test_client().get("/healthz")

    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "database": "down"}


# --- Error pages -------------------------------------------------------------------------------


def test_unknown_address_gets_a_404_page_in_the_site_layout(client):
    response = client.get("/no-such-page")

    page = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "<title>Page not found – Northwind Services</title>" in page
    assert 'class="site-header"' in page
    assert "check it" in page
    assert 'href="/"' in page


def test_a_method_the_page_does_not_take_gets_a_405_page(client):
    response = client.delete("/healthz")

    assert response.status_code == 405
    assert "That action is not allowed here" in response.get_data(as_text=True)


def test_a_form_without_its_security_token_gets_a_400_page_that_says_what_to_do(client):
    response = client.post("/logout")

    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "reload the page" in page


def test_forbidden_gets_a_403_page_that_says_whom_to_ask(app, client):
    @app.get("/_forbidden")
    def forbidden():
        abort(403)

    response = client.get("/_forbidden")

    assert response.status_code == 403
    assert "ask your HR team" in response.get_data(as_text=True)


def test_a_too_large_upload_gets_a_413_page_with_the_configured_limit(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 2 * 1024 * 1024

    @app.post("/_upload")
    def upload():
        return request.form["text"]

    response = client.post("/_upload", data="text=" + "x" * (3 * 1024 * 1024),
                           content_type="application/x-www-form-urlencoded")

    assert response.status_code == 413
    assert "Files up to 2 MB can be uploaded." in response.get_data(as_text=True)


@pytest.fixture
def failing_view(app):
    """/_boom stores a team, then fails before the view commits."""
    app.config["PROPAGATE_EXCEPTIONS"] = False  # TESTING would re-raise instead of a 500 page

    @app.get("/_boom")
    def boom():
        db.session.add(Team(name="Half-made team"))
        db.session.flush()
        raise RuntimeError("boom")

    return "/_boom"


def test_an_unexpected_error_gets_a_500_page_in_the_site_layout(client, failing_view):
    response = client.get(failing_view)

    page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Sorry, something went wrong on our side" in page
    assert 'class="site-header"' in page
    assert "boom" not in page  # no internals on the page


def test_an_unexpected_error_rolls_back_the_session(client, failing_view, monkeypatch):
    rollbacks = []
    real_rollback = db.session.rollback

    def spy():
        rollbacks.append(True)
        real_rollback()

    monkeypatch.setattr(db.session, "rollback", spy)

    client.get(failing_view)

    assert rollbacks == [True]


# --- In a real browser ---------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.parametrize("path", ["/", "/no-such-page"])
def test_start_and_error_pages_are_accessible_on_desktop_and_phone(
    live_server, page, phone_page, screenshot, path
):
    name = "start" if path == "/" else "not-found"
    for viewport, tab in (("desktop", page), ("phone", phone_page)):
        tab.goto(live_server + path)

        assert_accessible(tab)
        assert tab.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), viewport
        screenshot(tab, f"{name}-{viewport}")


@pytest.mark.browser
def test_footer_sits_at_the_bottom_of_a_short_page(live_server, page):
    page.goto(live_server + "/no-such-page")

    footer_bottom = page.evaluate(
        "document.querySelector('.site-footer').getBoundingClientRect().bottom"
    )
    assert footer_bottom == pytest.approx(800, abs=1)
