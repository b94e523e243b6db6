"""Who may do what: every route of ``app.url_map``, for every kind of visitor, declared in a table.

The table (MATRIX) holds one entry per route and method, each with one or more cases (URL
arguments naming real objects of the ``world`` fixture) and the outcome each actor must get:

    anonymous   nobody signed in, no survey link
    employee    nobody signed in, holding their own valid survey link
    leader_a    the leader of Customer Care (team A, with North below it)
    leader_b    the leader of Sales, a team unrelated to team A
    hr          an HR admin

A route that is not in the table fails ``test_every_route_has_an_entry``: adding a route means
deciding who may use it. Survey URLs take the employee's token for the employee and a well-formed
token of no invitation for everyone else (a link is the only key to a survey).

State-changing posts carry a valid CSRF token here (the next file checks what happens without
one) and aim at objects kept for them (a spare person, team, user and rounds), so that HR's
successful posts change nothing another case relies on. GETs run before posts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from flask import Flask
from sqlalchemy import func, select

from surveyapp.analysis.confidentiality import ORGANISATION
from surveyapp.models import LinkExport, Person, Round, RoundStatus, Team, User

from .conftest import FORGED_TOKEN, World, signed_in

ANON, EMPLOYEE, LEADER_A, LEADER_B, HR = ACTORS = (
    "anonymous", "employee", "leader_a", "leader_b", "hr")
pytestmark = pytest.mark.both_databases


IGNORED_METHODS = {"HEAD", "OPTIONS"}


@dataclass(frozen=True)
class Redirect:
    """A 302 whose Location path starts with ``prefix`` (``{name}`` takes a world id)."""

    prefix: str

    def __str__(self):
        return f"302 -> {self.prefix}"


LOGIN = Redirect("/login")
Outcome = int | Redirect


@dataclass(frozen=True)
class Case:
    #: URL variable -> a key of ``world.ids`` (or of ``world.tokens`` for ``token``), or a
    #: literal int.
    args: dict[str, str | int] = field(default_factory=dict)
    outcomes: dict[str, Outcome] = field(default_factory=dict)


def each(anonymous: Outcome, employee: Outcome, leader_a: Outcome, leader_b: Outcome,
         hr: Outcome) -> dict[str, Outcome]:
    return dict(zip(ACTORS, (anonymous, employee, leader_a, leader_b, hr), strict=True))


def everyone(outcome: Outcome) -> dict[str, Outcome]:
    return each(outcome, outcome, outcome, outcome, outcome)


def hr_only(outcome: Outcome) -> dict[str, Outcome]:
    """HR pages: visitors are sent to sign in, leaders are refused."""
    return each(LOGIN, LOGIN, 403, 403, outcome)


def staff(leader_a: Outcome, leader_b: Outcome, hr: Outcome) -> dict[str, Outcome]:
    """Pages for any signed-in user."""
    return each(LOGIN, LOGIN, leader_a, leader_b, hr)


def link_holder(outcome: Outcome) -> dict[str, Outcome]:
    """Survey pages: only the holder of the link gets in; everyone else's token is unknown."""
    return each(404, outcome, 404, 404, 404)


def hr_case(outcome: Outcome, **args) -> list[Case]:
    return [Case(args, hr_only(outcome))]


CLOSED_A = {"round_id": "closed_round", "team_id": "team_a"}
REPORT_CASES = [
    # Team A: its leader and HR; not the leader of an unrelated team.
    Case(CLOSED_A, staff(200, 403, 200)),
    # A team below team A: its leader sees it too.
    Case({"round_id": "closed_round", "team_id": "north"}, staff(200, 403, 200)),
    # The team above team A and the whole organisation: HR only.
    Case({"round_id": "closed_round", "team_id": "ops"}, staff(403, 403, 200)),
    Case({"round_id": "closed_round", "team_id": ORGANISATION}, staff(403, 403, 200)),
    # An open round has no results yet; a team outside the round has none either.
    Case({"round_id": "open_round", "team_id": "team_a"}, staff(404, 403, 404)),
    Case({"round_id": "closed_round", "team_id": "spare_team"}, staff(403, 403, 404)),
    Case({"round_id": 999_999, "team_id": "team_a"}, staff(404, 403, 404)),
]

MATRIX: dict[tuple[str, str], list[Case]] = {
    # --- main ----------------------------------------------------------------------------------
    ("/", "GET"): [Case({}, each(200, 200, Redirect("/my-teams"), Redirect("/my-teams"),
                                 Redirect("/teams")))],
    ("/healthz", "GET"): [Case({}, everyone(200))],
    ("/static/<path:filename>", "GET"): [Case({"filename": "app.css"}, everyone(200))],
    # --- auth ----------------------------------------------------------------------------------
    ("/login", "GET"): [Case({}, each(200, 200, Redirect("/"), Redirect("/"), Redirect("/")))],
    # An empty sign-in form is shown again with its errors; a signed-in user is sent on.
    ("/login", "POST"): [Case({}, each(200, 200, Redirect("/"), Redirect("/"), Redirect("/")))],
    ("/logout", "POST"): [Case({}, everyone(LOGIN))],
    ("/account/password", "GET"): [Case({}, staff(200, 200, 200))],
    ("/account/password", "POST"): [Case({}, staff(200, 200, 200))],
    # --- directory: teams ----------------------------------------------------------------------
    ("/teams", "GET"): hr_case(200),
    ("/teams/new", "GET"): hr_case(200),
    ("/teams/new", "POST"): hr_case(200),
    # Leaders see their teams on /my-teams, never HR's directory pages, not even their own team.
    ("/teams/<int:team_id>", "GET"): hr_case(200, team_id="team_a") + hr_case(404, team_id=999_999),
    ("/teams/<int:team_id>/edit", "GET"): hr_case(200, team_id="team_a"),
    ("/teams/<int:team_id>/edit", "POST"): hr_case(200, team_id="team_a"),
    ("/teams/<int:team_id>/archive", "POST"): hr_case(Redirect("/teams/{spare_team}"),
                                                       team_id="spare_team"),
    ("/teams/<int:team_id>/unarchive", "POST"): hr_case(Redirect("/teams/{spare_team}"),
                                                         team_id="spare_team"),
    ("/my-teams", "GET"): [Case({}, staff(200, 200, Redirect("/teams")))],
    # --- directory: people ---------------------------------------------------------------------
    ("/people", "GET"): hr_case(200),
    ("/people/new", "GET"): hr_case(200),
    ("/people/new", "POST"): hr_case(200),
    ("/people/<int:person_id>", "GET"): hr_case(200, person_id="person")
    + hr_case(404, person_id=999_999),
    ("/people/<int:person_id>", "POST"): hr_case(200, person_id="person"),
    ("/people/<int:person_id>/archive", "POST"): hr_case(Redirect("/people/{spare_person}"),
                                                          person_id="spare_person"),
    ("/people/<int:person_id>/unarchive", "POST"): hr_case(Redirect("/people/{spare_person}"),
                                                            person_id="spare_person"),
    ("/people/import", "GET"): hr_case(200),
    ("/people/import", "POST"): hr_case(200),
    ("/people/import/<token>", "GET"): hr_case(200, token="upload"),
    # Without the preview's hashes the upload is not applied: back to the upload page.
    ("/people/import/<token>/apply", "POST"): hr_case(Redirect("/people/import"), token="upload"),
    # --- accounts ------------------------------------------------------------------------------
    ("/users", "GET"): hr_case(200),
    ("/users/new", "GET"): hr_case(200),
    ("/users/new", "POST"): hr_case(200),
    ("/users/<int:user_id>/edit", "GET"): hr_case(200, user_id="leader_a_user")
    + hr_case(404, user_id=999_999),
    ("/users/<int:user_id>/edit", "POST"): hr_case(200, user_id="leader_a_user"),
    ("/users/<int:user_id>/password", "GET"): hr_case(200, user_id="spare_user"),
    ("/users/<int:user_id>/password", "POST"): hr_case(200, user_id="spare_user"),
    ("/users/<int:user_id>/deactivate", "GET"): hr_case(200, user_id="spare_user"),
    ("/users/<int:user_id>/deactivate", "POST"): hr_case(Redirect("/users/{spare_user}/edit"),
                                                          user_id="spare_user"),
    ("/users/<int:user_id>/reactivate", "POST"): hr_case(Redirect("/users/{spare_user}/edit"),
                                                          user_id="spare_user"),
    # --- rounds (HR) ---------------------------------------------------------------------------
    ("/rounds", "GET"): hr_case(200),
    ("/rounds/new", "GET"): hr_case(200),
    ("/rounds/new", "POST"): hr_case(200),
    ("/rounds/<int:round_id>", "GET"): hr_case(200, round_id="closed_round")
    + hr_case(200, round_id="open_round") + hr_case(200, round_id="draft")
    + hr_case(404, round_id=999_999),
    ("/rounds/<int:round_id>/edit", "GET"): hr_case(200, round_id="draft"),
    ("/rounds/<int:round_id>/edit", "POST"): hr_case(200, round_id="draft"),
    ("/rounds/<int:round_id>/statements", "GET"): hr_case(200, round_id="draft"),
    ("/rounds/<int:round_id>/statements", "POST"): hr_case(200, round_id="draft"),
    ("/rounds/<int:round_id>/launch", "GET"): hr_case(200, round_id="draft_launch"),
    ("/rounds/<int:round_id>/launch", "POST"): hr_case(Redirect("/rounds/{draft_launch}"),
                                                        round_id="draft_launch"),
    ("/rounds/<int:round_id>/delete", "GET"): hr_case(200, round_id="draft_delete"),
    ("/rounds/<int:round_id>/delete", "POST"): hr_case(Redirect("/rounds"),
                                                        round_id="draft_delete"),
    ("/rounds/<int:round_id>/send", "POST"): hr_case(Redirect("/rounds/{open_round}"),
                                                      round_id="open_round"),
    ("/rounds/<int:round_id>/remind", "POST"): hr_case(Redirect("/rounds/{open_round}"),
                                                        round_id="open_round"),
    # Survey links: a page that says what exporting means, then a recorded POST (the CSV).
    # A closed round's links no longer work: back to the round's page.
    ("/rounds/<int:round_id>/links", "GET"): hr_case(200, round_id="open_round")
    + hr_case(Redirect("/rounds/{closed_round}"), round_id="closed_round"),
    ("/rounds/<int:round_id>/links", "POST"): hr_case(200, round_id="open_round")
    + hr_case(Redirect("/rounds/{closed_round}"), round_id="closed_round"),
    ("/rounds/<int:round_id>/reminders", "GET"): hr_case(200, round_id="open_round")
    + hr_case(Redirect("/rounds/{closed_round}"), round_id="closed_round"),
    ("/rounds/<int:round_id>/reminders", "POST"): hr_case(200, round_id="open_round"),
    ("/rounds/<int:round_id>/reminders/<int:reminder_id>/cancel", "POST"): hr_case(
        Redirect("/rounds/{open_round}/reminders"), round_id="open_round", reminder_id=999),
    ("/rounds/<int:round_id>/extend", "GET"): hr_case(200, round_id="open_round"),
    ("/rounds/<int:round_id>/extend", "POST"): hr_case(200, round_id="open_round"),
    ("/rounds/<int:round_id>/close", "GET"): hr_case(200, round_id="round_to_close"),
    ("/rounds/<int:round_id>/close", "POST"): hr_case(Redirect("/rounds/{round_to_close}"),
                                                       round_id="round_to_close"),
    # HR's preview of the survey (nothing is saved).
    ("/rounds/<int:round_id>/preview", "GET"): hr_case(200, round_id="open_round"),
    ("/rounds/<int:round_id>/preview/<int:number>", "GET"): hr_case(200, round_id="open_round",
                                                                     number=1),
    # --- survey: the link is the key -----------------------------------------------------------
    ("/s/<token>", "GET"): [Case({"token": "employee"}, link_holder(200))],
    ("/s/<token>/step/<int:number>", "GET"): [Case({"token": "employee", "number": 1},
                                                   link_holder(200))],
    ("/s/<token>/step/<int:number>", "POST"): [Case({"token": "employee", "number": 1},
                                                    link_holder(Redirect("/s/")))],
    ("/s/<token>/review", "GET"): [Case({"token": "employee"}, link_holder(200))],
    ("/s/<token>/submit", "POST"): [Case({"token": "submit"}, link_holder(Redirect("/s/")))],
    ("/s/<token>/thanks", "GET"): [Case({"token": "done"}, link_holder(200))],
    # --- reports: the team's leader (and the leaders above it) and HR --------------------------
    ("/reports/", "GET"): [Case({}, staff(Redirect("/reports/{closed_round}/{team_a}"),
                                          Redirect("/reports/{closed_round}/{sales}"),
                                          Redirect(f"/reports/{{closed_round}}/{ORGANISATION}")))],
    ("/reports/heat.css", "GET"): [Case({}, everyone(200))],
    ("/reports/<int:round_id>/<int:team_id>", "GET"): REPORT_CASES,
    ("/reports/<int:round_id>/<int:team_id>/aggregates.csv", "GET"): REPORT_CASES,
    # PDFs take a second each: the access rules are the same code as the page's (above).
    ("/reports/<int:round_id>/<int:team_id>/report.pdf", "GET"): [
        REPORT_CASES[0], REPORT_CASES[3], REPORT_CASES[4]],
    # Every report of a round: HR only; none prepared here yet, so to the round's progress.
    ("/reports/<int:round_id>/all-reports.zip", "GET"): [
        Case({"round_id": "closed_round"}, hr_only(Redirect("/rounds/{closed_round}"))),
        Case({"round_id": "open_round"}, hr_only(404)),
    ],
}


def declared_routes() -> set[tuple[str, str]]:
    return set(MATRIX)


def app_routes(app: Flask) -> set[tuple[str, str]]:
    return {(rule.rule, method) for rule in app.url_map.iter_rules()
            for method in rule.methods - IGNORED_METHODS}


def test_every_route_has_an_entry(app):
    missing = app_routes(app) - declared_routes()
    stale = declared_routes() - app_routes(app)
    assert not missing, f"routes with no declared outcome (add them to MATRIX): {sorted(missing)}"
    assert not stale, f"entries for routes that no longer exist: {sorted(stale)}"


def test_every_entry_declares_every_actor():
    for route, cases in MATRIX.items():
        assert cases, route
        for case in cases:
            assert set(case.outcomes) == set(ACTORS), route


# --- running the table -------------------------------------------------------------------------

VARIABLE = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")


def build_url(rule: str, case: Case, actor: str, world: World) -> str:
    def value(match: re.Match) -> str:
        name = match.group(1)
        raw = case.args[name]
        if name == "token":
            if raw == "upload":
                return world.upload_token
            return world.tokens[raw] if actor == EMPLOYEE else FORGED_TOKEN
        if isinstance(raw, int):
            return str(raw)
        return str(world.ids[raw]) if name != "filename" else raw

    return VARIABLE.sub(value, rule)


@dataclass(frozen=True)
class Answer:
    """What a request got back, read and closed at once (a static file holds a file open)."""

    status: int
    location: str
    html: str

    def __str__(self):
        return f"{self.status} -> {self.location}" if self.location else str(self.status)


def fetch(client, method: str, url: str, **kwargs) -> Answer:
    response = client.open(url, method=method, **kwargs)
    try:
        location = urlsplit(response.headers.get("Location", "")).path
        html = response.get_data(as_text=True) if response.mimetype == "text/html" else ""
        return Answer(response.status_code, location, html)
    finally:
        response.close()


def matches(answer: Answer, outcome: Outcome, world: World) -> bool:
    if isinstance(outcome, Redirect):
        return answer.status == 302 and answer.location.startswith(outcome.prefix.format(**world.ids))
    return answer.status == outcome


class Actors:
    """One client per actor, signed in once; re-signed in after a case that signs out."""

    def __init__(self, app: Flask, world: World):
        self.app, self.world = app, world
        self.clients = {actor: self._new(actor) for actor in ACTORS}

    def _new(self, actor: str):
        return signed_in(self.app, self.world.emails.get(actor))

    def client(self, actor: str):
        return self.clients[actor]

    def renew(self, actor: str) -> None:
        self.clients[actor] = self._new(actor)

    def csrf_token(self, actor: str) -> str:
        # Any form of the site carries the session's token: the sign-in form for visitors,
        # the sign-out button in the header for users.
        url = "/account/password" if actor in self.world.emails else "/login"
        return self.clients[actor].csrf_token(url)


POST_FORM = re.compile(r"<form\b[^>]*method=\"post\"[^>]*>(.*?)</form>", re.S | re.I)


def post_forms_without_token(html: str) -> int:
    return sum(1 for body in POST_FORM.findall(html) if 'name="csrf_token"' not in body)


def checks(method: str):
    for (rule, route_method), cases in MATRIX.items():
        if route_method == method:
            for case in cases:
                for actor in ACTORS:
                    yield rule, case, actor


def test_every_actor_gets_the_declared_outcome_on_every_route(app, world):
    actors = Actors(app, world)
    failures, tokenless_forms, count = [], [], 0
    for rule, case, actor in checks("GET"):
        url = build_url(rule, case, actor, world)
        answer = fetch(actors.client(actor), "GET", url)
        count += 1
        if not matches(answer, case.outcomes[actor], world):
            failures.append(f"GET {url} as {actor}: expected {case.outcomes[actor]}, got {answer}")
        # The survey's forms (and HR's preview of them) are deliberately token-free.
        elif not is_survey(app, rule) and post_forms_without_token(answer.html):
            tokenless_forms.append(f"GET {url} as {actor}")
    for rule, case, actor in checks("POST"):
        url = build_url(rule, case, actor, world)
        answer = fetch(actors.client(actor), "POST", url,
                       data={"csrf_token": actors.csrf_token(actor)})
        count += 1
        if not matches(answer, case.outcomes[actor], world):
            failures.append(f"POST {url} as {actor}: expected {case.outcomes[actor]}, got {answer}")
        if rule == "/logout":
            actors.renew(actor)
    assert not failures, f"{len(failures)} of {count} checks failed:\n" + "\n".join(failures)
    assert not tokenless_forms, "pages with a post form lacking a CSRF token:\n" + "\n".join(
        tokenless_forms)


def is_survey(app: Flask, rule: str) -> bool:
    return any(r.endpoint.startswith("survey.") for r in app.url_map.iter_rules() if r.rule == rule)


def test_refused_posts_change_nothing(app, world, db):
    """A leader's or a visitor's post to HR's actions leaves the objects as they were."""
    for actor in (ANON, EMPLOYEE, LEADER_A, LEADER_B):
        client = signed_in(app, world.emails.get(actor))
        token = client.csrf_token("/account/password" if actor in world.emails else "/login")
        for url in (f"/people/{world.ids['spare_person']}/archive",
                    f"/teams/{world.ids['spare_team']}/archive",
                    f"/users/{world.ids['spare_user']}/deactivate",
                    f"/rounds/{world.ids['round_to_close']}/close",
                    f"/rounds/{world.ids['draft_delete']}/delete",
                    f"/rounds/{world.ids['draft_launch']}/launch",
                    f"/rounds/{world.ids['open_round']}/links"):
            assert fetch(client, "POST", url, data={"csrf_token": token}).status in (302, 403), url
    db.session.rollback()
    assert db.session.get(Person, world.ids["spare_person"]).archived_at is None
    assert db.session.get(Team, world.ids["spare_team"]).archived_at is None
    assert db.session.get(User, world.ids["spare_user"]).is_active
    assert db.session.get(Round, world.ids["round_to_close"]).status == RoundStatus.OPEN
    assert db.session.get(Round, world.ids["draft_delete"]) is not None
    assert db.session.get(Round, world.ids["draft_launch"]).status == RoundStatus.DRAFT
    assert db.session.scalar(select(func.count(LinkExport.id))) == 0


@pytest.mark.parametrize("actor", [ANON, LEADER_A])
def test_methods_a_route_does_not_take_are_refused(app, world, actor):
    """A method outside a rule's methods gets 405 (before any CSRF or access check)."""
    client = signed_in(app, world.emails.get(actor))
    for rule in app.url_map.iter_rules():
        methods = rule.methods - IGNORED_METHODS
        other = "DELETE" if "POST" in methods else "POST"
        case = MATRIX[(rule.rule, sorted(methods)[0])][0]
        url = build_url(rule.rule, case, actor, world)
        assert fetch(client, other, url).status == 405, (other, url)
