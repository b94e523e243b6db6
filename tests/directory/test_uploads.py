"""Uploaded import files kept between the preview and "Apply these changes"."""

import os
import time

from surveyapp.directory.uploads import (
    MAX_AGE_SECONDS,
    discard_upload,
    load_upload,
    remove_expired,
    save_upload,
    sha256,
)


def test_a_saved_file_is_read_back_by_token_and_hash(tmp_path):
    stored = save_upload(tmp_path, b"email,name,team\n")
    assert stored.sha256 == sha256(b"email,name,team\n")
    assert load_upload(tmp_path, stored.token, stored.sha256) == b"email,name,team\n"


def test_a_wrong_hash_reads_nothing(tmp_path):
    stored = save_upload(tmp_path, b"data")
    assert load_upload(tmp_path, stored.token, "0" * 64) is None


def test_a_malformed_token_never_reaches_the_file_system(tmp_path):
    (tmp_path.parent / "secret.csv").write_bytes(b"secret")
    assert load_upload(tmp_path, "../secret") is None
    assert load_upload(tmp_path, "") is None


def test_an_expired_file_is_not_read_and_is_removed_on_the_next_save(tmp_path):
    stored = save_upload(tmp_path, b"old")
    path = tmp_path / f"{stored.token}.csv"
    stale = time.time() - MAX_AGE_SECONDS - 1
    os.utime(path, (stale, stale))
    assert load_upload(tmp_path, stored.token) is None
    save_upload(tmp_path, b"new")
    assert not path.exists()


def test_remove_expired_keeps_recent_files(tmp_path):
    stored = save_upload(tmp_path, b"recent")
    assert remove_expired(tmp_path) == 0
    assert (tmp_path / f"{stored.token}.csv").exists()


def test_discard_removes_the_file(tmp_path):
    stored = save_upload(tmp_path, b"done")
    discard_upload(tmp_path, stored.token)
    assert load_upload(tmp_path, stored.token) is None
