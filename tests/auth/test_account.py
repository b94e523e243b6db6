"""The account page: changing one's own password, and sessions that a change ends."""

import pytest

from surveyapp.auth.operations import load_user
from surveyapp.auth.passwords import verify_password
from surveyapp.models import Role

from ..conftest import TEST_PASSWORD, AuthActions

NEW = "lantern orchard velvet"


def change(client, current=TEST_PASSWORD, new=NEW, confirm=None):
    return client.submit("/account/password", {
        "current_password": current, "password": new,
        "confirm": new if confirm is None else confirm,
    })


def test_the_account_page_needs_a_signed_in_user(client):
    response = client.get("/account/password")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_the_account_page_shows_who_you_are_and_the_teams_you_lead(client, auth, make_user,
                                                                  make_team):
    care = make_team("Customer Care", parent=make_team("Operations"))
    auth.login_as(make_user(Role.LEADER, name="Rahul Mehta", email="rahul@example.org",
                            teams=[care]))

    page = client.get("/account/password").get_data(as_text=True)

    assert "Rahul Mehta" in page and "rahul@example.org" in page
    assert "Operations/Customer Care" in page
    assert 'autocomplete="new-password"' in page


def test_changing_the_password_keeps_this_session_and_the_new_password_works(client, db, hr):
    response = change(client)

    assert response.status_code == 302
    assert "Your password has been changed." in client.get("/account/password").get_data(
        as_text=True)
    assert client.get("/users").status_code == 200
    db.session.refresh(hr)
    assert verify_password(hr.password_hash, NEW)
    assert not verify_password(hr.password_hash, TEST_PASSWORD)


def test_changing_the_password_signs_out_every_other_session(app, client, hr):
    other = app.test_client()  # a second browser, signed in too
    AuthActions(other).login_as(hr)
    assert other.get("/users").status_code == 200

    change(client)

    assert other.get("/users").status_code == 302
    assert client.get("/users").status_code == 200


def test_changing_the_password_bumps_the_session_version(db, client, hr):
    before = hr.session_version

    change(client)

    db.session.refresh(hr)
    assert hr.session_version == before + 1


def test_a_wrong_current_password_changes_nothing_and_says_so(client, db, hr):
    response = change(client, current="not my password")

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<a href="#current_password">Your current password is not right.</a>' in page
    assert "<title>Error: Your account" in page
    db.session.refresh(hr)
    assert verify_password(hr.password_hash, TEST_PASSWORD)


def test_wrong_current_passwords_are_throttled_like_sign_ins(client, hr):
    for _ in range(5):
        change(client, current="not my password")

    response = change(client)

    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in response.get_data(as_text=True)


@pytest.mark.parametrize("weak,message", [
    ("short", "Your password must be at least 8 characters long."),
    ("password1", "Choose a less common password."),
])
def test_a_weak_new_password_is_refused_with_the_policy(client, db, hr, weak, message):
    response = change(client, new=weak)

    page = response.get_data(as_text=True)
    assert message in page
    assert 'href="#password"' in page
    db.session.refresh(hr)
    assert verify_password(hr.password_hash, TEST_PASSWORD)


def test_a_new_password_made_of_ones_own_name_is_refused(client, hr):
    page = change(client, new="HanaReyes").get_data(as_text=True)

    assert "Choose a less common password." in page


def test_two_different_new_passwords_are_refused(client, hr):
    page = change(client, confirm=NEW + "x").get_data(as_text=True)

    assert "The two passwords are not the same." in page


# --- The user loader ------------------------------------------------------------------------------


def test_the_loader_accepts_the_current_id_and_version(db, make_user):
    user = make_user()

    assert load_user(user.get_id()) == user


@pytest.mark.parametrize("session_id", ["", "1", "1:", ":1", "x:1", "1:x", "1:1:1", "1.5:1"])
def test_the_loader_refuses_a_malformed_id(db, make_user, session_id):
    make_user()

    assert load_user(session_id) is None


def test_the_loader_refuses_an_old_session_version(db, make_user):
    user = make_user()
    old_id = user.get_id()
    user.session_version += 1
    db.session.commit()

    assert load_user(old_id) is None


def test_the_loader_refuses_a_deactivated_user(db, make_user):
    user = make_user()
    user.is_active_account = False
    db.session.commit()

    assert load_user(user.get_id()) is None


def test_the_loader_refuses_an_unknown_user(db):
    assert load_user("9999:1") is None
