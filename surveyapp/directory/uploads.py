"""Uploaded import files, kept between the preview and "Apply these changes".

Each file waits in the database (``ImportUpload``), so that any host can apply what another
previewed, under a random token; the preview page carries the token and the file's SHA-256,
and applying reads the file back only if both match. Uploads older than ``MAX_AGE`` are
removed whenever a new one is saved. Nothing here commits: the caller does.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete

from ..extensions import db
from ..models import ImportUpload

#: How long an upload waits for "Apply these changes".
MAX_AGE = timedelta(hours=24)
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


@dataclass(frozen=True)
class StoredUpload:
    token: str
    sha256: str


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _now(now: datetime | None) -> datetime:
    return now if now is not None else datetime.now(UTC)


def save_upload(data: bytes, now: datetime | None = None) -> StoredUpload:
    """Keep ``data`` under a new random token (and remove expired uploads)."""
    now = _now(now)
    remove_expired(now)
    stored = StoredUpload(secrets.token_urlsafe(24), sha256(data))
    db.session.add(ImportUpload(token=stored.token, sha256=stored.sha256, data=data,
                                created_at=now))
    db.session.flush()
    return stored


def load_upload(token: str, expected_sha256: str | None = None,
                now: datetime | None = None) -> bytes | None:
    """Return the kept file, or None when the token is malformed, unknown or expired, or the
    content's hash is not ``expected_sha256``."""
    if not TOKEN_RE.match(token or ""):
        return None
    upload = db.session.get(ImportUpload, token)
    if upload is None or upload.created_at < _now(now) - MAX_AGE:
        return None
    if expected_sha256 is not None and not secrets.compare_digest(upload.sha256, expected_sha256):
        return None
    return upload.data


def discard_upload(token: str) -> None:
    """Remove a kept file (once it has been applied)."""
    db.session.execute(delete(ImportUpload).where(ImportUpload.token == token))


def remove_expired(now: datetime | None = None) -> int:
    """Remove uploads older than ``MAX_AGE``; return how many were removed."""
    result = db.session.execute(
        delete(ImportUpload).where(ImportUpload.created_at < _now(now) - MAX_AGE))
    return getattr(result, "rowcount", 0) or 0
