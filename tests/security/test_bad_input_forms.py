"""Bad input in HR's forms and in every URL that carries an id.

Rounds (create, edit, statements, extend, remind), teams, people, staff accounts, sign-in and
passwords: malformed dates and numbers, ids that are not ids (or that overflow the database's
integers), unicode, markup and NUL characters. Each post is either accepted, and then every page
that shows the result opens, or refused with a message beside the form (or a 4xx page) and
nothing written: the whole database is compared before and after.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import escape
from sqlalchemy import select

from surveyapp.clock import today
from surveyapp.extensions import db as _db
from surveyapp.models import Invitation, Person, Role, Round, RoundStatus, Team, User
from surveyapp.rounds.operations import create_round, launch_round
from surveyapp.rounds.tokens import token_for

from ..conftest import TEST_PASSWORD
from ..profiles import examples

# slow: attacks and fuzzing, left to the full run by scripts/test --quick.
pytestmark = [pytest.mark.both_databases, pytest.mark.slow]


#: Examples per property and database: enough for the classic mistakes, quick enough to run
#: on every test run (each example is a handful of requests).
EXAMPLES = examples(50)
fuzz = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])

#: Ids that are not ids: words, signs, fractions, and numbers past each database's integers.
BAD_IDS = ["abc", "-1", "1.5", "1e3", "0x1", "99999999999999999999", "2147483648",
           "9223372036854775808", "%00", "1%20", ""]
INT_LIMIT = 2**31 - 1

typed_text = st.one_of(
    st.text(max_size=150),
    st.sampled_from([
        "<script>alert('x')</script>", "<img src=x onerror=alert(1)>", "Ünïcödé ✓ 日本語 👩🏽‍💻",
        "a\x00b", "\x00", "   ", "\t\n", "x" * 5000, "Robert'); DROP TABLE team;--", "{{ 7*7 }}",
        "\u202eevil", "a/b", "../..", "%s%n", "null",
    ]),
)
date_text = st.one_of(
    st.dates().map(str),
    st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)).map(lambda d: f"{d:%d/%m/%Y}"),
    st.sampled_from(["", "2026-02-30", "2026-13-01", "0000-01-01", "10000-01-01", "2026-1-5",
                     "today", "2026-01-01T00:00", "２０２６-０１-０１", "9999-12-31", "0001-01-01",
                     "-2026-01-01", "2026-01-01\x00", "1970-01-01", "2038-01-19"]),
    st.text(max_size=20),
)
number_text = st.one_of(
    st.integers().map(str),
    st.integers(min_value=-10, max_value=20).map(str),
    st.sampled_from(["", "abc", "5.0", "1e3", "99999999999999999999", "-0", " 5 ", "٥", "5\x00",
                     "2147483648", "0x10", "+7", "NaN"]),
)
id_text = st.one_of(st.integers(min_value=-5, max_value=10).map(str), st.sampled_from(BAD_IDS))


# --- fixtures and helpers ----------------------------------------------------------------------


@dataclass
class Org:
    ops: int
    care: int
    sales: int
    person: int
    leader: int
    draft: int
    open: int
    open_token: str


@pytest.fixture
def org(db, make_team, make_person, make_user, hr) -> Org:
    ops = make_team("Operations")
    care = make_team("Customer Care", parent=ops)
    sales = make_team("Sales")
    person = make_person(team=care, email="ana@example.com", name="Ana Lima")
    make_person(team=care)
    make_person(team=sales)
    leader = make_user(Role.LEADER, teams=[care])
    now = today()
    draft = create_round(name="Draft round", teams=[ops], opens_on=now,
                         closes_on=now + timedelta(days=14), today=now)
    opened = create_round(name="Open round", teams=[sales], opens_on=now,
                          closes_on=now + timedelta(days=14), today=now)
    launch_round(opened, today=now)
    db.session.commit()
    invitation = db.session.scalar(select(Invitation).where(Invitation.round_id == opened.id))
    org = Org(ops.id, care.id, sales.id, person.id, leader.id, draft.id, opened.id,
              token_for(invitation.nonce))
    db.session.rollback()
    return org


def dump(db, skip=("login_failure",)) -> dict[str, list]:
    """Every row of every table, as plain values, read fresh."""
    db.session.rollback()
    tables = {}
    for table in _db.metadata.sorted_tables:
        if table.name in skip:
            continue
        rows = db.session.execute(select(table)).all()
        tables[table.name] = sorted(tuple(map(repr, row)) for row in rows)
    db.session.rollback()
    return tables


def text(response) -> str:
    return response.get_data(as_text=True)


def refused(response) -> bool:
    """A form shown again with its problems, or an error page (4xx); never a crash."""
    assert response.status_code < 500, text(response)[:300]
    page = text(response)
    if response.status_code == 200:
        return "There is a problem" in page
    return 400 <= response.status_code < 500 and (
        f"Error {response.status_code}" in page or "There is a problem" in page)


def location(response) -> str:
    return urlsplit(response.headers["Location"]).path


def opens(client, *urls: str) -> None:
    """Every page opens (200) and shows no raw markup we were given."""
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code, text(response)[:300])
        assert "<script>alert" not in text(response), url


def expect_written_or_refused(client, db, url, data, pages=lambda response: ()):
    """Post ``data`` to ``url``: accepted (302, then ``pages(response)`` all open) or refused
    with a message and nothing written. Returns the response."""
    before = dump(db)
    response = client.submit(url, data)
    if response.status_code == 302:
        opens(client, *pages(response))
    else:
        assert refused(response), (response.status_code, text(response)[:500])
        assert dump(db) == before
    return response


# --- rounds ---------------------------------------------------------------------------------


def round_pages(client, db, round_id: int) -> list[str]:
    return [f"/rounds/{round_id}", f"/rounds/{round_id}/edit", f"/rounds/{round_id}/statements",
            f"/rounds/{round_id}/preview", f"/rounds/{round_id}/preview/1",
            f"/rounds/{round_id}/launch", "/rounds"]


@fuzz
@given(name=typed_text, opens_on=date_text, closes_on=date_text, min_group=number_text,
       min_comments=number_text, teams=st.lists(id_text, max_size=3), valid_team=st.booleans())
def test_any_new_round_is_saved_whole_or_refused_and_its_pages_open(
        client, db, org, name, opens_on, closes_on, min_group, min_comments, teams, valid_team):
    chosen = [*teams, str(org.ops)] if valid_team else teams
    data = {"name": name, "teams": chosen, "opens_on": opens_on, "closes_on": closes_on,
            "min_group_size": min_group, "min_comment_group_size": min_comments}
    response = expect_written_or_refused(
        client, db, "/rounds/new", data,
        pages=lambda r: round_pages(client, db, int(location(r).rsplit("/", 1)[1])))
    if response.status_code == 302:
        round_ = db.session.get(Round, int(location(response).rsplit("/", 1)[1]))
        assert round_.name == name.strip() and "\x00" not in round_.name
        assert 3 <= round_.min_group_size <= round_.min_comment_group_size <= 10_000
        assert round_.opens_on <= round_.closes_on and round_.closes_on >= today()
        db.session.rollback()


@settings(fuzz, max_examples=examples(15))
@given(opens_on=st.one_of(st.dates(), st.just(date.today())),
       closes_on=st.one_of(st.dates(min_value=date.today() + timedelta(days=1)),
                           st.just(date(9999, 12, 31))))
def test_a_round_with_any_accepted_dates_can_be_launched_extended_closed_and_answered(
        client, db, org, opens_on, closes_on):
    data = {"name": "Far dates", "teams": [str(org.sales)], "opens_on": str(opens_on),
            "closes_on": str(closes_on), "min_group_size": "5", "min_comment_group_size": "5"}
    response = expect_written_or_refused(client, db, "/rounds/new", data)
    if response.status_code != 302:
        return
    round_id = int(location(response).rsplit("/", 1)[1])
    opens(client, *round_pages(client, db, round_id))
    launched = client.submit(f"/rounds/{round_id}/launch")
    assert launched.status_code == 302, text(launched)[:300]
    token = token_for(db.session.scalar(
        select(Invitation.nonce).where(Invitation.round_id == round_id)))
    db.session.rollback()
    opens(client, f"/rounds/{round_id}", f"/rounds/{round_id}/extend", f"/rounds/{round_id}/close",
          f"/rounds/{round_id}/links", "/rounds", f"/s/{token}")
    extended = client.submit(f"/rounds/{round_id}/extend", {"closes_on": "9999-12-31"})
    assert extended.status_code == 302 or refused(extended)
    opens(client, f"/rounds/{round_id}", f"/rounds/{round_id}/extend")
    assert client.submit(f"/rounds/{round_id}/close").status_code == 302
    opens(client, f"/rounds/{round_id}", "/rounds", f"/reports/{round_id}/0",
          f"/reports/{round_id}/{org.sales}")


@fuzz
@given(name=typed_text, opens_on=date_text, closes_on=date_text, min_group=number_text,
       min_comments=number_text, teams=st.lists(id_text, max_size=3))
def test_any_edit_of_a_draft_is_saved_whole_or_refused(
        client, db, org, name, opens_on, closes_on, min_group, min_comments, teams):
    data = {"name": name, "teams": teams, "opens_on": opens_on, "closes_on": closes_on,
            "min_group_size": min_group, "min_comment_group_size": min_comments}
    expect_written_or_refused(client, db, f"/rounds/{org.draft}/edit", data,
                              pages=lambda r: round_pages(client, db, org.draft))


@fuzz
@given(closes_on=date_text)
def test_any_new_closing_date_extends_the_round_or_is_refused(client, db, org, closes_on):
    expect_written_or_refused(
        client, db, f"/rounds/{org.open}/extend", {"closes_on": closes_on},
        pages=lambda r: [f"/rounds/{org.open}", f"/rounds/{org.open}/extend", "/rounds",
                         f"/s/{org.open_token}"])


@fuzz
@given(texts=st.dictionaries(st.sampled_from(["statement_awareness__impact",
                                              "statement_curiosity__why", "add_awareness",
                                              "add_empathy", "remove", "statement_nope"]),
                             typed_text, max_size=4))
def test_any_statement_edit_is_saved_whole_or_refused(client, db, org, texts):
    expect_written_or_refused(
        client, db, f"/rounds/{org.draft}/statements", texts,
        pages=lambda r: [f"/rounds/{org.draft}", f"/rounds/{org.draft}/statements",
                         f"/rounds/{org.draft}/preview/1"])


REMINDER_BUTTONS = [
    {"batch": "abc"}, {"batch": "-1"}, {"batch": "99999999999999999999"}, {"batch": "2147483648"},
    {"resume": "1"}, {"resume": "<b>", "batch": "1.5"}, {"batch": "\x00"}, {"batch": "0"},
]


def test_odd_reminder_buttons_send_or_say_why_never_crash(client, db, org):
    for fields in REMINDER_BUTTONS:
        response = client.submit(f"/rounds/{org.open}/remind", fields,
                                 form_url=f"/rounds/{org.open}")
        assert response.status_code in (302, 400), (fields, text(response)[:300])
        opens(client, f"/rounds/{org.open}")
    db.session.rollback()
    # A button without a readable batch ("abc", "1.5", NUL) starts a reminder; the others
    # name a batch that is not the current one, so they resume it.
    assert db.session.get(Round, org.open).reminder_batches == 3


# --- teams and people ------------------------------------------------------------------------


@fuzz
@given(name=typed_text, parent=id_text)
def test_any_new_team_is_added_whole_or_refused(client, db, org, name, parent):
    expect_written_or_refused(
        client, db, "/teams/new", {"name": name, "parent_id": parent},
        pages=lambda r: ["/teams", location(r), location(r) + "/edit", "/people/new",
                         f"/people?team={location(r).rsplit('/', 1)[1]}"])


@fuzz
@given(name=typed_text, parent=st.one_of(id_text, st.just("0")))
def test_any_team_edit_is_saved_whole_or_refused(client, db, org, name, parent):
    expect_written_or_refused(
        client, db, f"/teams/{org.care}/edit", {"name": name, "parent_id": parent},
        pages=lambda r: ["/teams", f"/teams/{org.care}", f"/rounds/{org.draft}"])


def test_a_team_whose_path_would_pass_1000_characters_is_refused_so_every_tree_can_launch(
        client, db, org, make_person):
    """A round keeps each team's path (up to 1000 characters): a deeper tree failed at launch
    on PostgreSQL."""
    chain, parent = [], "0"
    for depth in range(12):
        response = client.submit("/teams/new", {"name": f"{depth}" + "x" * 110,
                                                "parent_id": parent})
        if response.status_code != 302:
            break
        parent = location(response).rsplit("/", 1)[1]
        chain.append(int(parent))
    assert refused(response) and "longer than 1000 characters" in text(response)
    assert len(chain) == 8  # 8 names of 111 characters and 7 slashes: 895; a 9th would pass
    top = location(client.submit("/teams/new", {"name": "a" * 120, "parent_id": "0"}))
    inner = location(client.submit("/teams/new", {"name": "b" * 120,
                                                  "parent_id": top.rsplit("/", 1)[1]}))
    before = dump(db)
    # chain[1] and the 6 teams below it (784 characters) under 242 more: 1027.
    deeper = client.submit(f"/teams/{chain[1]}/edit", {"name": "1" + "x" * 110,
                                                       "parent_id": inner.rsplit("/", 1)[1]})
    assert refused(deeper) and "or a team below it would be longer than 1000" in text(deeper)
    assert dump(db) == before
    renamed = client.submit(f"/teams/{chain[-2]}/edit", {"name": "y" * 120,
                                                         "parent_id": str(chain[-3])})
    assert renamed.status_code == 302  # 895 - 111 + 120 = 904: still fits
    make_person(team=db.session.get(Team, chain[-1]))
    launched = client.submit("/rounds/new", {
        "name": "Deep", "teams": [str(chain[0])], "opens_on": str(today()),
        "closes_on": str(today() + timedelta(days=3)), "min_group_size": "5",
        "min_comment_group_size": "5"})
    round_id = location(launched).rsplit("/", 1)[1]
    assert client.submit(f"/rounds/{round_id}/launch").status_code == 302
    opens(client, f"/rounds/{round_id}", "/teams", f"/teams/{chain[-1]}")


person_fields = st.fixed_dictionaries({
    "name": typed_text,
    "email": st.one_of(typed_text, st.emails().map(str),
                       st.sampled_from(["ANA@EXAMPLE.COM", "a@b", "a@localhost", "a@b.invalid",
                                        "ä@example.com", "a" * 250 + "@example.com",
                                        "a\x00@example.com", " new@example.com "])),
    "team_id": id_text,
    "location": typed_text, "role_level": typed_text, "tenure_band": typed_text,
})


@fuzz
@given(fields=person_fields, real_team=st.booleans())
def test_any_new_person_is_added_whole_or_refused(client, db, org, fields, real_team):
    if real_team:
        fields = {**fields, "team_id": str(org.sales)}
    response = expect_written_or_refused(client, db, "/people/new", fields,
                                         pages=lambda r: ["/people", "/teams"])
    if response.status_code == 302:
        person = db.session.scalar(select(Person).order_by(Person.id.desc()))
        assert person.email == person.email.lower() and "\x00" not in person.name
        opens(client, f"/people/{person.id}", f"/people?q={person.email}")


@fuzz
@given(fields=person_fields)
def test_any_person_edit_is_saved_whole_or_refused(client, db, org, fields):
    expect_written_or_refused(client, db, f"/people/{org.person}", fields,
                              pages=lambda r: [f"/people/{org.person}", "/people", "/teams"])


# --- staff accounts, sign-in and passwords ---------------------------------------------------


@fuzz
@given(name=typed_text, email=st.one_of(typed_text, st.emails().map(str)),
       role=st.one_of(st.sampled_from(["leader", "hr", "admin", "", "HR", "leader\x00"]), typed_text),
       teams=st.lists(id_text, max_size=3),
       password=st.one_of(st.just("purple monkey dishwasher 42"), typed_text))
def test_any_new_account_is_created_whole_or_refused(client, db, org, name, email, role, teams,
                                                     password):
    data = {"name": name, "email": email, "role": role, "teams": teams, "password": password,
            "confirm": password}
    response = expect_written_or_refused(client, db, "/users/new", data,
                                         pages=lambda r: ["/users"])
    if response.status_code == 302:
        user = db.session.scalar(select(User).order_by(User.id.desc()))
        assert user.role in Role.ALL and user.email == user.email.lower()
        opens(client, f"/users/{user.id}/edit", f"/users/{user.id}/password")
        db.session.rollback()


@fuzz
@given(name=typed_text, email=typed_text, role=st.sampled_from(["leader", "hr", "x", ""]),
       teams=st.lists(id_text, max_size=3))
def test_any_account_edit_is_saved_whole_or_refused(client, db, org, name, email, role, teams):
    data = {"name": name, "email": email, "role": role, "teams": teams}
    expect_written_or_refused(client, db, f"/users/{org.leader}/edit", data,
                              pages=lambda r: ["/users", f"/users/{org.leader}/edit"])


ODD_PASSWORDS = ["", "short", "x" * 129, "x" * 100_000, "\x00" * 12, "pässwörd ✓ long enough 😀",
                 "<script>alert(1)</script>x"]


def test_odd_new_passwords_are_set_or_refused(client, db, org):
    for password in ODD_PASSWORDS:
        before = dump(db)
        response = client.submit(f"/users/{org.leader}/password",
                                 {"password": password, "confirm": password})
        if response.status_code != 302:
            assert refused(response), password[:20]
            assert dump(db) == before


@fuzz
@given(email=st.one_of(typed_text, st.emails().map(str)), password=typed_text)
def test_any_sign_in_attempt_fails_cleanly_and_changes_nothing_but_the_failure_count(
        app, db, org, email, password):
    anonymous = app.test_client()
    before = dump(db)
    response = anonymous.submit("/login", {"email": email, "password": password})
    assert response.status_code in (200, 400, 429), text(response)[:300]
    assert refused(response) or "e-mail address or password" in text(response)
    assert dump(db) == before


OWN_PASSWORD_CHANGES = [
    ("", "purple monkey dishwasher 42"), ("wrong", "purple monkey dishwasher 42"),
    (TEST_PASSWORD, ""), (TEST_PASSWORD, "x" * 100_000), (TEST_PASSWORD + "\x00", "abc"),
    ("\x00", "\x00"), ("x" * 100_000, "purple monkey dishwasher 42"), (TEST_PASSWORD, "short"),
]


def test_odd_own_password_changes_are_refused_cleanly(client, db, org):
    for current, new in OWN_PASSWORD_CHANGES:
        before = dump(db)
        response = client.submit("/account/password",
                                 {"current_password": current, "password": new, "confirm": new})
        assert refused(response), (current[:20], new[:20], response.status_code)
        assert dump(db) == before


# --- NUL characters: PostgreSQL cannot store them in text ------------------------------------


def nul_cases(org: Org) -> list[tuple[str, dict, str]]:
    """(url, a valid post, the text field to put a NUL into) for every text field of every form."""
    now = today()
    round_ = {"name": "Nul round", "teams": [str(org.sales)], "opens_on": str(now),
              "closes_on": str(now + timedelta(days=3)), "min_group_size": "5",
              "min_comment_group_size": "5"}
    person = {"name": "Nul Person", "email": "nul@example.com", "team_id": str(org.sales),
              "location": "Leeds", "role_level": "Staff", "tenure_band": "1-3 years"}
    account = {"name": "Nul Leader", "email": "nul.leader@example.com", "role": "leader",
               "teams": [str(org.sales)]}
    password = "purple monkey dishwasher 42"
    new_account = {**account, "password": password, "confirm": password}
    statements = {"statement_awareness__impact": "I think about my customers every day.",
                  "add_awareness": "I ask customers what they think of our service."}
    return [
        *[("/rounds/new", round_, "name")],
        *[(f"/rounds/{org.draft}/edit", {**round_, "teams": [str(org.ops)]}, "name")],
        *[(f"/rounds/{org.draft}/statements", statements, f) for f in statements],
        *[("/teams/new", {"name": "Nul team", "parent_id": "0"}, "name")],
        *[(f"/teams/{org.care}/edit", {"name": "Care", "parent_id": str(org.ops)}, "name")],
        *[("/people/new", person, f) for f in ("name", "email", "location", "role_level",
                                               "tenure_band")],
        *[(f"/people/{org.person}", {**person, "email": "ana@example.com"}, f)
          for f in ("name", "email", "location", "role_level", "tenure_band")],
        *[("/users/new", new_account, f) for f in ("name", "email", "password")],
        *[(f"/users/{org.leader}/edit", account, f) for f in ("name", "email")],
        *[(f"/users/{org.leader}/password", {"password": password, "confirm": password},
           "password")],
        *[(f"/rounds/{org.open}/extend", {"closes_on": str(now + timedelta(days=30))},
           "closes_on")],
    ]


@pytest.mark.parametrize("where", ["start", "middle", "only"])
def test_a_nul_in_any_text_field_is_dropped_or_refused_never_stored(client, db, org, where):
    for url, valid, name in nul_cases(org):
        value = valid[name]
        value = {"start": "\x00" + value, "middle": value[:2] + "\x00" + value[2:],
                 "only": "\x00"}[where]
        data = {**valid, name: value}
        if name == "password":
            data["confirm"] = value
        before = dump(db)
        response = client.submit(url, data)
        assert response.status_code == 302 or refused(response), (url, name, response.status_code)
        after = dump(db)
        assert not any("\\x00" in cell for rows in after.values() for row in rows for cell in row), \
            (url, name)
        if response.status_code != 302:
            assert after == before, (url, name)


@pytest.mark.parametrize(("email", "password"), [
    ("\x00", "x"), ("hr@example.test\x00", "x"), ("a\x00b@example.com", TEST_PASSWORD),
    ("hr@example.test", TEST_PASSWORD + "\x00"), ("\x00" * 300, "\x00"),
])
def test_a_nul_in_a_sign_in_fails_like_any_wrong_password(app, db, org, email, password):
    response = app.test_client().submit("/login", {"email": email, "password": password})
    assert response.status_code == 200
    assert "e-mail address or password" in text(response) or refused(response)


def test_a_nul_in_a_search_or_filter_is_harmless(client, db, org):
    for query in ("/people?q=Ana%00", "/people?q=%00&team=%00&page=%00", "/users?page=1%00",
                  "/rounds?page=%00", "/teams/new?parent=1%00"):
        response = client.get(query)
        assert response.status_code == 200, query


# --- ids in URLs and query strings -----------------------------------------------------------


def int_routes(app) -> list[tuple[str, str, list[str]]]:
    """(rule, method, int arguments) for every route with an ``int`` converter."""
    found = []
    for rule in app.url_map.iter_rules():
        ints = [name for name, conv in rule._converters.items() if conv.regex == r"\d+"]
        if not ints:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((rule.rule, method, ints))
    return found


def test_every_route_with_an_int_converter_is_covered_below(app):
    rules = {rule for rule, _method, _ints in int_routes(app)}
    assert len(rules) >= 20, sorted(rules)
    assert "/rounds/<int:round_id>" in rules
    assert "/s/<token>/step/<int:number>" in rules


def fill(rule: str, values: dict[str, str]) -> str:
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: values[m.group(1)], rule)


def test_a_malformed_or_overflowing_id_in_any_url_is_not_found(app, client, db, org):
    good = {"round_id": str(org.open), "team_id": str(org.care), "person_id": str(org.person),
            "user_id": str(org.leader), "number": "1", "token": org.open_token,
            "reminder_id": "1"}
    csrf = client.csrf_token("/teams/new")
    before = dump(db)
    checked = 0
    for bad in BAD_IDS:
        for rule, method, ints in int_routes(app):
            for name in ints:
                url = fill(rule, {**good, name: bad})
                response = client.open(url, method=method, data={"csrf_token": csrf})
                # An empty id can make another route's URL ("/rounds/" is the list).
                expected = (404, 405, 308, 200) if bad == "" else (404,)
                assert response.status_code in expected, \
                    (method, url, response.status_code, text(response)[:200])
                checked += 1
    assert checked >= 300
    assert dump(db) == before


@pytest.mark.parametrize("value", [str(INT_LIMIT + 1), str(2**63), "99999999999999999999"])
def test_ids_past_the_database_integers_are_not_found_on_each_kind_of_page(client, db, org, value):
    for url in (f"/rounds/{value}", f"/teams/{value}", f"/people/{value}", f"/users/{value}/edit",
                f"/reports/{value}/0", f"/reports/{org.open}/{value}",
                f"/rounds/{value}/preview/1", f"/s/{org.open_token}/step/{value}"):
        response = client.get(url)
        assert response.status_code == 404, (url, response.status_code)
        assert "Page not found" in text(response)


def test_the_largest_id_the_databases_take_is_looked_up_not_refused(client, db, org):
    assert client.get(f"/rounds/{INT_LIMIT}").status_code == 404
    assert client.get(f"/teams/{INT_LIMIT}").status_code == 404


ODD_QUERIES = [
    "/people?team=abc", "/people?team=-1", "/people?team=99999999999999999999",
    "/people?page=abc", "/people?page=-1", "/people?page=0", "/people?page=99999999999999999999",
    "/people?page=2147483648", "/people?q=%00", "/people?q=a%00b&team=%00",
    "/people?q=" + "x" * 10_000, "/people?q=%25%5F%5C", "/people?left=%00",
    "/users?page=abc", "/users?page=-5", "/users?page=99999999999999999999",
    "/rounds?page=abc", "/rounds?page=-1", "/rounds?page=99999999999999999999",
    "/teams/new?parent=abc", "/teams/new?parent=99999999999999999999", "/teams/new?parent=-1",
    "/people/new?team=abc", "/people/new?team=99999999999999999999",
    "/reports/?round=abc&team=1", "/reports/?round=99999999999999999999&team=0",
    "/reports/?round=-1&team=-1", "/login?next=%00", "/login?next=//evil.example",
    "/people/import/%00", "/people/import/" + "A" * 40, "/people/import/../../etc/passwd",
]


def test_odd_ids_and_words_in_query_strings_never_crash(client, db, org):
    before = dump(db)
    for query in ODD_QUERIES:
        response = client.get(query)
        assert response.status_code in (200, 302, 400, 404), (query, response.status_code)
        assert "<script>alert" not in text(response)
    assert dump(db) == before


# --- markup is shown as text -----------------------------------------------------------------

MARKUP = "<script>alert('x')</script><b>bold</b>"
#: Team names cannot hold "/" (it separates the names in a path).
TEAM_MARKUP = "<script>alert('x')<b>bold"


def test_markup_in_names_is_shown_escaped_on_every_page(client, db, org):
    assert client.submit("/teams/new", {"name": TEAM_MARKUP, "parent_id": "0"}).status_code == 302
    team_id = db.session.scalar(select(Team.id).where(Team.name == TEAM_MARKUP))
    person = client.submit("/people/new", {"name": MARKUP, "email": "m@example.com",
                                           "team_id": str(team_id), "location": MARKUP})
    assert person.status_code == 302
    person_id = db.session.scalar(select(Person.id).where(Person.email == "m@example.com"))
    edited = client.submit(f"/rounds/{org.draft}/edit", {
        "name": MARKUP[:120], "teams": [str(team_id)], "opens_on": str(today()),
        "closes_on": str(today() + timedelta(days=3)), "min_group_size": "5",
        "min_comment_group_size": "5"})
    assert edited.status_code == 302
    db.session.rollback()
    for url in ("/teams", f"/teams/{team_id}", f"/people/{person_id}", "/people", "/rounds",
                f"/rounds/{org.draft}", f"/rounds/{org.draft}/preview", f"/people?q={MARKUP}"):
        page = text(client.get(url))
        assert "<script>alert" not in page and "<b>bold" not in page, url
        assert str(escape("<b>bold")) in page, url
    assert db.session.get(Round, org.draft).status == RoundStatus.DRAFT
