"""Fixtures shared by the whole suite.

Tests that use the ``app`` fixture run on SQLite. Where the database matters (operations,
queries, migrations, concurrency, security) a module says so with
``pytestmark = pytest.mark.both_databases`` and its tests run on SQLite and on a throwaway
PostgreSQL cluster that the suite starts itself. ``--db`` changes that: ``--db both`` runs every
database test on both, ``--db sqlite`` or ``--db postgresql`` every one on that one only. A test
about one database's own mechanics says so with ``@pytest.mark.only_on("sqlite")``.

CSRF protection stays on: ``client.submit(url, data)`` fetches the form's token like a browser.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask, current_app, g, has_app_context
from flask.testing import FlaskClient
from jinja2.bccache import Bucket, BytecodeCache
from sqlalchemy import text

from surveyapp import create_app
from surveyapp.auth.passwords import hash_password
from surveyapp.extensions import db as _db
from surveyapp.models import Person, Role, Team, User

from . import profiles  # noqa: F401 - registers and loads the Hypothesis profile
from .pgcluster import create_database, drop_database, start_cluster
from .redisserver import start_redis

DATABASES = ("sqlite", "postgresql")
DB_CHOICES = ("marked", "both", *DATABASES)
TEST_PASSWORD = "correct horse battery staple"
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')

def pytest_addoption(parser):
    parser.addoption(
        "--db",
        choices=DB_CHOICES,
        default=os.environ.get("SURVEYAPP_TEST_DB", "marked"),
        help="where database tests run: 'marked' (default) SQLite, and PostgreSQL too for "
             "modules marked both_databases; 'both' every test on both; or only one database",
    )


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "both_databases: the database matters here: run on SQLite and PostgreSQL")
    config.addinivalue_line(
        "markers", "only_on(kind): a test of one database's own mechanics ('sqlite' or "
                   "'postgresql'); never run on the other")


def pytest_generate_tests(metafunc):
    """Parametrize ``database_url`` (whichever fixture of that name the test sees) with the
    databases the test runs on."""
    if "database_url" not in metafunc.fixturenames:
        return
    wanted = metafunc.config.getoption("--db")
    only = metafunc.definition.get_closest_marker("only_on")
    if only:
        kinds = [only.args[0]]
    elif wanted == "marked":
        both = metafunc.definition.get_closest_marker("both_databases")
        kinds = list(DATABASES) if both else ["sqlite"]
    elif wanted == "both":
        kinds = list(DATABASES)
    else:
        kinds = [wanted]
    metafunc.parametrize("database_url", kinds, indirect=True)


#: Modules whose tests share a module-scoped scenario that takes most of their time: with
#: pytest-xdist one worker runs each of them whole, or each worker would play the scenario again.
ONE_WORKER_MODULES = frozenset({
    "tests/security/test_concurrent_submits.py",
    "tests/security/test_forensics.py",
})


def pytest_xdist_make_scheduler(config, log):
    """Hand out tests one by one, but each of ``ONE_WORKER_MODULES`` whole. (xdist's own
    ``--dist loadgroup`` marks groups by renaming test ids, which pytest 9 no longer allows.)"""
    from xdist.scheduler import LoadScopeScheduling

    class Scheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return module if module in ONE_WORKER_MODULES else nodeid

    return Scheduling(config, log)


def pytest_collection_modifyitems(config, items):
    """Run the slow tests first, so that with pytest-xdist no worker is left with a long one
    at the end; leave out a test of one database's own mechanics when only the other one is
    wanted."""
    items.sort(key=lambda item: not (item.get_closest_marker("slow")
                                     or item.get_closest_marker("browser")))
    wanted = config.getoption("--db")
    if wanted not in DATABASES:
        return
    keep, drop = [], []
    for item in items:
        param = getattr(getattr(item, "callspec", None), "params", {}).get("database_url")
        (drop if param not in (None, wanted) else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


class FormClient(FlaskClient):
    """A test client that submits forms the way a browser does, CSRF token included."""

    def open(self, *args, **kwargs):
        # The ``db`` fixture keeps an app context pushed and Flask reuses it for every request,
        # so ``g`` would outlive a request: Flask-Login's cached user and Flask-WTF's CSRF token
        # would leak into the next request, even another client's. Each request starts with an
        # empty ``g``, as in production.
        if has_app_context() and current_app._get_current_object() is self.application:
            vars(g._get_current_object()).clear()
        return super().open(*args, **kwargs)

    def csrf_token(self, url: str) -> str:
        page = self.get(url)
        match = CSRF_RE.search(page.get_data(as_text=True))
        assert match, f"no CSRF token in the form at {url} (status {page.status_code})"
        return match.group(1)

    def submit(self, url: str, data: dict | None = None, *, form_url: str | None = None,
               follow_redirects: bool = False, **kwargs):
        """GET ``form_url`` (default ``url``) for its token, then POST ``data`` to ``url``."""
        payload = dict(data or {})
        payload.setdefault("csrf_token", self.csrf_token(form_url or url))
        return self.post(url, data=payload, follow_redirects=follow_redirects, **kwargs)


@pytest.fixture(scope="session")
def pg_cluster(worker_id):
    """The URL of a PostgreSQL database for this test process: a cluster of its own, or,
    with ``SURVEYAPP_TEST_DATABASE_URL``, that database (a database of its own per pytest-xdist
    worker, created on that server)."""
    url = os.environ.get("SURVEYAPP_TEST_DATABASE_URL")
    if url:
        if worker_id != "master":
            drop_database(url, f"surveyapp_test_{worker_id}")  # a previous run's leftovers
            url = create_database(url, f"surveyapp_test_{worker_id}")
        yield url
        return
    cluster = start_cluster()
    try:
        yield cluster.createdb("surveyapp_test")
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def redis_server():
    """A Redis server of this test process's own (``.url``: its unix socket), for the queue."""
    server = start_redis()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def database_url(request, tmp_path_factory) -> Iterator[str]:
    """The URL of an empty database with the models' schema, one per database kind
    (``request.param``, set by ``pytest_generate_tests``)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite')}/test.sqlite3"
    else:
        url = request.getfixturevalue("pg_cluster")
    app = create_app(_test_config(url))
    with app.app_context():
        _db.drop_all()
        _db.create_all()
        _db.engine.dispose()
    yield url


def _test_config(url: str) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-test-secret-key-0123456789",
        "SQLALCHEMY_DATABASE_URI": url,
        "BASE_URL": "http://survey.example.test",
        # Jobs run where they are enqueued (the ``app`` fixture takes ``queue_url`` instead).
        "QUEUE_URL": "immediate",
        # Cheap hashing keeps the suite fast; production strength is tested on DEFAULTS.
        "PASSWORD_HASH_TIME_COST": 1,
        "PASSWORD_HASH_MEMORY_COST": 1024,
        "PASSWORD_HASH_PARALLELISM": 1,
    }


def _wipe(engine) -> None:
    """Empty every table and start every id at 1 again, as on a new database.

    DELETE, not TRUNCATE: a test leaves a few rows, and PostgreSQL's TRUNCATE of every table
    (new files for each) took twenty times as long as deleting them.
    """
    tables = [t.name for t in reversed(_db.metadata.sorted_tables)]
    with engine.begin() as conn:
        for name in tables:
            conn.execute(text(f"DELETE FROM {name}"))
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT setval(oid, 1, false) FROM pg_class WHERE relkind = 'S'"))


class _CompiledTemplates(BytecodeCache):
    """Jinja's compiled templates, kept in memory for the whole run: each test has an app of
    its own, and compiling every template again for each took a third of a page test's time.
    Jinja checks each template's source against what was compiled, so an edit still shows."""

    def __init__(self) -> None:
        self.compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        if bucket.key in self.compiled:
            bucket.bytecode_from_string(self.compiled[bucket.key])

    def dump_bytecode(self, bucket: Bucket) -> None:
        self.compiled[bucket.key] = bucket.bytecode_to_string()


TEMPLATES_COMPILED = _CompiledTemplates()


@pytest.fixture
def queue_url() -> str:
    """The app's ``QUEUE_URL``: jobs run where they are enqueued, unless a module overrides
    this fixture (tests/jobs/: Redis, or the SQLite queue file)."""
    return "immediate"


@pytest.fixture
def app_settings() -> dict:
    """Settings a module's tests need besides the usual ones (override this fixture)."""
    return {}


@pytest.fixture
def app(database_url, queue_url, app_settings, tmp_path, monkeypatch) -> Iterator[Flask]:
    for key in list(os.environ):
        if key.startswith("SURVEYAPP_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("SURVEYAPP_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(_test_config(database_url) | {
        "QUEUE_URL": queue_url, "QUEUE_NAME": f"test-{tmp_path.name}"} | app_settings)
    app.test_client_class = FormClient
    app.jinja_env.bytecode_cache = TEMPLATES_COMPILED
    yield app
    with app.app_context():
        _db.session.remove()
        _wipe(_db.engine)
        _db.engine.dispose()


@pytest.fixture
def client(app) -> FormClient:
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def db(app):
    """The database, inside an application context."""
    with app.app_context():
        yield _db


@pytest.fixture
def close_due_on(monkeypatch):
    """``close_due_on(day)`` does what the clock's job ``close_due`` does on ``day``: close
    every round due then, each in its own transaction; returns how many closed. The reports
    it queues are not rendered here (tests/reports covers them)."""
    from types import SimpleNamespace

    from surveyapp.rounds import jobs

    monkeypatch.setattr(jobs, "prepare_reports", SimpleNamespace(enqueue=lambda round_id: None))

    def close(day) -> int:
        monkeypatch.setattr(jobs, "today", lambda: day)
        return sum(jobs.close_if_due(round_id) for round_id in jobs.due_round_ids())

    return close


@pytest.fixture
def make_team(db):
    """``make_team("North", parent=care)`` adds and commits a team."""

    def make(name: str, parent: Team | None = None, **fields) -> Team:
        team = Team(name=name, parent=parent, **fields)
        db.session.add(team)
        db.session.commit()
        return team

    return make


@pytest.fixture
def make_person(db, make_team):
    """``make_person(team=north)`` adds and commits a person with a unique e-mail."""
    counter = iter(range(1, 1_000_000))

    def make(team: Team | None = None, email: str | None = None, name: str | None = None,
             **fields) -> Person:
        n = next(counter)
        person = Person(
            email=email or f"person{n}@example.test",
            name=name or f"Person {n}",
            team=team or make_team(f"Team for person {n}"),
            **fields,
        )
        db.session.add(person)
        db.session.commit()
        return person

    return make


@pytest.fixture
def make_user(db):
    """``make_user(role="leader", teams=[north])`` adds and commits a user.

    Every user's password is ``TEST_PASSWORD``.
    """
    counter = iter(range(1, 1_000_000))

    def make(role: str = Role.HR, email: str | None = None, name: str | None = None,
             teams: list[Team] | None = None, password: str = TEST_PASSWORD) -> User:
        n = next(counter)
        user = User(
            email=email or f"{role}{n}@example.test",
            name=name or f"{Role.LABELS[role]} {n}",
            role=role,
            password_hash=hash_password(password),
            teams=list(teams or []),
        )
        db.session.add(user)
        db.session.commit()
        return user

    return make


class AuthActions:
    def __init__(self, client: FormClient):
        self.client = client

    def login(self, email: str, password: str = TEST_PASSWORD, follow_redirects=False):
        return self.client.submit(
            "/login", {"email": email, "password": password}, follow_redirects=follow_redirects
        )

    def logout(self):
        # The sign-out button is in the header of every page for a signed-in user.
        return self.client.submit("/logout", form_url="/account/password")

    def login_as(self, user: User):
        response = self.login(user.email)
        assert response.status_code == 302, response.get_data(as_text=True)
        return user


@pytest.fixture
def auth(client) -> AuthActions:
    return AuthActions(client)


@pytest.fixture
def hr(make_user, auth) -> User:
    """An HR admin, signed in on ``client``."""
    return auth.login_as(make_user(Role.HR, email="hr@example.test", name="Hana Reyes"))


ARTIFACTS = Path(os.environ.get("SURVEYAPP_ARTIFACTS", Path(__file__).parent.parent / ".artifacts"))


# --- Browser tests: a live server in a thread and Debian's Chromium driven by Playwright ------

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]


@pytest.fixture
def live_server(app) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1 in a thread; yields the base URL."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture(scope="session")
def browser():
    import shutil

    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    assert executable, "Chromium is not installed: apt-get install chromium"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    """A desktop-sized page (1280 × 800)."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def phone_page(browser):
    """A phone-sized page (360 × 740, touch)."""
    context = browser.new_context(
        viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True,
        has_touch=True,
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def screenshot(request):
    """``screenshot(page, "name")`` saves a full-page PNG under .artifacts/screenshots/."""
    folder = ARTIFACTS / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    db_kind = getattr(getattr(request.node, "callspec", None), "params", {}).get("database_url", "")

    def take(page, name: str) -> Path:
        path = folder / f"{name}{'-' + db_kind if db_kind else ''}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def assert_accessible(page) -> None:
    """Run axe-core on the page; fail listing every WCAG 2.1 A/AA violation."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(
        page, options={"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
    )
    violations = results.response["violations"]
    details = [
        f"{v['id']}: {v['help']} -> {[n['target'] for n in v['nodes']][:5]}" for v in violations
    ]
    assert not violations, "accessibility violations:\n" + "\n".join(details)
