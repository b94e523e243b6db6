"""CSRF on every state-changing form, the session cookie, session expiry, and security headers.

CSRF protection is on in the whole suite (tests/conftest.py never turns it off; ``client.submit``
fetches a form's token like a browser). The survey is the one exception, by design: its forms
are exempt from the session-bound token and protected by the link's own 192-bit token and a
same-origin check instead (surveyapp/survey/views.py).
"""

from __future__ import annotations

import re
import time
from datetime import timedelta
from email.utils import parsedate_to_datetime
from http.cookies import SimpleCookie

import pytest
from itsdangerous.timed import TimestampSigner
from sqlalchemy import func, select

from surveyapp import create_app
from surveyapp.analysis.confidentiality import ORGANISATION
from surveyapp.extensions import db as _db
from surveyapp.models import Draft, Invitation, Participation, Round, RoundStatus

from ..conftest import _test_config
from ..sealed import draft_of
from .conftest import INSTRUMENT, signed_in
from .test_authorization_matrix import MATRIX, build_url, fetch, is_survey

pytestmark = pytest.mark.both_databases


EIGHT_HOURS = 8 * 60 * 60


def session_cookie(response) -> SimpleCookie:
    """The ``session`` cookie a response sets, with its attributes."""
    for header in response.headers.getlist("Set-Cookie"):
        cookie = SimpleCookie()
        cookie.load(header)
        if "session" in cookie:
            return cookie
    raise AssertionError("no session cookie set")


def csp_directives(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


# --- CSRF --------------------------------------------------------------------------------------


def test_this_suite_runs_with_csrf_protection_on(app):
    assert app.config.get("WTF_CSRF_ENABLED", True) is True
    assert app.config.get("WTF_CSRF_CHECK_DEFAULT", True) is True


def state_changing_routes(app):
    """Every (rule, first case) of the matrix that takes a POST, the survey's left out."""
    for (rule, method), cases in MATRIX.items():
        if method == "POST" and not is_survey(app, rule):
            yield rule, cases[0]


@pytest.mark.parametrize("token", [None, "not-the-token"], ids=["no token", "wrong token"])
def test_every_state_changing_form_refuses_a_post_without_its_csrf_token(app, world, db, token):
    client = signed_in(app, world.emails["hr"])
    routes = list(state_changing_routes(app))
    assert len(routes) >= 25
    for rule, case in routes:
        url = build_url(rule, case, "hr", world)
        data = {} if token is None else {"csrf_token": token}
        answer = fetch(client, "POST", url, data=data)
        assert answer.status == 400, (url, answer)
        assert "This page has expired" in answer.html, url
    # Nothing was done: the round HR would have closed is still open, and HR is still signed in.
    db.session.rollback()
    assert db.session.get(Round, world.ids["round_to_close"]).status == RoundStatus.OPEN
    assert fetch(client, "GET", "/account/password").status == 200


def test_signing_in_needs_the_forms_csrf_token(app, world):
    client = app.test_client()
    answer = fetch(client, "POST", "/login", data={"email": world.emails["hr"],
                                                   "password": "correct horse battery staple"})
    assert answer.status == 400
    assert fetch(client, "GET", "/account/password").status == 302


def step_url(world, key="employee"):
    return f"/s/{world.tokens[key]}/step/1"


def draft_answers(db, person_id: int) -> dict | None:
    db.session.rollback()
    invitation_id = db.session.scalar(select(Draft.invitation_id).join(Invitation).where(
        Invitation.person_id == person_id))
    return dict(draft_of(invitation_id)["answers"]) if invitation_id else None


def test_the_survey_takes_posts_without_a_csrf_token_from_its_own_pages(client, world, db):
    for origin in (None, "http://localhost"):
        headers = {"Origin": origin} if origin else {}
        answer = fetch(client, "POST", step_url(world), data={"s:" + first_statement(): "4"},
                       headers=headers)
        assert answer.status == 302 and answer.location.endswith("/step/2"), origin
    assert draft_answers(db, world.ids["employee"]) == {first_statement(): 4}


@pytest.mark.parametrize("origin", ["https://evil.example", "http://localhost.evil.example",
                                    "http://localhost:8080"])
def test_the_survey_refuses_cross_origin_posts(client, world, db, origin):
    answer = fetch(client, "POST", step_url(world), data={"s:" + first_statement(): "1"},
                   headers={"Origin": origin})
    assert answer.status == 403
    assert draft_answers(db, world.ids["employee"]) is None
    answer = fetch(client, "POST", f"/s/{world.tokens['submit']}/submit",
                   headers={"Origin": origin})
    assert answer.status == 403
    db.session.rollback()
    submitted = db.session.scalar(select(func.count()).select_from(Participation).where(
        Participation.person_id == world.ids["person"],
        Participation.round_id == world.ids["open_round"]))
    assert submitted == 0


def first_statement() -> str:
    return INSTRUMENT.statement_keys[0]


# --- the session cookie and its lifetime -------------------------------------------------------


def test_the_session_cookie_is_http_only_and_same_site_lax(app, world):
    client = app.test_client()
    token = client.csrf_token("/login")
    response = client.post("/login", data={"csrf_token": token, "email": world.emails["hr"],
                                           "password": "correct horse battery staple"})
    cookie = session_cookie(response)["session"]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    # Development runs on plain HTTP; production insists on HTTPS (below).
    assert not cookie["secure"]
    # No remember-me cookie: a session ends with its lifetime.
    assert not any(h.startswith("remember_token=") for h in response.headers.getlist("Set-Cookie"))


@pytest.fixture
def production_app(app, database_url):
    """The app as configured in production, on the test database."""
    production = create_app({**_test_config(database_url), "ENV": "production"})
    production.test_client_class = app.test_client_class
    yield production
    with production.app_context():
        _db.session.remove()
        _db.engine.dispose()


def test_production_sends_the_session_cookie_over_https_only(production_app, world):
    assert production_app.config["SESSION_COOKIE_SECURE"] is True
    assert production_app.config["REMEMBER_COOKIE_SECURE"] is True
    client = production_app.test_client()
    response = client.get("/login", base_url="https://localhost")
    cookie = session_cookie(response)["session"]
    assert cookie["secure"] is True and cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_a_session_lasts_eight_hours(app, world):
    assert app.permanent_session_lifetime == timedelta(hours=8)
    client = app.test_client()
    token = client.csrf_token("/login")
    before = time.time()
    response = client.post("/login", data={"csrf_token": token, "email": world.emails["hr"],
                                           "password": "correct horse battery staple"})
    # The browser is told to drop the cookie after eight hours...
    expires = session_cookie(response)["session"]["expires"]
    assert abs(parsedate_to_datetime(expires).timestamp() - (before + EIGHT_HOURS)) < 60


@pytest.mark.parametrize(("hours", "signed_in_still"), [(7.9, True), (8.1, False), (72, False)])
def test_the_server_refuses_a_session_older_than_eight_hours(app, world, monkeypatch, hours,
                                                              signed_in_still):
    # ...and the server refuses the cookie itself after eight hours, whatever the browser keeps:
    # sign in now, then move the signer's clock forward.
    client = signed_in(app, world.emails["hr"])
    assert fetch(client, "GET", "/account/password").status == 200
    later = int(time.time() + hours * 3600)
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: later)
    answer = fetch(client, "GET", "/account/password")
    if signed_in_still:
        assert answer.status == 200
    else:
        assert answer.status == 302 and answer.location == "/login"


# --- headers -----------------------------------------------------------------------------------


def test_every_page_sends_a_strict_content_security_policy(client):
    csp = client.get("/").headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert "frame-ancestors 'none'" in csp


def test_every_page_forbids_sniffing_and_framing(client):
    headers = client.get("/healthz").headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"


def test_pages_have_no_inline_scripts_or_styles(client):
    page = client.get("/").get_data(as_text=True)
    assert "<script>" not in page and " style=" not in page and "<style" not in page


def every_kind_of_page(world):
    """(actor, url) of a page of each kind: public, HR, leader, survey, reports, exports."""
    closed, team_a = world.ids["closed_round"], world.ids["team_a"]
    token = world.tokens["employee"]
    return [
        (None, "/"), (None, "/login"), (None, "/healthz"), (None, "/static/app.css"),
        (None, "/nowhere"), ("hr", "/teams"), ("hr", "/people"), ("hr", "/rounds"),
        ("hr", f"/rounds/{world.ids['open_round']}"), ("hr", f"/rounds/{world.ids['open_round']}/links"),
        ("leader_a", "/my-teams"), ("leader_a", f"/reports/{closed}/{team_a}"),
        ("leader_a", f"/reports/{closed}/{team_a}/aggregates.csv"),
        ("leader_a", f"/reports/{closed}/{team_a}/report.pdf"),
        ("hr", f"/reports/{closed}/{ORGANISATION}"), ("leader_b", f"/reports/{closed}/{team_a}"),
        ("employee", f"/s/{token}"), ("employee", f"/s/{token}/step/1"),
        ("employee", f"/s/{token}/review"), ("employee", "/s/" + "A" * 32),
    ]


def test_every_response_sends_the_security_headers(app, world):
    clients = {}
    for actor, url in every_kind_of_page(world):
        if actor not in clients:
            clients[actor] = signed_in(app, world.emails.get(actor))
        response = clients[actor].get(url)
        response.close()
        headers = response.headers
        csp = csp_directives(headers["Content-Security-Policy"])
        assert csp["script-src"] == ["'self'"], url
        assert csp["default-src"] == ["'self'"], url
        assert csp["frame-ancestors"] == ["'none'"], url
        assert csp["object-src"] == ["'none'"] and csp["base-uri"] == ["'none'"], url
        assert not any("unsafe" in v for values in csp.values() for v in values), url
        assert headers["X-Content-Type-Options"] == "nosniff", url
        assert headers["X-Frame-Options"] == "DENY", url


def test_html_pages_carry_no_inline_script_or_event_handler(app, world):
    clients = {}
    for actor, url in every_kind_of_page(world):
        if actor not in clients:
            clients[actor] = signed_in(app, world.emails.get(actor))
        response = clients[actor].get(url)
        if response.mimetype != "text/html":
            response.close()
            continue
        page = response.get_data(as_text=True)
        for tag in re.findall(r"<script\b[^>]*>", page):
            assert "src=" in tag, (url, tag)
        assert not re.search(r"<[^>]+\son[a-z]+\s*=", page), url
        assert "javascript:" not in page, url


def test_survey_pages_send_no_referrer_and_are_not_stored(app, client, world):
    """The token is in every survey URL: no page, redirect or error of it may pass it on."""
    token, done, submit = world.tokens["employee"], world.tokens["done"], world.tokens["submit"]
    requests = [
        ("GET", f"/s/{token}"), ("GET", f"/s/{token}/step/1"), ("GET", f"/s/{token}/review"),
        ("GET", f"/s/{done}/thanks"), ("GET", f"/s/{token}/thanks"), ("GET", "/s/" + "A" * 32),
        ("GET", f"/s/{token}/step/99"), ("POST", f"/s/{token}/step/1"),
        ("POST", f"/s/{token}/step/1?bad"), ("POST", f"/s/{submit}/submit"),
    ]
    for method, url in requests:
        data = {"s:" + first_statement(): "9"} if url.endswith("?bad") else {}
        response = client.open(url, method=method, data=data)
        response.close()
        assert response.headers["Referrer-Policy"] == "no-referrer", (method, url)
        assert response.headers["Cache-Control"] == "no-store", (method, url)


def test_pages_outside_the_survey_keep_the_referrer_on_this_site(client):
    assert client.get("/login").headers["Referrer-Policy"] == "same-origin"


@pytest.mark.parametrize("suffix", ["", "/aggregates.csv", "/report.pdf"])
@pytest.mark.parametrize("actor", ["leader_a", "hr"])
def test_reports_and_their_exports_are_never_stored(app, world, actor, suffix):
    client = signed_in(app, world.emails[actor])
    url = f"/reports/{world.ids['closed_round']}/{world.ids['team_a']}{suffix}"
    response = client.get(url)
    response.close()
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


def test_refused_reports_are_not_stored_either(app, world):
    client = signed_in(app, world.emails["leader_b"])
    response = client.get(f"/reports/{world.ids['closed_round']}/{world.ids['team_a']}/report.pdf")
    assert response.status_code == 403
    assert response.headers["Cache-Control"] == "no-store"


def test_the_links_export_is_never_stored(app, world):
    client = signed_in(app, world.emails["hr"])
    response = client.submit(f"/rounds/{world.ids['open_round']}/links")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("actor, url", [
    ("hr", "/teams"), ("hr", "/people"), ("hr", "/rounds"), ("hr", "/users"),
    ("hr", "/account/password"), ("leader_a", "/my-teams"), ("leader_a", "/account/password"),
])
def test_every_signed_in_page_is_never_stored(app, world, actor, url):
    """Staff pages name people, teams and rates: no shared cache or back button keeps them."""
    response = signed_in(app, world.emails[actor]).get(url)
    assert response.status_code == 200, url
    assert response.headers["Cache-Control"] == "no-store"


def test_static_files_and_signed_out_pages_keep_their_own_caching(app, client, world):
    assert client.get("/login").headers.get("Cache-Control") != "no-store"
    staff = signed_in(app, world.emails["hr"])
    response = staff.get("/static/app.css")
    response.close()
    assert response.status_code == 200
    assert response.headers.get("Cache-Control") != "no-store"
