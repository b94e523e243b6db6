"""Uploaded import files, kept on the server between the preview and "Apply these changes".

Each file is saved as ``<folder>/<token>.csv`` under a random token; the preview page carries
the token and the file's SHA-256, and applying reads the file back only if both match. Files
older than ``MAX_AGE`` are removed whenever a new file is saved. Nothing here touches the
request or the session cookie.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

#: How long an upload waits for "Apply these changes".
MAX_AGE_SECONDS = 24 * 60 * 60
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


@dataclass(frozen=True)
class StoredUpload:
    token: str
    sha256: str


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def save_upload(folder: Path, data: bytes) -> StoredUpload:
    """Save ``data`` under a new random token (and remove expired uploads)."""
    folder.mkdir(parents=True, exist_ok=True)
    remove_expired(folder)
    token = secrets.token_urlsafe(24)
    path = folder / f"{token}.csv"
    temporary = folder / f".{token}.tmp"
    temporary.write_bytes(data)
    temporary.replace(path)
    return StoredUpload(token, sha256(data))


def load_upload(folder: Path, token: str, expected_sha256: str | None = None) -> bytes | None:
    """Return the saved file, or None when the token is malformed, unknown or expired, or the
    content's hash is not ``expected_sha256``."""
    if not TOKEN_RE.match(token or ""):
        return None
    path = folder / f"{token}.csv"
    try:
        if time.time() - path.stat().st_mtime > MAX_AGE_SECONDS:
            return None
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    if expected_sha256 is not None and not secrets.compare_digest(sha256(data), expected_sha256):
        return None
    return data


def discard_upload(folder: Path, token: str) -> None:
    """Remove a saved file (after it has been applied)."""
    if TOKEN_RE.match(token or ""):
        (folder / f"{token}.csv").unlink(missing_ok=True)


def remove_expired(folder: Path, now: float | None = None) -> int:
    """Remove uploads older than ``MAX_AGE_SECONDS``; return how many were removed."""
    now = time.time() if now is None else now
    removed = 0
    # Also temporary files left by a save that was interrupted.
    for path in [*folder.glob("*.csv"), *folder.glob(".*.tmp")]:
        try:
            if now - path.stat().st_mtime > MAX_AGE_SECONDS:
                path.unlink(missing_ok=True)
                removed += 1
        except FileNotFoundError:
            continue
    return removed
