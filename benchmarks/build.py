"""Build the benchmark database: the synthetic organisation, two closed rounds and an open one.

The schema comes from the app's migrations (``flask db upgrade``), so the benchmark measures the
schema production gets. Rows go in with SQLAlchemy Core ``insert()`` executemany in large
batches, never through the ORM one by one; answers are generated in response-id order, so
that every index is filled by appending. The PostgreSQL database is a copy of the SQLite one
(with COPY), so both databases hold exactly the same organisation and answers.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from types import SimpleNamespace

from flask_migrate import upgrade
from sqlalchemy import create_engine, event, insert, text

from surveyapp import MIGRATIONS_DIR, create_app
from surveyapp.demo_results import (
    IDEAS,
    OBSTACLES,
    Deck,
    drift,
    simulate_answers,
    simulate_comments,
    team_levels,
)
from surveyapp.extensions import db
from surveyapp.instrument import COMMENT_MAX_LENGTH, load_default
from surveyapp.models import (
    Answer,
    Comment,
    Draft,
    Invitation,
    Participation,
    Person,
    Response,
    Round,
    RoundTeam,
    Team,
    User,
    round_scope,
)
from surveyapp.rounds.tallies import store_tallies
from surveyapp.sealing import draft_context, draft_key, seal, sealed_size
from surveyapp.survey.steps import steps_of

from . import organisation as org

#: The app's secret key during benchmarks: invitation tokens are HMACs under it.
SECRET_KEY = "benchmark-secret-key-benchmark-secret-key-0123456789"
BATCH = 50_000
#: The HR admin whose reports are measured (the password is never used).
HR_EMAIL = "hr@bench.example"
CREATED = datetime(2024, 1, 8, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Manifest:
    """What the measurements need to know about a built database."""

    sizes: str
    teams: int
    people: int
    closed_round_ids: tuple[int, int]
    open_round_id: int
    #: The team whose report and PDF are measured: a group of teams on the fourth level.
    team_id: int
    team_path: str
    team_people: int
    team_subtree: int
    answers: int
    #: Survey links of the open round, each with a saved draft: some to submit, some to open.
    submit_tokens: tuple[str, ...]
    get_tokens: tuple[str, ...]

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=1))

    @classmethod
    def load(cls, path: Path) -> Manifest:
        data = json.loads(path.read_text())
        for key in ("closed_round_ids", "submit_tokens", "get_tokens"):
            data[key] = tuple(data[key])
        return cls(**data)


def token_for(nonce: str) -> str:
    """surveyapp.rounds.tokens.token_for under the benchmark's key (no app context needed)."""
    digest = hmac.new(SECRET_KEY.encode(), b"invitation:" + nonce.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()[:32]


def hash_token(token: str) -> str:
    """surveyapp.rounds.tokens.hash_token under the benchmark's key."""
    return hmac.new(SECRET_KEY.encode(), b"token hash:" + token.encode(), hashlib.sha256).hexdigest()


def bench_config(url: str) -> dict:
    """The app configuration of every benchmark process (gunicorn gets it as variables)."""
    return {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": SECRET_KEY, "ENV": "production"}


def migrate(url: str) -> None:
    """Create the schema with the app's migrations."""
    app = create_app(bench_config(url))
    with app.app_context():
        upgrade(directory=str(MIGRATIONS_DIR))
        db.engine.dispose()


def build_sqlite(path: Path, sizes: org.Sizes, log=print) -> Manifest:
    """Build the whole benchmark database in a new SQLite file at ``path``."""
    if path.exists():
        path.unlink()
    url = f"sqlite:///{path}"
    migrate(url)
    engine = create_engine(url)

    @event.listens_for(engine, "connect")
    def _fast(dbapi_connection, _record):
        # A file being built from scratch: no journal, no fsync, no checks of generated keys.
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "foreign_keys=OFF",
                       "cache_size=-262144"):
            dbapi_connection.execute(f"PRAGMA {pragma}")

    with engine.begin() as conn:
        manifest = Generator(sizes, conn, log).run()
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA journal_mode=WAL")
    engine.dispose()
    store_round_tallies(url, manifest.closed_round_ids)
    log("  tallied the closed rounds")
    return manifest


def store_round_tallies(url: str, round_ids) -> None:
    """What closing a round does besides its status: store each team's tally (the app's code)."""
    app = create_app(bench_config(url))
    with app.app_context():
        for round_id in round_ids:
            store_tallies(db.session.get(Round, round_id))
        db.session.commit()
        db.engine.dispose()


class Generator:
    def __init__(self, sizes: org.Sizes, conn, log):
        self.sizes, self.conn, self.log = sizes, conn, log
        self.rng = random.Random(org.SEED)
        self.instrument = load_default()
        self.today = date.today()
        self.answers = 0
        self.invitation_id = 0

    def write(self, table, rows: Iterable[dict]) -> int:
        """Insert ``rows`` with Core executemany, ``BATCH`` at a time; return how many."""
        statement = insert(table.__table__ if hasattr(table, "__table__") else table)
        batch, total = [], 0
        for row in rows:
            batch.append(row)
            if len(batch) >= BATCH:
                self.conn.execute(statement, batch)
                total += len(batch)
                batch = []
        if batch:
            self.conn.execute(statement, batch)
            total += len(batch)
        return total

    def run(self) -> Manifest:
        sizes, rng = self.sizes, self.rng
        self.teams = org.build_teams(sizes)
        counts = org.headcounts(sizes, self.teams, rng)
        self.people = org.build_people(self.teams, counts, rng)
        self.paths = org.paths(self.teams)
        self.counts = counts
        self.write(Team, ({"id": t.id, "name": t.name, "parent_id": t.parent_id,
                           "created_at": CREATED} for t in self.teams))
        self.write(Person, ({**vars(p), "created_at": CREATED, "updated_at": CREATED}
                            for p in self.people))
        self.write(User, [{"id": 1, "email": HR_EMAIL, "name": "Bench HR", "role": "hr",
                           "password_hash": "!", "is_active_account": True,
                           "session_version": 1, "created_at": CREATED}])
        self.log(f"  {len(self.teams):,} teams, {len(self.people):,} people")
        levels = team_levels([SimpleNamespace(id=t.id) for t in self.teams], rng)
        first = self.closed_round(1, "Spring survey", self.today - timedelta(days=400), levels)
        levels = drift(levels, rng)
        second = self.closed_round(2, "Autumn survey", self.today - timedelta(days=218), levels)
        submit, get = self.open_round(3, drift(levels, rng))
        team = self.measured_team()
        subtree = self.subtree(team.id)
        return Manifest(
            sizes=sizes.name, teams=len(self.teams), people=len(self.people),
            closed_round_ids=(first, second), open_round_id=3, team_id=team.id,
            team_path=self.paths[team.id], team_subtree=len(subtree),
            team_people=sum(counts[t] for t in subtree), answers=self.answers,
            submit_tokens=tuple(submit), get_tokens=tuple(get),
        )

    def measured_team(self) -> org.TeamSpec:
        """The first group of teams (fourth level) in the tree: a leader's typical report."""
        level = min(3, len(self.sizes.levels) - 1)
        return next(t for t in self.teams if t.level == level)

    def subtree(self, team_id: int) -> list[int]:
        children: dict[int | None, list[int]] = {}
        for t in self.teams:
            children.setdefault(t.parent_id, []).append(t.id)
        out, stack = [], [team_id]
        while stack:
            current = stack.pop()
            out.append(current)
            stack.extend(children.get(current, []))
        return out

    def add_round(self, round_id: int, name: str, opens_on: date, closes_on: date,
                  status: str) -> None:
        launched = datetime.combine(opens_on, time(9), tzinfo=UTC)
        closed = datetime.combine(closes_on, time(18), tzinfo=UTC) if status == "closed" else None
        self.write(Round, [{
            "id": round_id, "name": name, "status": status, "opens_on": opens_on,
            "closes_on": closes_on, "min_group_size": 5, "min_comment_group_size": 5,
            "instrument": self.instrument.to_dict(), "reminder_batches": 0,
            "created_at": launched - timedelta(days=7), "launched_at": launched,
            "closed_at": closed,
        }])
        root = next(t.id for t in self.teams if t.parent_id is None)
        self.write(round_scope, [{"round_id": round_id, "team_id": root}])
        self.write(RoundTeam, ({
            "round_id": round_id, "team_id": t.id, "parent_team_id": t.parent_id,
            "name": t.name, "path": self.paths[t.id], "invited": self.counts[t.id],
        } for t in self.teams))

    def invitations(self, round_id: int, sent: datetime) -> dict[int, tuple[int, str]]:
        """Invite everyone; return (invitation id, token) by person id."""
        out, rows = {}, []
        for person in self.people:
            self.invitation_id += 1
            nonce = f"{self.rng.getrandbits(128):032x}"
            token = token_for(nonce)
            out[person.id] = (self.invitation_id, token)
            rows.append({"id": self.invitation_id, "round_id": round_id, "person_id": person.id,
                         "team_id": person.team_id, "nonce": nonce,
                         "token_hash": hash_token(token),
                         "sent_at": sent, "reminder_batch": 0})
        self.write(Invitation, rows)
        return out

    def closed_round(self, round_id: int, name: str, opens_on: date,
                     levels: dict[int, float]) -> int:
        closes_on = opens_on + timedelta(days=14)
        self.add_round(round_id, name, opens_on, closes_on, "closed")
        self.invitations(round_id, datetime.combine(opens_on, time(9), tzinfo=UTC))
        chosen = org.respondents(self.people, self.teams, self.sizes.responses, self.rng)
        self.write(Participation, ({"round_id": round_id, "person_id": p.id} for p in chosen))
        ids = set()
        while len(ids) < len(chosen):
            ids.add(self.rng.getrandbits(62) or 1)
        pairs = sorted(zip(sorted(ids), self.rng.sample(chosen, len(chosen)), strict=True))
        self.write(Response, ({"id": rid, "round_id": round_id, "team_id": p.team_id,
                               "location": p.location, "role_level": p.role_level,
                               "tenure_band": p.tenure_band} for rid, p in pairs))
        comments: list[dict] = []
        ideas, obstacles = Deck(IDEAS, self.rng), Deck(OBSTACLES, self.rng)
        answers = self.write(Answer, self._answers(pairs, levels, comments, ideas, obstacles))
        self.answers += answers
        self.write(Comment, comments)
        self.log(f"  round {round_id}: {len(chosen):,} responses, {answers:,} answers, "
                 f"{len(comments):,} comments")
        return round_id

    def _answers(self, pairs, levels, comments: list[dict], ideas: Deck,
                 obstacles: Deck) -> Iterator[dict]:
        rng, instrument = self.rng, self.instrument
        for response_id, person in pairs:
            for key, value in simulate_answers(instrument, levels[person.team_id], rng).items():
                yield {"response_id": response_id, "statement_key": key, "value": value}
            for question, text_ in simulate_comments(rng, ideas, obstacles).items():
                comments.append({"id": rng.getrandbits(62) or 1, "response_id": response_id,
                                 "question_key": question, "text": text_})

    def open_round(self, round_id: int, levels: dict[int, float]) -> tuple[list[str], list[str]]:
        """An open round with saved drafts: the links the survey load runs use."""
        opens_on = self.today - timedelta(days=1)
        self.add_round(round_id, "Benchmark survey", opens_on, self.today + timedelta(days=30),
                       "open")
        invited = self.invitations(round_id, datetime.combine(opens_on, time(9), tzinfo=UTC))
        drafted = self.rng.sample(self.people, min(self.sizes.drafts, len(self.people)))
        last_step = len(steps_of(self.instrument)) + 1
        ideas, obstacles = Deck(IDEAS, self.rng), Deck(OBSTACLES, self.rng)
        size = sealed_size(self.instrument.statement_keys,
                           [q.key for q in self.instrument.questions], COMMENT_MAX_LENGTH)
        self.write(Draft, ({
            "invitation_id": invited[p.id][0],
            "sealed": seal(draft_key(invited[p.id][1]), {
                "answers": simulate_answers(self.instrument, levels[p.team_id], self.rng),
                "comments": simulate_comments(self.rng, ideas, obstacles),
                "step": last_step,
            }, draft_context(invited[p.id][0]), size),
        } for p in drafted))
        tokens = [invited[p.id][1] for p in drafted]
        split = len(tokens) * 3 // 4
        return tokens[:split], tokens[split:]


# --- PostgreSQL: a copy of the SQLite database ------------------------------------------------


def copy_to_postgresql(sqlite_path: Path, url: str, log=print) -> None:
    """Create the schema in the (empty) PostgreSQL database at ``url`` with the migrations and
    copy every row of the SQLite database into it with COPY."""
    migrate(url)
    engine = create_engine(url)
    source = sqlite3.connect(sqlite_path)
    tables = [t for t in db.metadata.sorted_tables if t.name != "alembic_version"]
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("SET session_replication_role = replica")  # no FK triggers
            conn.exec_driver_sql("SET TIME ZONE 'UTC'")
            cursor = conn.connection.driver_connection.cursor()
            for table in tables:
                columns = [c.name for c in table.columns]
                names = ", ".join(f'"{c}"' for c in columns)
                rows = source.execute(f'SELECT {names} FROM "{table.name}"')
                with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
                    for row in rows:
                        copy.write_row(row)
            for table in tables:
                if "id" not in table.c:
                    continue
                sequence = conn.scalar(text(f"SELECT pg_get_serial_sequence('\"{table.name}\"', 'id')"))
                if sequence:
                    conn.execute(text(f"SELECT setval('{sequence}', "
                                      f"(SELECT coalesce(max(id), 0) + 1 FROM \"{table.name}\"), false)"))
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    finally:
        source.close()
        engine.dispose()
    log("  copied to PostgreSQL")
