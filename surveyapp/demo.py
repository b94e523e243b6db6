"""The demo organisation: ``flask --app surveyapp seed-demo``.

Builds Northwind Services, a service company of ten teams on three levels and about a hundred
people, with an HR admin and two leaders whose e-mails and passwords the command prints, and
three assessment rounds: two closed ones a year and six months ago (so reports show trends) and
an open one, partly answered, that closes in eleven days. Everything is generated from a fixed
seed, so every installation gets the same organisation and the same answers.

Running it again adds only what is missing (teams are matched by their path, people and users
by e-mail; rounds are added only to a database that has none) and never changes a password
unless asked to with ``--reset-passwords``.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from .auth.passwords import hash_password, verify_password
from .clock import today
from .demo_results import drift, run_round, team_levels
from .extensions import db
from .models import Person, Role, Round, RoundStatus, Team, User
from .orgtree import PATH_SEPARATOR
from .reports.jobs import prepare_reports

SEED = 2026
DOMAIN = "example.com"

LEEDS, BRISTOL, REMOTE = "Leeds", "Bristol", "Remote"
MEMBER, LEAD, MANAGER = "Team member", "Team lead", "Manager"
TENURE_BANDS = ("Less than 1 year", "1–3 years", "More than 3 years")


@dataclass(frozen=True)
class DemoTeam:
    path: str
    #: How many people belong to this team itself (not counting teams below).
    headcount: int
    #: Where its people work, with weights.
    locations: dict[str, int]


TEAMS = (
    DemoTeam("Northwind Services", 4, {LEEDS: 2, BRISTOL: 2}),
    DemoTeam("Northwind Services/Operations", 2, {LEEDS: 1, BRISTOL: 1}),
    DemoTeam("Northwind Services/Operations/Customer Care North", 18, {LEEDS: 5, REMOTE: 1}),
    DemoTeam("Northwind Services/Operations/Customer Care South", 17, {BRISTOL: 5, REMOTE: 1}),
    DemoTeam("Northwind Services/Operations/Field Service", 16, {LEEDS: 1, BRISTOL: 1}),
    DemoTeam("Northwind Services/Sales & Accounts", 14, {BRISTOL: 3, LEEDS: 1, REMOTE: 1}),
    DemoTeam("Northwind Services/Support Functions", 2, {LEEDS: 1}),
    DemoTeam("Northwind Services/Support Functions/Finance", 9, {LEEDS: 1}),
    DemoTeam("Northwind Services/Support Functions/People & HR", 7, {BRISTOL: 2, LEEDS: 1}),
    DemoTeam("Northwind Services/Support Functions/IT Service Desk", 11, {REMOTE: 2, LEEDS: 1}),
)


@dataclass(frozen=True)
class DemoUser:
    label: str
    name: str
    role: str
    password: str
    team_path: str
    #: The user's own place in the directory: they answer surveys like everyone else.
    role_level: str = MANAGER


USERS = (
    DemoUser("HR admin: sees every team and runs the rounds", "Grace Mensah", Role.HR,
             "lantern-harbour-copper-2026", "Northwind Services/Support Functions/People & HR"),
    DemoUser("Leader of Operations and the three teams below it", "Rahul Mehta", Role.LEADER,
             "meadow-violin-tractor-2026", "Northwind Services/Operations"),
    DemoUser("Leader of Customer Care North", "Eilidh Campbell", Role.LEADER,
             "orbit-pebble-saffron-2026", "Northwind Services/Operations/Customer Care North"),
)

FIRST_NAMES = (
    "Aaliyah", "Adebayo", "Agnieszka", "Aisha", "Alejandro", "Amara", "Amir", "Anna", "Aoife",
    "Arjun", "Ben", "Bogdan", "Callum", "Chen", "Chidi", "Chloe", "Dafydd", "Deepa", "Diego",
    "Eleni", "Emeka", "Emily", "Farah", "Fatima", "Finn", "Freya", "Hamza", "Hannah", "Hiroshi",
    "Imani", "Ines", "Isaac", "Jack", "Jasmine", "Jonas", "Kemi", "Kwame", "Laila", "Liam",
    "Lucía", "Mai", "Marek", "Maria", "Mohammed", "Nadia", "Niamh", "Noah", "Olivia", "Omar",
    "Oskar", "Priya", "Rosa", "Ruth", "Sam", "Sanjay", "Sofia", "Tariq", "Thomas", "Tomasz",
    "Wei", "Yasmin", "Yusuf", "Zainab", "Zoë",
)
SURNAMES = (
    "Abiodun", "Ahmed", "Ali", "Andersson", "Bailey", "Begum", "Brennan", "Chen", "Costa",
    "Davies", "Dubois", "Evans", "Fernández", "Fitzgerald", "Gallagher", "Green", "Gupta",
    "Hassan", "Hughes", "Ibrahim", "Jones", "Kaur", "Khan", "Kim", "Kowalski", "Lewis", "Li",
    "Martin", "Mensah", "Morgan", "Murphy", "Nakamura", "Nguyen", "Novak", "O'Brien", "Okafor",
    "Olsen", "Osei", "Patel", "Petrov", "Popescu", "Quinn", "Rahman", "Reid", "Roberts", "Rossi",
    "Santos", "Schmidt", "Shah", "Singh", "Smith", "Taylor", "Thomas", "Walker", "Williams",
    "Wiśniewska", "Wright", "Yilmaz", "Zhang",
)


@dataclass(frozen=True)
class DemoPerson:
    name: str
    email: str
    team_path: str
    location: str
    role_level: str
    tenure_band: str


@dataclass(frozen=True)
class Credential:
    label: str
    email: str
    password: str
    #: "created", "unchanged", "reset" or "changed" (someone changed it since seeding).
    status: str


@dataclass(frozen=True)
class DemoSummary:
    teams_added: int
    people_added: int
    people_total: int
    credentials: list[Credential]
    #: The demo rounds added now (an empty list when they were all there already).
    rounds_added: list[str]


def email_for(name: str) -> str:
    """Return "zoe.obrien@example.com" for "Zoë O'Brien"."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    parts = ["".join(c for c in part if c.isalnum()) for part in ascii_name.lower().split()]
    return ".".join(parts) + "@" + DOMAIN


def parent_path(path: str) -> str | None:
    head, _, _ = path.rpartition(PATH_SEPARATOR)
    return head or None


def build_teams() -> tuple[dict[str, Team], int]:
    """Add the demo teams that are missing; return ({path: team}, how many were added)."""
    teams: dict[str, Team] = {}
    added = 0
    for spec in TEAMS:
        name = spec.path.rpartition(PATH_SEPARATOR)[2]
        parent = teams.get(parent_path(spec.path) or "")
        team = db.session.scalar(
            select(Team).where(
                Team.name == name,
                (Team.parent_id == parent.id) if parent else Team.parent_id.is_(None),
            )
        )
        if team is None:
            team = Team(name=name, parent=parent)
            db.session.add(team)
            db.session.flush()
            added += 1
        teams[spec.path] = team
    return teams, added


def demo_people(rng: random.Random) -> list[DemoPerson]:
    """The whole demo directory, the same for the same ``rng`` seed."""
    pairs = [(first, last) for first in FIRST_NAMES for last in SURNAMES if first != last]
    rng.shuffle(pairs)
    names = (f"{first} {last}" for first, last in pairs)
    taken = {email_for(user.name) for user in USERS}
    fixed = {user.team_path: user for user in USERS}
    people = []
    for spec in TEAMS:
        leaf = not any(parent_path(other.path) == spec.path for other in TEAMS)
        for position in range(spec.headcount):
            user = fixed.get(spec.path) if position == 0 else None
            if user:
                name, role_level = user.name, user.role_level
            else:
                name = next(n for n in names if email_for(n) not in taken)
                role_level = _role_level(position, spec.headcount, leaf)
            taken.add(email_for(name))
            people.append(DemoPerson(
                name=name,
                email=email_for(name),
                team_path=spec.path,
                location=rng.choices(list(spec.locations), list(spec.locations.values()))[0],
                role_level=role_level,
                tenure_band=_tenure_band(role_level, rng),
            ))
    return people


def _role_level(position: int, headcount: int, leaf: bool) -> str:
    if not leaf or position == 0:
        return MANAGER
    leads = 2 if headcount >= 12 else 1
    return LEAD if position <= leads else MEMBER


def _tenure_band(role_level: str, rng: random.Random) -> str:
    weights = (1, 3, 6) if role_level != MEMBER else (3, 4, 3)
    return rng.choices(TENURE_BANDS, weights)[0]


def build_people(teams: dict[str, Team], rng: random.Random) -> int:
    """Add the demo people whose e-mail is not in the directory yet; return how many."""
    existing = set(db.session.scalars(select(Person.email)))
    added = 0
    for spec in demo_people(rng):
        if spec.email in existing:
            continue
        db.session.add(Person(
            name=spec.name, email=spec.email, team=teams[spec.team_path],
            location=spec.location, role_level=spec.role_level, tenure_band=spec.tenure_band,
        ))
        added += 1
    db.session.flush()
    return added


def build_users(teams: dict[str, Team], reset_passwords: bool = False) -> list[Credential]:
    """Add the HR admin and the two leaders; return their credentials and what happened.

    An existing account keeps its password unless ``reset_passwords``; a leader always leads
    their demo team.
    """
    credentials = []
    for spec in USERS:
        email = email_for(spec.name)
        user = db.session.scalar(select(User).where(User.email == email))
        if user is None:
            user = User(email=email, name=spec.name, role=spec.role,
                        password_hash=hash_password(spec.password))
            db.session.add(user)
            status = "created"
        elif reset_passwords:
            user.password_hash = hash_password(spec.password)
            user.session_version += 1
            user.is_active_account = True
            status = "reset"
        else:
            status = "unchanged" if verify_password(user.password_hash, spec.password) else "changed"
        if spec.role == Role.LEADER and teams[spec.team_path] not in user.teams:
            user.teams.append(teams[spec.team_path])
        credentials.append(Credential(spec.label, email, spec.password, status))
    db.session.flush()
    return credentials


@dataclass(frozen=True)
class DemoRound:
    #: Days from today to the opening and the closing day.
    opens_in: int
    closes_in: int
    #: The share of participants who submit.
    response_rate: float


#: A round a year ago, one six months ago, and the current one (opened ten days ago).
ROUNDS = (
    DemoRound(opens_in=-372, closes_in=-351, response_rate=0.8),
    DemoRound(opens_in=-190, closes_in=-169, response_rate=0.84),
    DemoRound(opens_in=-10, closes_in=11, response_rate=0.55),
)


def season_name(day: date) -> str:
    """Return "Autumn 2026" for a day in September to November 2026 (northern seasons)."""
    season = ("Winter", "Spring", "Summer", "Autumn")[(day.month % 12) // 3]
    year = day.year - 1 if day.month in (1, 2) else day.year
    return f"{season} {year}" if season != "Winter" else f"Winter {year}/{str(year + 1)[-2:]}"


def round_name(day: date) -> str:
    return f"{season_name(day)} service check-in"


def build_rounds(teams: dict[str, Team], now: date) -> list[str]:
    """Run the demo rounds, oldest first, into a database that has no round yet.

    Their dates follow today, so a later run would name them differently: once any round
    exists (the demo's or HR's own), rounds are left alone. Returns the names of those added.
    """
    if db.session.scalar(select(Round.id).limit(1)) is not None:
        return []
    everyone = [teams[TEAMS[0].path]]
    levels = team_levels(list(teams.values()), random.Random(SEED))
    added = []
    for number, spec in enumerate(ROUNDS):
        if number:
            levels = drift(levels, random.Random(SEED + 100 + number))
        opens_on = now + timedelta(days=spec.opens_in)
        name = round_name(opens_on)
        run_round(name=name, teams=everyone, opens_on=opens_on,
                  closes_on=now + timedelta(days=spec.closes_in), levels=levels,
                  response_rate=spec.response_rate, rng=random.Random(SEED + number),
                  close=spec.closes_in < 0)
        added.append(name)
    return added


def seed_demo(reset_passwords: bool = False, with_rounds: bool = True) -> DemoSummary:
    """Add whatever of the demo organisation is missing; the caller commits."""
    teams, teams_added = build_teams()
    people_added = build_people(teams, random.Random(SEED))
    credentials = build_users(teams, reset_passwords)
    people_total = len(db.session.scalars(select(Person.id)).all())
    rounds_added = build_rounds(teams, today()) if with_rounds else []
    return DemoSummary(teams_added, people_added, people_total, credentials, rounds_added)


def _count(n: int, one: str, many: str = "") -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


@click.command("seed-demo")
@click.option("--reset-passwords", is_flag=True,
              help="Set the demo accounts' passwords back to the printed ones.")
@click.option("--no-rounds", is_flag=True,
              help="Only the organisation and accounts: no rounds and no answers.")
@with_appcontext
def seed_demo_command(reset_passwords: bool, no_rounds: bool) -> None:
    """Add the demo organisation (idempotent) and print how to sign in."""
    if current_app.config["ENV"] == "production":
        raise click.ClickException(
            "seed-demo creates accounts with published passwords, so it does not run when "
            "ENV is production."
        )
    summary = seed_demo(reset_passwords, with_rounds=not no_rounds)
    db.session.commit()
    if summary.rounds_added:
        # Rendered by the web server's worker (or "flask worker") once it starts.
        for round_id in db.session.scalars(
                select(Round.id).where(Round.status == RoundStatus.CLOSED)).all():
            db.session.rollback()
            prepare_reports.enqueue(round_id)
    if summary.teams_added or summary.people_added:
        added = (f"{_count(summary.teams_added, 'team')} and "
                 f"{_count(summary.people_added, 'person', 'people')} added now")
    else:
        added = "it was already here, nothing added"
    click.echo(
        f"Demo organisation ready: {len(TEAMS)} teams and {summary.people_total} people "
        f"({added})."
    )
    if summary.rounds_added:
        click.echo(f"Rounds added, with answers: {', '.join(summary.rounds_added)}.")
    click.echo(f"\nSign in at {current_app.config['BASE_URL'].rstrip('/')}/login as:\n")
    for credential in summary.credentials:
        click.echo(f"  {credential.label}")
        click.echo(f"    e-mail:   {credential.email}")
        if credential.status == "changed":
            click.echo("    password: changed since the demo was seeded; run "
                       "`flask --app surveyapp seed-demo --reset-passwords` to set it back to "
                       f"{credential.password}")
        else:
            click.echo(f"    password: {credential.password}")
    click.echo("")
