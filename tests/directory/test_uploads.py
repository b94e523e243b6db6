"""Uploaded import files kept between the preview and "Apply these changes", in the database."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from surveyapp.directory.uploads import (
    MAX_AGE,
    discard_upload,
    load_upload,
    remove_expired,
    save_upload,
    sha256,
)
from surveyapp.models import ImportUpload

pytestmark = pytest.mark.both_databases

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def kept(db) -> int:
    return db.session.scalar(select(func.count()).select_from(ImportUpload))


def test_a_saved_file_is_read_back_by_token_and_hash(db):
    stored = save_upload(b"email,name,team\n\xff binary too")
    db.session.commit()
    assert stored.sha256 == sha256(b"email,name,team\n\xff binary too")
    assert load_upload(stored.token, stored.sha256) == b"email,name,team\n\xff binary too"


def test_a_wrong_hash_or_an_unknown_token_reads_nothing(db):
    stored = save_upload(b"data")
    assert load_upload(stored.token, "0" * 64) is None
    assert load_upload("x" * 32) is None


def test_a_malformed_token_reads_nothing(db):
    assert load_upload("../secret") is None
    assert load_upload("") is None


def test_an_expired_file_is_not_read_and_is_removed_on_the_next_save(db):
    old = save_upload(b"old", now=NOW - MAX_AGE - timedelta(seconds=1))
    assert load_upload(old.token, now=NOW) is None
    save_upload(b"new", now=NOW)
    db.session.commit()
    assert db.session.get(ImportUpload, old.token) is None
    assert kept(db) == 1


def test_remove_expired_keeps_recent_files(db):
    stored = save_upload(b"recent", now=NOW - timedelta(hours=23))
    assert remove_expired(NOW) == 0
    assert load_upload(stored.token, now=NOW) == b"recent"


def test_discard_removes_the_file(db):
    stored = save_upload(b"done")
    discard_upload(stored.token)
    assert load_upload(stored.token) is None
    assert kept(db) == 0
