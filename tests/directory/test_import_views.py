"""The import pages: upload, preview (writes nothing), apply (exactly the preview), bad files."""

import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from surveyapp import create_app
from surveyapp.directory import uploads
from surveyapp.extensions import db as _db
from surveyapp.models import ImportUpload, Person, Role, Team, utcnow

from .helpers import text, visible

GOOD = ("\ufeffE-mail;Name;Team;Location;Employee ID\r\n"
        "ana@example.com;Ana Lima;Operations/Customer Care;Leeds;1\r\n"
        "ben@example.com;Benjamin Ode;Sales;Bristol;2\r\n"
        "cat@example.com;Cat Ng;Operations/Customer Care/North;Leeds;3\r\n")


@pytest.fixture
def org(make_team, make_person):
    ops = make_team("Operations")
    care = make_team("Customer Care", parent=ops)
    sales = make_team("Sales")
    make_person(team=sales, email="ana@example.com", name="Ana Lima", location="Leeds")
    make_person(team=sales, email="ben@example.com", name="Ben Ode", location="Bristol")
    make_person(team=sales, email="stay@example.com", name="Stay Put")
    return ops, care, sales


def upload(client, content: str | bytes, filename: str = "people.csv"):
    data = content.encode() if isinstance(content, str) else content
    return client.submit("/people/import", {"file": (io.BytesIO(data), filename)},
                         content_type="multipart/form-data")


def kept_uploads(db) -> int:
    return db.session.scalar(select(func.count()).select_from(ImportUpload))


def counts(db) -> tuple[int, int]:
    db.session.rollback()
    return (db.session.scalar(select(func.count(Person.id))),
            db.session.scalar(select(func.count(Team.id))))


def apply_from(client, preview_url: str):
    body = text(client.get(preview_url))
    action = re.search(r'action="(/people/import/[^"]+/apply[^"]*)"', body).group(1).replace("&amp;", "&")
    fields = dict(re.findall(r'<input id="(sha256|digest)" name="\1" type="hidden" value="([^"]*)"',
                             body))
    return client.submit(action, fields, form_url=preview_url)


def test_the_upload_page_explains_the_columns(client, hr):
    body = visible(client.get("/people/import"))
    assert "People who are not in the file are left as they are." in body
    assert "Upload and preview" in body


def test_a_good_file_is_kept_on_the_server_and_previewed_without_writing(client, hr, org, db, app):
    before = counts(db)
    response = upload(client, GOOD)
    assert response.status_code == 302
    preview_url = response.headers["Location"]
    assert preview_url.startswith("/people/import/")
    assert kept_uploads(db) == 1
    page = client.get(preview_url)
    body = visible(page)
    assert counts(db) == before
    assert "1 new 1 updated 1 moved 0 unchanged 1 team to create" in body
    assert "Name: Ben Ode → becomes Benjamin Ode" in body
    assert "Operations/Customer Care/North" in body
    assert "People who are not in the file are left as they are." in body
    assert "will be ignored: Employee ID" in body
    assert "Apply these changes" in body


def test_the_uploaded_file_is_not_in_the_session_cookie(client, hr, org):
    upload(client, GOOD)
    cookie = client.get_cookie("session")
    assert cookie is None or len(cookie.value) < 500


def test_applying_writes_exactly_the_preview_and_shows_the_tree(client, hr, org, db, app):
    preview_url = upload(client, GOOD).headers["Location"]
    response = apply_from(client, preview_url)
    assert response.status_code == 302 and response.headers["Location"].endswith("/teams")
    after = client.get("/teams")
    assert ("Import complete: 1 new, 1 updated, 1 moved, 0 unchanged, 1 team created."
            in visible(after))
    people = {p.email: p for p in db.session.scalars(select(Person))}
    assert people["ben@example.com"].name == "Benjamin Ode"
    assert people["stay@example.com"].name == "Stay Put"
    assert len(people) == 4
    assert kept_uploads(db) == 0


def test_reimporting_the_same_file_shows_everyone_unchanged_and_nothing_to_apply(client, hr, org):
    apply_from(client, upload(client, GOOD).headers["Location"])
    body = visible(client.get(upload(client, GOOD).headers["Location"]))
    assert "0 new 0 updated 0 moved 3 unchanged 0 teams to create" in body
    assert "Nothing to change." in body
    assert "Apply these changes" not in body


def test_apply_refuses_when_the_directory_changed_since_the_preview(client, hr, org, db):
    preview_url = upload(client, GOOD).headers["Location"]
    body = text(client.get(preview_url))
    fields = dict(re.findall(r'<input id="(sha256|digest)" name="\1" type="hidden" value="([^"]*)"',
                             body))
    ben = db.session.scalar(select(Person).where(Person.email == "ben@example.com"))
    ben.name = "Benjamin Ode"
    db.session.commit()
    token = preview_url.split("/")[-1].split("?")[0]
    response = client.submit(f"/people/import/{token}/apply", fields, form_url=preview_url)
    assert response.status_code == 409
    assert "Someone changed the directory after you saw the preview" in visible(response)
    assert counts(db)[0] == 3


def test_apply_refuses_a_file_whose_hash_does_not_match(client, hr, org, db):
    preview_url = upload(client, GOOD).headers["Location"]
    body = text(client.get(preview_url))
    digest = re.search(r'name="digest" type="hidden" value="([^"]*)"', body).group(1)
    token = preview_url.split("/")[-1].split("?")[0]
    response = client.submit(f"/people/import/{token}/apply",
                             {"sha256": "0" * 64, "digest": digest}, form_url=preview_url)
    assert response.status_code == 302 and response.headers["Location"].endswith("/people/import")
    assert counts(db)[0] == 3


def test_an_unknown_upload_sends_hr_back_to_the_upload_page(client, hr):
    response = client.get("/people/import/" + "x" * 32, follow_redirects=True)
    assert "That upload has expired or has already been applied." in visible(response)


def test_a_bad_file_lists_every_bad_line_and_imports_nothing(client, hr, org, db, app):
    before = counts(db)
    response = upload(client, "email,name,team\nnew@example.com,New,Sales\n,No Mail,Sales\n"
                              "x@example.com,,Sales\nnew@example.com,Twice,Sales\n", "bad.csv")
    body = visible(response)
    assert response.status_code == 200
    assert "<title>Error: Import people" in text(response)
    assert "3 lines of bad.csv have problems. Nothing has been imported." in body
    assert "3 The e-mail is missing." in body
    assert "4 The name is missing." in body
    assert "5 The e-mail new@example.com is also on line 2." in body
    assert 'href="#row-errors"' in text(response)
    assert counts(db) == before
    assert kept_uploads(db) == 0


def test_a_file_that_is_not_utf8_gets_the_save_as_advice_beside_the_field(client, hr):
    response = upload(client, "email,name,team\nzoe@example.com,Zoë,Sales\n".encode("cp1252"))
    assert ('href="#file">This file is not UTF-8. In Excel choose File › Save As › CSV UTF-8.'
            in text(response))
    assert 'id="file-error"' in text(response)


def test_missing_columns_are_named(client, hr):
    body = visible(upload(client, "email,name\na@example.com,A\n"))
    assert "The file has no team column." in body


def test_an_empty_file_gets_a_message(client, hr):
    assert "The file is empty." in visible(upload(client, b""))


def test_no_file_chosen_gets_a_message(client, hr):
    response = client.submit("/people/import", {}, content_type="multipart/form-data")
    assert 'href="#file">Choose a CSV file to upload.' in text(response)


def test_a_file_with_an_archived_team_lists_that_line(client, hr, org, make_team):
    make_team("Old", archived_at=utcnow())
    body = visible(upload(client, "email,name,team\nz@example.com,Z,Old\n"))
    assert "2 The team Old is archived." in body


def test_leaders_may_not_preview_or_apply(client, hr, org, auth, make_user):
    preview_url = upload(client, GOOD).headers["Location"]
    auth.logout()
    auth.login_as(make_user(Role.LEADER))
    assert client.get(preview_url).status_code == 403


def test_old_uploads_are_cleaned_up_when_a_new_one_arrives(client, hr, org, db):
    old = uploads.save_upload(b"old", now=datetime.now(UTC) - uploads.MAX_AGE - timedelta(minutes=1))
    db.session.commit()
    upload(client, GOOD)
    db.session.rollback()
    assert db.session.get(ImportUpload, old.token) is None
    assert kept_uploads(db) == 1


def test_another_host_applies_what_one_host_previewed(client, hr, org, db, app, tmp_path,
                                                      monkeypatch):
    """Behind a load balancer the "Apply" may reach another host, with an instance folder of
    its own: the upload waits in the shared database, not on the first host's disk."""
    preview_url = upload(client, GOOD).headers["Location"]
    monkeypatch.setenv("SURVEYAPP_INSTANCE_PATH", str(tmp_path / "another-host"))
    other_host = create_app({key: app.config[key] for key in (
        "TESTING", "SECRET_KEY", "SQLALCHEMY_DATABASE_URI", "BASE_URL", "PASSWORD_HASH_TIME_COST",
        "PASSWORD_HASH_MEMORY_COST", "PASSWORD_HASH_PARALLELISM", "QUEUE_URL")})
    other_host.test_client_class = app.test_client_class
    db.session.commit()
    try:
        browser = other_host.test_client()
        browser.set_cookie("session", client.get_cookie("session").value)
        response = apply_from(browser, preview_url)
    finally:
        with other_host.app_context():
            _db.session.remove()
            _db.engine.dispose()
    assert response.status_code == 302 and response.headers["Location"].endswith("/teams")
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Person)) == 4
