"""The ``round`` commands. Their output is a contract for scripts (see surveyapp/rounds/cli.py)."""

import csv
import io
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from surveyapp.clock import today
from surveyapp.models import Participation, Round, RoundStatus
from surveyapp.rounds.tokens import hash_token


def invoke(runner, *args):
    return runner.invoke(args=["round", *map(str, args)])


def test_create_prints_the_new_id_alone_on_the_last_line(db, runner, org):
    result = invoke(runner, "create", "--name", "Winter 2026", "--team", "Operations/Customer Care",
                    "--team", "sales")
    assert result.exit_code == 0, result.output
    round_ = db.session.scalar(select(Round))
    assert result.stdout.splitlines()[-1] == str(round_.id)
    assert sorted(t.name for t in round_.teams) == ["Customer Care", "Sales"]


def test_create_defaults_to_opening_today_and_closing_in_14_days(db, runner, org):
    invoke(runner, "create", "--name", "Winter 2026", "--team", "Sales")
    round_ = db.session.scalar(select(Round))
    assert (round_.opens_on, round_.closes_on) == (today(), today() + timedelta(days=14))
    assert (round_.min_group_size, round_.min_comment_group_size) == (5, 5)


def test_create_takes_dates_and_thresholds(db, runner, org):
    opens = today() + timedelta(days=2)
    result = invoke(runner, "create", "--name", "Winter", "--team", "Sales", "--opens", opens,
                    "--closes", opens + timedelta(days=5), "--min-group", 4,
                    "--min-comment-group", 6)
    assert result.exit_code == 0, result.output
    round_ = db.session.scalar(select(Round))
    assert (round_.opens_on, round_.closes_on, round_.min_group_size,
            round_.min_comment_group_size) == (opens, opens + timedelta(days=5), 4, 6)


def test_create_with_an_unknown_team_path_exits_2_and_says_which(db, runner, org):
    result = invoke(runner, "create", "--name", "Winter", "--team", "Operations/Nowhere")
    assert result.exit_code == 2
    assert "Operations/Nowhere" in result.stderr and result.stdout == ""
    assert db.session.scalar(select(Round)) is None


def test_create_with_settings_the_rules_refuse_exits_1_with_the_reason(runner, org):
    result = invoke(runner, "create", "--name", "Winter", "--team", "Sales", "--min-group", 2)
    assert result.exit_code == 1
    assert "cannot be below 3" in result.stderr


def test_launch_prints_how_many_were_invited(db, runner, org, make_round):
    round_ = make_round([org.ops])
    result = invoke(runner, "launch", round_.id)
    assert result.exit_code == 0 and "7 people invited" in result.stdout


def test_launch_of_an_unknown_round_fails_with_a_message(runner):
    result = invoke(runner, "launch", 999)
    assert result.exit_code == 1 and "There is no round 999." in result.stderr


def test_a_forbidden_transition_fails_with_the_round_error(runner, org, make_round):
    round_ = make_round([org.sales])
    result = invoke(runner, "close", round_.id)
    assert result.exit_code == 1
    assert "Only an open round can be closed. This round is a draft." in result.stderr


def test_close_closes_an_open_round(db, runner, org, make_round):
    round_ = make_round([org.sales], launched=True)
    assert invoke(runner, "close", round_.id).exit_code == 0
    db.session.expire_all()
    assert db.session.get(Round, round_.id).status == RoundStatus.CLOSED


def test_close_due_closes_rounds_past_their_closing_date(db, runner, org, make_round):
    round_ = make_round([org.sales], launched=True)
    round_.opens_on, round_.closes_on = today() - timedelta(days=9), today() - timedelta(days=1)
    db.session.commit()
    result = invoke(runner, "close-due")
    assert result.stdout.strip() == "Closed 1 round."
    db.session.expire_all()
    assert db.session.get(Round, round_.id).status == RoundStatus.CLOSED


def test_links_writes_csv_of_everyone_not_submitted_with_absolute_urls(db, runner, org,
                                                                        make_round):
    round_ = make_round([org.ops], launched=True)
    db.session.add(Participation(round_id=round_.id, person_id=org.people[0].id))
    db.session.commit()
    result = invoke(runner, "links", round_.id)
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == "email,name,team,url"
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert sorted(r["email"] for r in rows) == sorted(p.email for p in org.people[1:7])
    teams = {r["email"]: r["team"] for r in rows}
    assert teams[org.people[3].email] == "Operations/Customer Care/North"
    hashes = {i.person.email: i.token_hash for i in round_.invitations}
    for row in rows:
        assert row["url"].startswith("http://survey.example.test/s/")
        assert hash_token(row["url"].rsplit("/", 1)[1]) == hashes[row["email"]]


def test_links_output_option_writes_the_file(runner, org, make_round, tmp_path):
    round_ = make_round([org.sales], launched=True)
    target = tmp_path / "links.csv"
    result = invoke(runner, "links", round_.id, "--output", target)
    assert result.exit_code == 0 and result.stdout == ""
    assert target.read_text(encoding="utf-8").splitlines()[0] == "email,name,team,url"
    assert len(target.read_text(encoding="utf-8").splitlines()) == 7


def test_links_of_a_draft_fails(runner, org, make_round):
    round_ = make_round([org.sales])
    result = invoke(runner, "links", round_.id)
    assert result.exit_code == 1 and "launch it first" in result.stderr


def test_send_and_remind_mail_through_the_configured_server(db, runner, org, make_round, smtp):
    round_ = make_round([org.sales], launched=True)
    assert invoke(runner, "send", "--wait", round_.id).stdout.strip() == "Sent 6 invitations."
    for person in org.people[7:12]:  # the minimum of 5 have submitted: the count is shown
        db.session.add(Participation(round_id=round_.id, person_id=person.id))
    db.session.commit()
    assert invoke(runner, "remind", "--wait", round_.id).stdout.strip() == "Sent 1 reminder."
    assert len(smtp.messages) == 7


def test_send_and_remind_without_wait_queue_the_work_for_the_workers(db, runner, org, make_round,
                                                                     smtp):
    round_ = make_round([org.sales], launched=True)
    assert invoke(runner, "send", round_.id).stdout.strip() == (
        "Queued 6 invitations for the workers: the round's page shows the progress.")
    for person in org.people[7:12]:
        db.session.add(Participation(round_id=round_.id, person_id=person.id))
    db.session.commit()
    assert invoke(runner, "remind", round_.id).stdout.strip() == (
        "Queued 1 reminder for the workers: the round's page shows the progress.")
    assert len(smtp.messages) == 7  # the tests' queue runs each job at once


def test_send_exits_1_when_the_mail_server_fails_midway(runner, org, make_round, smtp):
    round_ = make_round([org.sales], launched=True)
    smtp.refuse_rcpt_number = 2
    smtp.refusal = "421 4.3.2 Service shutting down"
    result = invoke(runner, "send", "--wait", round_.id)
    assert result.exit_code == 1
    assert "Sent 1 invitation." in result.stdout and "421" in result.stderr


def test_send_lists_the_addresses_the_mail_server_refused(runner, org, make_round, smtp):
    round_ = make_round([org.sales], launched=True)
    wrong = org.people[10]
    smtp.refused = {wrong.email}
    result = invoke(runner, "send", "--wait", round_.id)
    assert result.exit_code == 0
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "Sent 5 invitations."
    assert lines[1].startswith("The mail server refused 1 address; correct each")
    assert lines[2].startswith(f"  {wrong.name} <{wrong.email}>: 550 5.1.1")


def test_list_shows_each_round_with_its_response_rate(db, runner, org, make_round):
    round_ = make_round([org.sales], launched=True)
    for person in org.people[7:12]:
        db.session.add(Participation(round_id=round_.id, person_id=person.id))
    db.session.commit()
    line = invoke(runner, "list").stdout.strip()
    assert line.startswith(f"{round_.id}\topen\t") and "5/6 submitted (83%)" in line


# --- the real command line, as a script would run it ----------------------------------------


def flask_cli(app, *args) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SURVEYAPP_")}
    env |= {"SURVEYAPP_SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "SURVEYAPP_SECRET_KEY": app.config["SECRET_KEY"],
            "SURVEYAPP_BASE_URL": app.config["BASE_URL"],
            "SURVEYAPP_INSTANCE_PATH": app.instance_path}
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "surveyapp", "round", *map(str, args)],
        capture_output=True, text=True, env=env, timeout=120,
        cwd=Path(__file__).resolve().parents[2],
    )


@pytest.mark.slow
def test_the_real_command_line_keeps_the_contract(app, db, org):
    db.session.commit()
    created = flask_cli(app, "create", "--name", "Scripted", "--team", "SALES")
    assert created.returncode == 0, created.stderr
    round_id = created.stdout.splitlines()[-1]
    assert round_id.isdigit()
    assert flask_cli(app, "launch", round_id).returncode == 0
    links = flask_cli(app, "links", round_id)
    assert links.stdout.startswith("email,name,team,url\n")  # no byte-order mark
    assert len(links.stdout.splitlines()) == 7
    unknown = flask_cli(app, "create", "--name", "X", "--team", "No such team")
    assert unknown.returncode == 2 and "No such team" in unknown.stderr
