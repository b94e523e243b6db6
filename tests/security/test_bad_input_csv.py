"""Bad people files: the Import page (upload, preview, apply) and ``flask import-people``.

Wrong encodings (latin-1, Windows-1252, UTF-16, UTF-32), byte order marks, mixed delimiters,
missing and doubled columns, duplicate people, broken quoting, NUL characters, markup, and
files of 50,000 lines. Whatever the file, the import either applies exactly what its preview
showed, in one transaction, or says what is wrong (by line) and writes nothing; it never
answers with a 500. Names from a file are shown as text, never as markup.
"""

from __future__ import annotations

import io
import re
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import escape
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from surveyapp.directory.csv_import import NOT_UTF8, parse_people_csv
from surveyapp.directory.queries import load_tree
from surveyapp.extensions import db as _db
from surveyapp.models import ImportUpload, Person, Team, utcnow
from surveyapp.orgtree import split_path

from ..directory.helpers import text, visible
from ..profiles import examples

# slow: attacks and fuzzing, left to the full run by scripts/test --quick.
pytestmark = [pytest.mark.both_databases, pytest.mark.slow]


#: Examples per property and database: each is an upload, and a preview and apply when the
#: file is good; enough to meet every kind of file below in a few seconds.
EXAMPLES = examples(50)
fuzz = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
BIG = 50_000
GOOD_HEADER = "email,name,team,location\r\n"


@pytest.fixture
def org(db, make_team, make_person, hr):
    ops = make_team("Operations")
    make_team("Customer Care", parent=ops)
    sales = make_team("Sales")
    make_person(team=sales, email="ana@example.com", name="Ana Lima", location="Leeds")
    make_person(team=sales, email="stay@example.com", name="Stay Put")
    return ops, sales


def counts(db) -> tuple[int, int]:
    db.session.rollback()
    return (db.session.scalar(select(func.count(Person.id))),
            db.session.scalar(select(func.count(Team.id))))


def directory(db) -> list[tuple]:
    """Every person and team as plain values: to prove that nothing was written."""
    db.session.rollback()
    people = db.session.execute(select(Person.email, Person.name, Person.team_id, Person.location,
                                       Person.role_level, Person.tenure_band, Person.archived_at)
                                .order_by(Person.email)).all()
    teams = db.session.execute(select(Team.id, Team.name, Team.parent_id).order_by(Team.id)).all()
    db.session.rollback()
    return [tuple(p) for p in people] + [tuple(t) for t in teams]


def stored_uploads(app) -> list[str]:
    """The tokens of the uploads kept for a preview."""
    _db.session.rollback()
    return sorted(_db.session.scalars(select(ImportUpload.token)))


def upload(client, data: bytes, filename: str = "people.csv"):
    """Post the file as a browser does. The body is built in memory: the test client's own
    builder spools large bodies to a temporary file that it never closes."""
    boundary, body = encode_multipart({
        "csrf_token": client.csrf_token("/people/import"),
        "file": FileStorage(io.BytesIO(data), filename=filename, content_type="text/csv"),
    })
    return client.post("/people/import", data=body,
                       content_type=f"multipart/form-data; boundary={boundary}")


def apply_from(client, preview_url: str):
    page = text(client.get(preview_url))
    action = re.search(r'action="(/people/import/[^"]+/apply[^"]*)"', page).group(1)
    fields = dict(re.findall(r'<input id="(sha256|digest)" name="\1" type="hidden" value="([^"]*)"',
                             page))
    return client.submit(action.replace("&amp;", "&"), fields, form_url=preview_url)


def refused_page(response) -> str:
    """The upload page shown again with what is wrong (never a crash); returns what it says."""
    assert response.status_code == 200, (response.status_code, text(response)[:300])
    assert "There is a problem" in text(response)
    return visible(response)


def import_cli(runner, tmp_path, data: bytes, *options: str):
    path = tmp_path / "people.csv"
    path.write_bytes(data)
    return runner.invoke(args=["import-people", str(path), *options])


# --- files that must be refused whole, with a message ---------------------------------------

ROWS = "ana@example.com,Ana Lima,Sales,Leeds\r\nzoë@example.com,Zoë Brontë,Operations/Café,Köln\r\n"
REFUSED_FILES = {
    "latin-1": ((GOOD_HEADER + ROWS).encode("latin-1"), NOT_UTF8),
    "windows-1252": ((GOOD_HEADER + ROWS + "e@example.com,Euro €,Sales,\r\n").encode("cp1252"),
                     NOT_UTF8),
    "utf-16 with bom": ((GOOD_HEADER + ROWS).encode("utf-16"), NOT_UTF8),
    "utf-16-be with bom": (b"\xfe\xff" + (GOOD_HEADER + ROWS).encode("utf-16-be"), NOT_UTF8),
    "utf-16-le without bom": ((GOOD_HEADER + ROWS).encode("utf-16-le"), NOT_UTF8),
    "utf-16-le without bom, ascii only": ((GOOD_HEADER + "a@example.com,A,Sales,\r\n").encode("utf-16-le"),
                                          "no email, name and team"),
    "utf-32": ((GOOD_HEADER + ROWS).encode("utf-32"), NOT_UTF8),
    "bom twice": ("\ufeff\ufeff".encode() + (GOOD_HEADER + ROWS).encode(), "no email column"),
    "bom only": ("\ufeff".encode(), "The file is empty"),
    "empty": (b"", "The file is empty"),
    "blank lines": (b"\r\n\r\n  \r\n", "The file is empty"),
    "header only": (GOOD_HEADER.encode(), "no people below it"),
    "header and blank lines": ((GOOD_HEADER + ",,,\r\n\r\n").encode(), "no people below it"),
    "no team column": (b"email,name\r\nana@example.com,Ana\r\n", "no team column"),
    "no columns at all": (b"ana@example.com,Ana Lima,Sales\r\n", "no email, name and team"),
    "tab separated": (b"email\tname\tteam\r\nana@example.com\tAna\tSales\r\n", "no email, name"),
    "pipe separated": (b"email|name|team\r\nana@example.com|Ana|Sales\r\n", "no email, name"),
    "column twice": (b"email,E-mail,name,team\r\na@example.com,b@example.com,A,Sales\r\n",
                     "are both the email column"),
    "header with semicolons, lines with commas": (
        b"email;name;team\r\nnew@example.com,New,Sales\r\n", "Line 2: This line has 1 values"),
    "header with commas, lines with semicolons": (
        b"email,name,team\r\nnew@example.com;New;Sales\r\n", "Line 2: This line has 1 values"),
    "mixed separators line by line": (
        b"email,name,team\r\na@example.com,A,Sales\r\nb@example.com;B;Sales\r\n",
        "Line 3: This line has 1 values"),
    "a line too short": (b"email,name,team\r\na@example.com,A\r\n", "Line 2: This line has 2"),
    "a line too long": (b"email,name,team\r\na@example.com,A,Sales,extra\r\n",
                        "Line 2: This line has 4 values"),
    "same person twice": (b"email,name,team\r\na@example.com,A,Sales\r\nA@Example.com,B,Sales\r\n",
                          "Line 3: The e-mail a@example.com is also on line 2"),
    "missing values": (b"email,name,team\r\n,A,Sales\r\nb@example.com,,Sales\r\nc@example.com,C,\r\n",
                       "Line 2: The e-mail is missing"),
    "bad e-mail": (b"email,name,team\r\nnot-an-address,A,Sales\r\n", "is not a valid e-mail"),
    "special-use domain": (b"email,name,team\r\na@localhost,A,Sales\r\n",
                           'Line 2: "a@localhost" is not a valid e-mail'),
    "nul in a value": (b"email,name,team\r\na@example.com,A\x00B,Sales\r\n", "NUL character"),
    "unterminated quote": (b'email,name,team\r\na@example.com,"Ana,Sales\r\n',
                           "Line 2: This line has 2 values"),
    "a value over the csv field limit": (b"email,name,team\r\na@example.com," + b"x" * 200_000
                                         + b",Sales\r\n", "cannot be read as CSV"),
    "a name too long": (b"email,name,team\r\na@example.com," + b"x" * 201 + b",Sales\r\n",
                        "longer than 200"),
    "a team name too long": (b"email,name,team\r\na@example.com,A," + b"t" * 121 + b"\r\n",
                             "longer than 120"),
    "a team path too long": (b"email,name,team\r\na@example.com,A," + b"/".join([b"t" * 100] * 11)
                             + b"\r\n", "longer than 1000"),
    "a location too long": (b"email,name,team,location\r\na@example.com,A,Sales," + b"l" * 81 + b"\r\n",
                            "location is longer than 80"),
    "an e-mail too long": (b"email,name,team\r\n" + b"a" * 250 + b"@example.com,A,Sales\r\n",
                           "longer than 254"),
    "binary garbage": (bytes(range(256)) * 4, NOT_UTF8),
    "a zip file": (b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(200), "no email, name and team"),
    "an archived team": (b"email,name,team\r\nnew@example.com,New,Archived\r\n", "is archived"),
    "a team inside an archived team": (b"email,name,team\r\nnew@example.com,New,Archived/Inner\r\n",
                                       "no team can be added inside"),
    "one bad line among good ones": (
        (GOOD_HEADER + "".join(f"p{i}@example.com,P {i},Sales,\r\n" for i in range(200))
         + "broken,,,\r\n").encode(), 'Line 202: "broken" is not a valid e-mail'),
}


@pytest.fixture
def archived(db, make_team):
    return make_team("Archived", archived_at=utcnow())


def test_every_bad_file_is_refused_with_its_problem_and_nothing_written_on_the_page(
        client, db, app, org, archived):
    before = directory(db)
    for case, (data, message) in REFUSED_FILES.items():
        said = refused_page(upload(client, data, f"{case}.csv"))
        line, _, problem = message.partition(": ") if message.startswith("Line ") else ("", "", message)
        # The page lists the lines in a table: "2 This line has 1 values ..."
        assert (f"{line[5:]} {problem}" if line else problem) in said, (case, said[:1500])
        assert directory(db) == before, case
        assert stored_uploads(app) == [], case


def test_every_bad_file_is_refused_by_the_command_with_its_problem_and_nothing_written(
        runner, db, tmp_path, org, archived):
    before = directory(db)
    for case, (data, message) in REFUSED_FILES.items():
        result = import_cli(runner, tmp_path, data)
        assert result.exit_code == 1, (case, result.output)
        assert "Nothing was imported" in result.output, case
        assert message in result.output.replace("\n", " "), (case, result.output)
        assert directory(db) == before, case


# --- files that are fine, however they are spelled -------------------------------------------

ACCEPTED_FILES = {
    "utf-8 with bom": ("\ufeff" + GOOD_HEADER + ROWS).encode(),
    "semicolons": (GOOD_HEADER + ROWS).replace(",", ";").encode(),
    "lf line ends": (GOOD_HEADER + ROWS).replace("\r\n", "\n").encode(),
    "cr line ends": (GOOD_HEADER + ROWS).replace("\r\n", "\r").encode(),
    "no final line end": (GOOD_HEADER + ROWS).rstrip().encode(),
    "columns spelled loosely, in another order": (
        "Team Path;E-Mail Address;Full Name;LOCATION;Employee ID\r\n"
        "Sales;ana@example.com;Ana Lima;Leeds;1\r\nOperations/Café;zoë@example.com;Zoë Brontë;Köln;2\r\n"
    ).encode(),
    "quoted values with separators and line breaks": (
        'email,name,team,location\r\nana@example.com,"Lima, Ana",Sales,"Leeds\r\nWest"\r\n'
        'zoë@example.com,"Zoë ""Z"" Brontë", Operations / Café ,Köln\r\n'
    ).encode(),
    "blank lines between people": (GOOD_HEADER + "\r\n" + ROWS + "\r\n,,,\r\n").encode(),
    "markup and scripts in every value": (
        b"email,name,team,location\r\n"
        b"ana@example.com,<script>alert('n')</script>,<b>Bold team,<img src=x onerror=alert(1)>\r\n"
    ),
}


@pytest.mark.parametrize("case", list(ACCEPTED_FILES))
def test_a_file_spelled_any_usual_way_is_previewed_then_applied_exactly(client, db, app, org, case):
    data = ACCEPTED_FILES[case]
    expected = parse_people_csv(data)
    assert expected.ok, expected.errors
    before = counts(db)

    response = upload(client, data, f"{case}.csv")
    assert response.status_code == 302, visible(response)[:500]
    preview = client.get(response.headers["Location"])
    assert preview.status_code == 200 and counts(db) == before
    assert "<script>alert" not in text(preview) and "<b>Bold" not in text(preview)
    applied = apply_from(client, response.headers["Location"])
    assert applied.status_code == 302

    people = {p.email: p for p in db.session.scalars(select(Person))}
    paths = team_paths(db)
    for row in expected.rows:
        person = people[row.email]
        assert person.name == row.name
        assert paths[person.team_id].casefold() == row.team.casefold()
    for url in ("/teams", "/people"):
        page = text(client.get(url))
        assert "<script>alert" not in page and "<b>Bold" not in page and "<img src=x" not in page
    if case.startswith("markup"):
        assert str(escape("<b>Bold team")) in text(client.get("/teams"))


def team_paths(db) -> dict[int, str]:
    tree = load_tree()
    return {team_id: tree.path(team_id) for team_id in tree.nodes}


def test_the_preview_and_apply_refuse_a_tampered_or_unknown_upload(client, db, app, org):
    response = upload(client, ACCEPTED_FILES["utf-8 with bom"])
    preview_url = response.headers["Location"]
    token = preview_url.split("/")[3].split("?")[0]
    page = text(client.get(preview_url))
    fields = dict(re.findall(r'name="(sha256|digest)" type="hidden" value="([^"]*)"', page))
    before = directory(db)
    attempts = [
        (f"/people/import/{token}/apply", {"sha256": "0" * 64, "digest": fields["digest"]}),
        (f"/people/import/{token}/apply", {"sha256": fields["sha256"], "digest": "0" * 64}),
        (f"/people/import/{token}/apply", {"sha256": "", "digest": ""}),
        (f"/people/import/{token}/apply", {"sha256": "<script>", "digest": "\u00e9" * 64}),
        (f"/people/import/{'A' * 32}/apply", fields),
        ("/people/import/..%2F..%2Fetc%2Fpasswd/apply", fields),
        (f"/people/import/{token[:-1]}/apply", fields),
    ]
    for url, data in attempts:
        refused = client.submit(url, data, form_url=preview_url)
        assert refused.status_code in (302, 404, 409), (url, refused.status_code)
        assert directory(db) == before, url
    for url in (f"/people/import/{'A' * 32}", "/people/import/short", "/people/import/%2E%2E",
                "/people/import/" + "A" * 65):
        assert client.get(url).status_code in (302, 404), url
    assert apply_from(client, preview_url).status_code == 302
    after = directory(db)
    again = client.submit(f"/people/import/{token}/apply", fields, form_url="/people/import")
    assert again.status_code == 302 and again.headers["Location"].endswith("/people/import")
    assert directory(db) == after


def test_an_upload_without_a_file_or_with_an_odd_form_is_refused(client, db, app, org):
    before = directory(db)
    assert refused_page(client.submit("/people/import", {}))
    assert refused_page(client.submit("/people/import", {"file": "not a file"}))
    assert refused_page(upload(client, b"", ""))
    wrong_type = client.submit("/people/import", {"file": "x"}, content_type="application/json")
    assert wrong_type.status_code in (200, 400)
    assert directory(db) == before and stored_uploads(app) == []


def test_a_file_over_the_size_limit_is_refused_as_too_large(client, db, app, org):
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    response = upload(client, GOOD_HEADER.encode() + b"a@example.com,A,Sales,\r\n" * 60_000)
    assert response.status_code == 413
    assert "That file is too large" in visible(response)
    assert counts(db) == (2, 3) and stored_uploads(app) == []


# --- any file: applied exactly as previewed, or nothing --------------------------------------

cell = st.one_of(
    st.text(max_size=25),
    st.sampled_from(["", " ", '"', '""', ",", ";", "\r\n", "\n", "/", " / ", "a/b", "ä/Ö/ü",
                     "<b>x</b>", "=cmd|' /C calc'!A0", "\x00", "\ufeff", "Sales", "sales",
                     "Operations/Customer Care", "OPERATIONS/customer care/New", "Archived"]),
)
email_cell = st.one_of(
    st.emails().map(str),
    st.sampled_from(["ana@example.com", "ANA@example.com", "new@example.com", "x@y", "@", "a@b.c",
                     "zoë@example.com", "a@localhost", " stay@example.com "]),
    cell,
)
header_names = st.sampled_from(["email", "E-mail", "name", "Full name", "team", "Team path",
                                "location", "Role level", "tenure", "employee id", "", "ëmail"])


@st.composite
def people_files(draw) -> bytes:
    """A CSV-like file: mostly a recognisable header and rows, in any encoding and separator."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=400))
    header = draw(st.one_of(
        st.just(["email", "name", "team"]),
        st.permutations(["email", "name", "team", "location"]).map(list),
        st.lists(header_names, min_size=1, max_size=6),
    ))
    rows = draw(st.lists(st.tuples(email_cell, cell, cell, cell, cell, cell), max_size=8))
    width = draw(st.sampled_from([len(header), len(header), len(header) - 1, len(header) + 1]))
    delimiter = draw(st.sampled_from([",", ";", ",", "\t"]))
    line_end = draw(st.sampled_from(["\r\n", "\n", "\r"]))

    def quote(value: str) -> str:
        if any(c in value for c in (delimiter, '"', "\r", "\n")) and draw(st.booleans()):
            return '"' + value.replace('"', '""') + '"'
        return value

    lines = [delimiter.join(quote(h) for h in header)]
    for row in rows:
        cells = list(row[:max(width, 0)]) if width <= 6 else [*row, "extra"]
        lines.append(delimiter.join(quote(c) for c in cells))
    content = line_end.join(lines) + draw(st.sampled_from(["", line_end]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "latin-1", "utf-16", "cp1252"]))
    return content.encode(encoding, errors="replace")


@fuzz
@given(data=people_files())
def test_any_file_is_applied_exactly_as_previewed_or_changes_nothing(client, db, app, org,
                                                                     archived, data):
    before = directory(db)
    uploads_before = stored_uploads(app)
    parsed = parse_people_csv(data)  # never raises, whatever the bytes
    response = upload(client, data)
    assert response.status_code in (200, 302), response.status_code
    if response.status_code == 200:
        refused_page(response)
        assert directory(db) == before and stored_uploads(app) == uploads_before
        return
    preview = client.get(response.headers["Location"])
    assert preview.status_code == 200 and directory(db) == before
    applied = apply_from(client, response.headers["Location"]) \
        if "Apply these changes" in text(preview) else None
    if applied is None:  # nothing to change
        assert directory(db) == before
        return
    assert applied.status_code == 302, visible(applied)[:500]
    people = {p.email: p for p in db.session.scalars(select(Person))}
    paths = team_paths(db)
    for row in parsed.rows:
        assert people[row.email].name == row.name
        assert [p.casefold() for p in split_path(paths[people[row.email].team_id])] == \
            [p.casefold() for p in row.team_path]
        assert "\x00" not in people[row.email].name
    for url in ("/teams", "/people"):
        assert client.get(url).status_code == 200


@settings(max_examples=examples(300), deadline=None, database=None)
@given(data=st.one_of(st.binary(max_size=2000), people_files()))
def test_reading_any_bytes_returns_rows_or_problems_and_never_raises(data):
    parsed = parse_people_csv(data)
    assert parsed.ok or all(str(error) for error in parsed.errors)
    assert not (parsed.rows and any(e.line is None for e in parsed.errors))
    emails = [row.email for row in parsed.rows]
    assert len(emails) == len(set(emails))
    for row in parsed.rows:
        assert row.email == row.email.lower() and row.name and row.team_path
        assert all("\x00" not in value for value in (row.email, row.name, *row.team_path))


# --- 50,000 lines ---------------------------------------------------------------------------


def big_file(lines: int = BIG, *, bad_line: int | None = None) -> bytes:
    rows = [f"person{i:05d}@example.com,Person {i:05d},Big Org/Unit {i % 40:02d}/Team {i % 400:03d},"
            f"Site {i % 7}" for i in range(lines)]
    if bad_line is not None:
        rows[bad_line - 2] = "not-an-address,,Big Org,"
    return ("\ufeff" + GOOD_HEADER + "\r\n".join(rows) + "\r\n").encode()


@pytest.mark.slow
def test_a_50000_line_file_is_previewed_and_applied_in_one_go_on_the_page(client, db, app, org):
    data = big_file()
    started = time.monotonic()
    response = upload(client, data)
    assert response.status_code == 302, visible(response)[:300]
    preview = client.get(response.headers["Location"])
    assert "50,000" in visible(preview) and "Showing the first 500" in visible(preview)
    assert counts(db) == (2, 3)
    assert apply_from(client, response.headers["Location"]).status_code == 302
    assert counts(db) == (2 + BIG, 3 + 1 + 40 + 400)
    assert time.monotonic() - started < 120


@pytest.mark.slow
def test_a_50000_line_file_with_one_bad_line_near_the_end_writes_nothing(client, runner, db, app,
                                                                        tmp_path, org):
    data = big_file(bad_line=BIG)
    before = directory(db)
    said = refused_page(upload(client, data))
    assert f"{BIG} \"not-an-address\" is not a valid" in said
    assert "1 line of people.csv has problems" in said
    result = import_cli(runner, tmp_path, data)
    assert result.exit_code == 1 and f"Line {BIG}:" in result.output
    assert directory(db) == before and stored_uploads(app) == []


@pytest.mark.slow
def test_a_50000_line_file_where_every_line_is_bad_lists_them_without_a_crash(client, db, app, org):
    data = big_file().replace(b",", b";").replace(b"email;name;team;location", b"email,name,team,location")
    before = directory(db)
    said = refused_page(upload(client, data))
    assert f"{BIG:,} lines of people.csv have problems" in said or f"{BIG} lines" in said
    assert directory(db) == before


def test_the_command_imports_a_50000_line_file_in_one_transaction(runner, db, tmp_path, org):
    result = import_cli(runner, tmp_path, big_file())
    assert result.exit_code == 0, result.output
    assert f"{BIG} new" in result.output
    assert counts(db) == (2 + BIG, 3 + 1 + 40 + 400)
