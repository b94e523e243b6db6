"""The demo organisation built by ``flask --app surveyapp seed-demo``."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from surveyapp.auth.passwords import password_problems, verify_password
from surveyapp.clock import today
from surveyapp.demo import email_for, season_name
from surveyapp.directory.queries import load_tree
from surveyapp.models import (
    Answer,
    Comment,
    Draft,
    Invitation,
    Participation,
    Person,
    Response,
    Role,
    Round,
    RoundStatus,
    Team,
    User,
)

from .sealed import pending_responses

pytestmark = pytest.mark.both_databases


CREDENTIAL_RE = re.compile(r"e-mail:\s+(\S+)\n\s+password:\s+(\S+)")


def seed(runner, *args, rounds=False):
    """Run seed-demo; without its rounds unless ``rounds`` (they take a few seconds)."""
    result = runner.invoke(args=["seed-demo", *args, *([] if rounds else ["--no-rounds"])])
    assert result.exit_code == 0, result.output
    return result.output


def printed_credentials(output: str) -> list[tuple[str, str]]:
    return CREDENTIAL_RE.findall(output)


def table_counts(db) -> dict[str, int]:
    return {model.__name__: db.session.scalar(select(func.count()).select_from(model))
            for model in (Round, Invitation, Participation, Draft, Response, Answer, Comment)}


def test_demo_has_ten_teams_on_three_levels_under_one_root(runner, db):
    seed(runner)

    tree = load_tree()
    depths = sorted(tree.depth(team_id) for team_id in tree.nodes)
    assert len(tree.nodes) == 10
    assert depths.count(0) == 1
    assert max(depths) == 2
    assert "Northwind Services/Operations/Customer Care North" in {
        tree.path(team_id) for team_id in tree.nodes
    }


def test_demo_has_a_hundred_people_with_lowercase_example_emails(runner, db):
    seed(runner)

    emails = db.session.scalars(select(Person.email)).all()
    assert len(emails) == 100
    assert all(re.fullmatch(r"[a-z]+(\.[a-z]+)+@example\.com", email) for email in emails)


def test_demo_people_have_few_broad_attribute_values(runner, db):
    seed(runner)

    for column in (Person.location, Person.role_level, Person.tenure_band):
        values = db.session.scalars(select(column).distinct()).all()
        assert None not in values, column
        assert 2 <= len(values) <= 4, (column, values)


def test_every_team_without_sub_teams_is_big_enough_to_report(runner, db):
    seed(runner)

    tree = load_tree()
    sizes = dict(db.session.execute(select(Person.team_id, func.count()).group_by(Person.team_id)).all())
    leaves = [t for t in tree.nodes if not tree.children.get(t)]
    assert leaves
    assert all(sizes.get(t, 0) >= 7 for t in leaves)


def test_demo_prints_three_accounts_whose_passwords_sign_in(runner, db):
    output = seed(runner)

    credentials = printed_credentials(output)
    assert len(credentials) == 3
    for email, password in credentials:
        user = db.session.scalar(select(User).where(User.email == email))
        assert user is not None, email
        assert verify_password(user.password_hash, password), email
        assert password_problems(password, email=email, name=user.name) == []


def test_demo_accounts_are_one_hr_admin_and_two_leaders_of_their_teams(runner, db):
    seed(runner)

    users = {u.email: u for u in db.session.scalars(select(User))}
    assert users["grace.mensah@example.com"].role == Role.HR
    assert [t.name for t in users["rahul.mehta@example.com"].teams] == ["Operations"]
    assert [t.name for t in users["eilidh.campbell@example.com"].teams] == ["Customer Care North"]


def test_demo_accounts_are_also_people_in_the_directory(runner, db):
    seed(runner)

    user_emails = set(db.session.scalars(select(User.email)))
    person_emails = set(db.session.scalars(select(Person.email)))
    assert user_emails <= person_emails


def test_running_twice_adds_nothing_and_prints_the_same_credentials(runner, db):
    first = seed(runner, rounds=True)
    hashes = dict(db.session.execute(select(User.email, User.password_hash)).all())
    counts = table_counts(db)

    second = seed(runner, rounds=True)

    assert db.session.scalar(select(func.count(Team.id))) == 10
    assert db.session.scalar(select(func.count(Person.id))) == 100
    assert db.session.scalar(select(func.count(User.id))) == 3
    assert printed_credentials(second) == printed_credentials(first)
    assert dict(db.session.execute(select(User.email, User.password_hash)).all()) == hashes
    assert table_counts(db) == counts
    assert "nothing added" in second
    assert "Rounds added" in first and "Rounds added" not in second


def test_a_rerun_keeps_a_changed_password_and_says_how_to_reset_it(runner, db):
    seed(runner)
    hr = db.session.scalar(select(User).where(User.role == Role.HR))
    hr.password_hash = "changed"
    db.session.commit()

    output = seed(runner)

    db.session.refresh(hr)
    assert hr.password_hash == "changed"
    assert "--reset-passwords" in output


def test_reset_passwords_restores_the_printed_passwords(runner, db):
    seed(runner)
    hr = db.session.scalar(select(User).where(User.role == Role.HR))
    hr.password_hash = "changed"
    db.session.commit()

    output = seed(runner, "--reset-passwords")

    db.session.refresh(hr)
    password = dict(printed_credentials(output))[hr.email]
    assert verify_password(hr.password_hash, password)


def test_demo_adds_what_is_missing_to_a_partial_demo(runner, db):
    seed(runner)
    person = db.session.scalar(select(Person).where(Person.email == "rahul.mehta@example.com"))
    db.session.delete(person)
    db.session.commit()

    output = seed(runner)

    assert "0 teams and 1 person added now" in output
    assert db.session.scalar(select(func.count(Person.id))) == 100


def test_demo_refuses_to_run_in_production(app, runner, db):
    app.config["ENV"] = "production"

    result = runner.invoke(args=["seed-demo"])

    assert result.exit_code != 0
    assert "production" in result.output
    assert db.session.scalar(select(func.count(User.id))) == 0


@pytest.mark.parametrize(("name", "email"), [
    ("Zoë O'Brien", "zoe.obrien@example.com"),
    ("Lucía Fernández", "lucia.fernandez@example.com"),
    ("Agnieszka Wiśniewska", "agnieszka.wisniewska@example.com"),
])
def test_demo_emails_are_plain_ascii_versions_of_names(name, email):
    assert email_for(name) == email


def test_printed_accounts_sign_in_through_the_login_page(runner, client, auth):
    credentials = printed_credentials(seed(runner))

    for email, password in credentials:
        response = auth.login(email, password)
        assert response.status_code == 302, (email, response.get_data(as_text=True)[:500])
        auth.logout()


def test_demo_rounds_are_two_closed_ones_and_a_partly_answered_open_one(runner, db):
    output = seed(runner, rounds=True)

    rounds = db.session.scalars(select(Round).order_by(Round.opens_on)).all()
    assert [r.status for r in rounds] == [RoundStatus.CLOSED, RoundStatus.CLOSED, RoundStatus.OPEN]
    assert all(r.name in output for r in rounds)
    assert rounds[0].closes_on < rounds[1].opens_on <= rounds[1].closes_on < today()
    assert rounds[2].opens_on < today() < rounds[2].closes_on
    responses = dict(db.session.execute(
        select(Response.round_id, func.count()).group_by(Response.round_id)).all())
    # The open round's responses stay sealed until it closes.
    assert rounds[2].id not in responses
    responses[rounds[2].id] = len(pending_responses(rounds[2].id))
    invited = dict(db.session.execute(
        select(Invitation.round_id, func.count()).group_by(Invitation.round_id)).all())
    assert all(invited[r.id] == 100 for r in rounds)
    assert 60 <= responses[rounds[0].id] <= 95 and 60 <= responses[rounds[1].id] <= 95
    assert 20 <= responses[rounds[2].id] < 80
    # Some people in the open round have started and not finished.
    assert db.session.scalar(select(func.count()).select_from(Draft)) > 0


def test_demo_answers_vary_by_team_and_capability(runner, db):
    seed(runner, rounds=True)

    closed = db.session.scalar(select(Round).where(Round.status == RoundStatus.CLOSED)
                               .order_by(Round.opens_on.desc()))
    capability = func.substr(Answer.statement_key, 1, func.instr(Answer.statement_key, ".") - 1) \
        if db.engine.dialect.name == "sqlite" else func.split_part(Answer.statement_key, ".", 1)
    by_capability = dict(db.session.execute(
        select(capability, func.avg(Answer.value)).join(Response)
        .where(Response.round_id == closed.id).group_by(capability)).all())
    by_team = dict(db.session.execute(
        select(Response.team_id, func.avg(Answer.value)).join(Answer)
        .where(Response.round_id == closed.id).group_by(Response.team_id)).all())
    assert len(by_capability) == 7
    assert max(by_capability.values()) - min(by_capability.values()) > 0.3
    assert max(by_team.values()) - min(by_team.values()) > 0.3
    assert all(1 <= float(v) <= 5 for v in by_team.values())


def test_demo_comments_are_everyday_sentences_rarely_repeated_within_a_team(runner, db):
    seed(runner, rounds=True)

    rows = db.session.execute(
        select(Response.round_id, Response.team_id, Comment.text).join(Comment)).all()
    assert len(rows) > 50
    per_group: dict[tuple[int, int], list[str]] = {}
    for round_id, team_id, text in rows:
        per_group.setdefault((round_id, team_id), []).append(text)
        assert text[0].isupper() and text.endswith((".", "?", "!")), text
    repeated = sum(len(texts) - len(set(texts)) for texts in per_group.values())
    assert repeated <= len(rows) // 10


def test_a_leader_of_the_demo_sees_a_trend_in_the_latest_closed_round(runner, client, auth, db):
    credentials = dict(printed_credentials(seed(runner, rounds=True)))
    auth.login("rahul.mehta@example.com", credentials["rahul.mehta@example.com"])

    response = client.get("/reports/", follow_redirects=True)

    page = response.get_data(as_text=True)
    latest_closed = db.session.scalar(select(Round.name).where(Round.status == RoundStatus.CLOSED)
                                      .order_by(Round.opens_on.desc()))
    assert response.status_code == 200
    assert latest_closed in page and "Operations" in page
    assert "Change since" in page
    assert "What would you do to make our service better?" in page


def test_rounds_are_added_only_to_a_database_without_rounds(runner, db, monkeypatch):
    seed(runner, rounds=True)
    counts = table_counts(db)
    # A month later the demo rounds would have other names: nothing is added all the same.
    monkeypatch.setattr("surveyapp.demo.today", lambda: today() + timedelta(days=45))

    output = seed(runner, rounds=True)

    assert table_counts(db) == counts
    assert "Rounds added" not in output


def test_season_names_follow_the_northern_calendar():
    assert [season_name(date(2026, month, 1)) for month in (1, 3, 6, 9, 12)] == [
        "Winter 2025/26", "Spring 2026", "Summer 2026", "Autumn 2026", "Winter 2026/27"]
