"""``flask --app surveyapp create-admin``."""

from sqlalchemy import func, select

from surveyapp.auth.passwords import verify_password
from surveyapp.models import Role, User

from ..conftest import AuthActions

GOOD = "lantern orchard velvet"


def users(db) -> list[User]:
    return db.session.scalars(select(User)).all()


def test_create_admin_asks_for_the_password_twice_and_creates_an_hr_admin(runner, db):
    result = runner.invoke(args=["create-admin", "--email", "Grace@Example.org",
                                 "--name", "Grace Mensah"], input=f"{GOOD}\n{GOOD}\n")

    assert result.exit_code == 0, result.output
    assert "Password:" in result.output and "Type it again:" in result.output
    assert GOOD not in result.output  # hidden input
    assert "HR admin Grace Mensah <grace@example.org> created." in result.output
    (user,) = users(db)
    assert (user.email, user.name, user.role, user.is_active) == (
        "grace@example.org", "Grace Mensah", Role.HR, True)
    assert verify_password(user.password_hash, GOOD)


def test_the_created_admin_can_sign_in(app, runner, db):
    runner.invoke(args=["create-admin", "--email", "grace@example.org"],
                  input=f"{GOOD}\n{GOOD}\n")
    db.session.commit()

    assert AuthActions(app.test_client()).login("grace@example.org", GOOD).status_code == 302


def test_the_name_defaults_to_the_start_of_the_email(runner, db):
    runner.invoke(args=["create-admin", "--email", "admin@example.org"],
                  input=f"{GOOD}\n{GOOD}\n")

    assert users(db)[0].name == "admin"


def test_two_different_passwords_are_asked_again(runner, db):
    result = runner.invoke(args=["create-admin", "--email", "admin@example.org"],
                           input=f"{GOOD}\nsomething else\n{GOOD}\n{GOOD}\n")

    assert result.exit_code == 0, result.output
    assert "Error: The two entered values do not match." in result.output
    assert verify_password(users(db)[0].password_hash, GOOD)


def test_password_stdin_reads_one_line_without_prompting(runner, db):
    result = runner.invoke(args=["create-admin", "--email", "admin@example.org",
                                 "--password-stdin"], input=f"{GOOD}\n")

    assert result.exit_code == 0, result.output
    assert "Password:" not in result.output
    assert verify_password(users(db)[0].password_hash, GOOD)


def test_a_weak_password_is_refused_with_the_policy_on_stderr_and_status_1(runner, db):
    result = runner.invoke(args=["create-admin", "--email", "admin@example.org",
                                 "--password-stdin"], input="password1\n")

    assert result.exit_code == 1
    assert "Choose a less common password." in result.stderr
    assert "Nothing was changed." in result.stderr
    assert "created" not in result.stdout
    assert users(db) == []


def test_a_short_password_is_refused(runner, db):
    result = runner.invoke(args=["create-admin", "--email", "admin@example.org"],
                           input="short\nshort\n")

    assert result.exit_code == 1
    assert "The password must be at least 8 characters long." in result.stderr
    assert users(db) == []


def test_an_existing_email_is_refused_before_any_password_is_asked(runner, db, make_user):
    make_user(email="grace@example.org", name="Grace")

    result = runner.invoke(args=["create-admin", "--email", "GRACE@example.org"], input="")

    assert result.exit_code == 1
    assert "There is already an account with the e-mail address GRACE@example.org." in (
        result.stderr)
    assert "Password:" not in result.output
    assert db.session.scalar(select(func.count()).select_from(User)) == 1


def test_an_invalid_email_is_refused(runner, db):
    result = runner.invoke(args=["create-admin", "--email", "not-an-email", "--password-stdin"],
                           input=f"{GOOD}\n")

    assert result.exit_code == 1
    assert "Enter an e-mail address in the right format" in result.stderr
    assert users(db) == []


def test_the_email_is_required(runner, db):
    result = runner.invoke(args=["create-admin"], input="")

    assert result.exit_code == 2
    assert "--email" in result.stderr
