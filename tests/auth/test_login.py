"""Signing in and out: messages, sessions, redirects after sign-in."""

import re

import pytest

from surveyapp.auth import operations
from surveyapp.auth.views import safe_next
from surveyapp.models import Role

from ..conftest import TEST_PASSWORD

WRONG = "The e-mail address or the password is not right. Check both and try again."


def page_of(response) -> str:
    return response.get_data(as_text=True)


def test_login_page_asks_for_email_and_password(client):
    page = page_of(client.get("/login"))

    assert "<title>Sign in – Northwind Services</title>" in page
    assert 'autocomplete="username"' in page
    assert 'autocomplete="current-password"' in page
    assert "Ask your HR team" in page


def test_right_email_and_password_sign_in_and_go_to_the_start_page(client, auth, make_user):
    user = make_user(Role.HR)

    response = auth.login(user.email)

    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert client.get("/users").status_code == 200


def test_the_email_is_matched_whatever_its_case_and_surrounding_spaces(client, auth, make_user):
    user = make_user(Role.HR, email="grace@example.org")

    response = auth.login("  Grace@Example.ORG ")

    assert response.status_code == 302
    assert client.get("/users").status_code == 200
    assert user.email == "grace@example.org"


def test_a_session_lasts_the_configured_lifetime_and_sets_no_remember_cookie(app, client, auth,
                                                                             make_user):
    response = auth.login(make_user().email)

    cookies = response.headers.getlist("Set-Cookie")
    assert any(c.startswith("session=") and "Expires=" in c for c in cookies)
    assert not any(c.startswith("remember_token=") for c in cookies)
    with client.session_transaction() as session:
        assert session.permanent
        assert "_remember" not in session


def test_signing_in_starts_a_new_session_with_a_new_form_token_already_in_it(client, auth,
                                                                            make_user):
    user = make_user()
    client.get("/login")
    with client.session_transaction() as session:
        before = dict(session)

    auth.login(user.email)

    with client.session_transaction() as session:
        # Made during the sign-in itself, so that the pages the browser then loads in
        # parallel share one token instead of each making their own.
        assert session["csrf_token"] != before["csrf_token"]
        assert set(session) >= {"_user_id", "_fresh", "_id", "csrf_token"}


def test_signing_in_records_the_time(db, auth, make_user):
    user = make_user()

    auth.login(user.email)

    db.session.refresh(user)
    assert user.last_login_at is not None


def test_unknown_email_and_wrong_password_get_the_same_page(client, auth, make_user):
    make_user(email="known@example.org")

    wrong_password = page_of(auth.login("known@example.org", "not the password"))
    unknown_email = page_of(auth.login("nobody@example.org", "not the password"))

    def neutral(page):
        page = re.sub(r'value="[^"]*"', 'value=""', page)  # CSRF tokens and the typed e-mail
        return page
    assert WRONG in wrong_password
    assert neutral(wrong_password) == neutral(unknown_email)


def test_an_unknown_email_spends_the_time_of_a_password_check(auth, monkeypatch):
    burned = []
    monkeypatch.setattr(operations, "burn_verification_time", burned.append)

    auth.login("nobody@example.org", "a guess")

    assert burned == ["a guess"]


def test_a_wrong_password_shows_the_error_beside_the_password_and_keeps_the_email(auth, make_user):
    make_user(email="known@example.org")

    page = page_of(auth.login("known@example.org", "not the password"))

    assert "<title>Error: Sign in" in page
    assert "There is a problem" in page
    assert f'<a href="#password">{WRONG}</a>' in page
    assert 'id="password-error"' in page
    assert 'value="known@example.org"' in page


def test_empty_fields_are_named_in_the_error_summary(auth):
    page = page_of(auth.login("", ""))

    assert '<a href="#email">Enter your e-mail address.</a>' in page
    assert '<a href="#password">Enter your password.</a>' in page


def test_a_deactivated_user_cannot_sign_in_even_with_the_right_password(client, db, auth, make_user):
    user = make_user()
    user.is_active_account = False
    db.session.commit()

    response = auth.login(user.email)

    assert response.status_code == 200
    assert "This account has been deactivated" in page_of(response)
    assert client.get("/users").status_code == 302


def test_a_deactivated_user_with_a_wrong_password_gets_the_usual_message(db, auth, make_user):
    user = make_user()
    user.is_active_account = False
    db.session.commit()

    page = page_of(auth.login(user.email, "not the password"))

    assert WRONG in page
    assert "deactivated" not in page


def test_a_hash_made_with_older_parameters_is_replaced_at_sign_in(app, db, auth, make_user):
    user = make_user()
    old_hash = user.password_hash
    app.config["PASSWORD_HASH_TIME_COST"] += 1

    auth.login(user.email)

    db.session.refresh(user)
    assert user.password_hash != old_hash
    assert not operations.needs_rehash(user.password_hash)
    assert operations.verify_password(user.password_hash, TEST_PASSWORD)


def test_a_current_hash_is_left_alone_at_sign_in(db, auth, make_user):
    user = make_user()
    old_hash = user.password_hash

    auth.login(user.email)

    db.session.refresh(user)
    assert user.password_hash == old_hash


# --- ?next= -------------------------------------------------------------------------------------


def test_a_protected_page_sends_an_anonymous_visitor_to_sign_in_and_back(client, auth, make_user):
    user = make_user()

    first = client.get("/users?page=1")
    assert first.status_code == 302
    login_url = first.headers["Location"]
    assert login_url.startswith("/login?next=")
    response = client.submit(login_url, {"email": user.email, "password": TEST_PASSWORD})

    assert response.headers["Location"] == "/users?page=1"


def test_the_login_form_posts_back_with_its_next(client):
    page = page_of(client.get("/login?next=/users"))

    assert 'action="/login?next=/users"' in page


@pytest.mark.parametrize("target", [
    "https://evil.example/", "//evil.example/", "/\\evil.example", "\\\\evil.example",
    "/\t/evil.example", "javascript:alert(1)", "http:/evil.example", "evil.example", " /users",
    "/\n/evil.example", "",
])
def test_next_outside_this_site_is_ignored(client, make_user, target):
    user = make_user()

    response = client.submit("/login", {"email": user.email, "password": TEST_PASSWORD},
                             query_string={"next": target})

    assert response.headers["Location"] == "/"


@pytest.mark.parametrize("target,expected", [
    ("/users", "/users"),
    ("/reports/3/4?x=1#top", "/reports/3/4?x=1#top"),
    ("//evil.example", None),
    ("/\\evil.example", None),
    ("https://evil.example", None),
    ("/ok\r\nSet-Cookie: x", None),
    (None, None),
])
def test_safe_next_accepts_only_paths_on_this_site(target, expected):
    assert safe_next(target) == expected


def test_a_signed_in_user_opening_the_login_page_is_sent_on(client, hr):
    response = client.get("/login?next=/users")

    assert response.status_code == 302
    assert response.headers["Location"] == "/users"


# --- Signing out --------------------------------------------------------------------------------


def test_signing_out_ends_the_session_and_says_so(client, auth, hr):
    response = auth.logout()

    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert "You have signed out." in page_of(client.get("/login"))
    assert client.get("/users").status_code == 302


def test_a_session_cookie_copied_before_signing_out_no_longer_works(app, client, auth, hr):
    """Whoever copied the cookie (a shared computer, a proxy's log) cannot go on as HR."""
    assert client.get("/users").status_code == 200
    copied = client.get_cookie("session").value
    thief = app.test_client()
    thief.set_cookie("session", copied)
    assert thief.get("/users").status_code == 200

    auth.logout()

    assert thief.get("/users").status_code == 302  # to the sign-in page
    assert auth.login(hr.email).status_code == 302  # signing in again works
    assert client.get("/users").status_code == 200


def test_signing_out_needs_a_post_with_the_form_token(client, hr):
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    assert client.get("/users").status_code == 200


def test_the_header_of_a_signed_in_page_has_the_sign_out_button(client, hr):
    page = page_of(client.get("/account/password"))

    assert 'action="/logout"' in page
    assert "Sign out" in page



def test_a_remember_me_cookie_signs_no_one_in(app, client, hr):
    """The application offers no remember-me: a cookie in Flask-Login's format, even one signed
    with the secret key, is no way in."""
    from flask_login.utils import encode_cookie

    with app.test_request_context():
        remembered = encode_cookie(hr.get_id())
    stranger = app.test_client()
    stranger.set_cookie(app.config.get("REMEMBER_COOKIE_NAME", "remember_token"), remembered)

    assert stranger.get("/users").status_code == 302  # to the sign-in page
    assert client.get("/users").status_code == 200  # a session from signing in still works
