"""Password hashing (argon2id at OWASP strength) and the password policy."""

import pytest
from argon2 import PasswordHasher, extract_parameters
from argon2.low_level import Type

from surveyapp.auth.passwords import (
    burn_verification_time,
    hash_password,
    needs_rehash,
    password_problems,
    verify_password,
)
from surveyapp.config import DEFAULTS


def test_default_parameters_meet_owasps_argon2id_minimum():
    # OWASP Password Storage Cheat Sheet: argon2id with at least 19 MiB, 2 iterations, 1 lane.
    assert DEFAULTS["PASSWORD_HASH_MEMORY_COST"] >= 19 * 1024
    assert DEFAULTS["PASSWORD_HASH_TIME_COST"] >= 2
    assert DEFAULTS["PASSWORD_HASH_PARALLELISM"] >= 1


def test_hash_is_argon2id_with_the_configured_parameters(app):
    app.config.update(PASSWORD_HASH_TIME_COST=2, PASSWORD_HASH_MEMORY_COST=19 * 1024,
                      PASSWORD_HASH_PARALLELISM=1)
    with app.app_context():
        params = extract_parameters(hash_password("a long enough password"))

    assert (params.type, params.time_cost, params.memory_cost, params.parallelism) == (
        Type.ID, 2, 19 * 1024, 1)


def test_hash_never_contains_the_password_and_differs_each_time(app):
    with app.app_context():
        first, second = hash_password("tangerine harbour"), hash_password("tangerine harbour")

    assert "tangerine" not in first
    assert first != second


def test_verify_accepts_the_password_and_refuses_any_other(app):
    with app.app_context():
        stored = hash_password("tangerine harbour")

        assert verify_password(stored, "tangerine harbour")
        assert not verify_password(stored, "tangerine harbour ")
        assert not verify_password(stored, "")


def test_verify_refuses_rather_than_raises_for_a_broken_hash(app):
    with app.app_context():
        assert not verify_password("not-a-hash", "anything")


def test_a_hash_made_with_weaker_parameters_needs_a_rehash(app):
    with app.app_context():
        weak = hash_password("tangerine harbour")
        app.config["PASSWORD_HASH_TIME_COST"] += 1

        assert needs_rehash(weak)
        assert not needs_rehash(hash_password("tangerine harbour"))


def test_burning_verification_time_runs_a_real_verification_at_todays_parameters(app, monkeypatch):
    # An unknown e-mail must take as long as a wrong password: one argon2 verification, of a
    # hash made with the parameters real hashes are made with now, whatever is typed.
    verified = []
    real_verify = PasswordHasher.verify

    def verify(hasher, password_hash, password):
        verified.append((extract_parameters(password_hash).time_cost, password))
        return real_verify(hasher, password_hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", verify)
    with app.app_context():
        time_cost = app.config["PASSWORD_HASH_TIME_COST"]
        burn_verification_time("")
        app.config["PASSWORD_HASH_TIME_COST"] += 1
        burn_verification_time("not-a-real-password")

    assert verified == [(time_cost, ""), (time_cost + 1, "not-a-real-password")]


@pytest.mark.parametrize("password", ["short", "1234567"])
def test_a_password_under_8_characters_is_refused(password):
    assert password_problems(password) == ["Your password must be at least 8 characters long."]


@pytest.mark.parametrize("password", ["password", "password1", "12345678", "qwertyuiop", "iloveyou"])
def test_a_common_password_is_refused_with_advice(password):
    (problem,) = password_problems(password)

    assert problem.startswith("Choose a less common password.")
    assert "A few unrelated words together make a strong one." in problem


def test_a_password_made_of_the_persons_own_name_and_email_is_refused():
    assert password_problems("mia.chen2024", email="mia.chen@example.org", name="Mia Chen")


@pytest.mark.parametrize("password", ["HanaReyes", "hana.reyes1", "reyeshana"])
def test_a_password_made_of_the_persons_name_in_any_form_is_refused(password):
    assert password_problems(password, email="hana.reyes@example.org", name="Hana Reyes")


def test_a_password_over_128_characters_is_refused():
    assert password_problems("x" * 129) == ["Your password must be 128 characters or fewer."]


def test_a_few_unrelated_words_are_accepted():
    assert password_problems("purple monkey dishwasher") == []


@pytest.mark.parametrize("password", ["Summer2026!", "Winter2025?", "Welcome2026!", "2026Spring!",
                                      "Password#1", "Football99!!"])
def test_a_word_dressed_with_a_year_digits_or_symbols_is_refused(password):
    (problem,) = password_problems(password)

    assert "A word with a year, digits or symbols added" in problem
    assert "A few unrelated words together make a strong one." in problem


@pytest.mark.parametrize("password", ["Northwind2026!", "northwind services 1", "Services2026"])
def test_a_password_built_on_the_organisations_name_is_refused(password):
    problems = password_problems(password, organisation="Northwind Services")

    assert problems
    assert "Northwind2026!" in problems[0]  # the example speaks of this organisation


@pytest.mark.parametrize("password", ["purple monkey dishwasher 7", "Granite-Otter-Lantern!",
                                      "correct horse battery staple"])
def test_words_that_are_hard_to_guess_may_carry_digits_and_symbols(password):
    assert password_problems(password, organisation="Northwind Services") == []


def test_hr_cannot_give_an_account_the_organisations_name_as_a_password(app, client, hr):
    password = f"{app.config['ORGANISATION_NAME'].split()[0]}2026!"
    page = client.submit("/users/new", {
        "name": "Lee Park", "email": "lee.park@example.org", "role": "hr",
        "password": password, "confirm": password,
    }).get_data(as_text=True)

    assert "is among the first guesses of any attack" in page
