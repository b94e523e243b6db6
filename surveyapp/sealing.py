"""Sealed data: what an employee has typed, readable only by whoever holds the right key.

Two things are sealed before they reach the database:

* a **draft** (answers saved as the employee goes) under a key derived from the invitation's
  token, the secret in the survey link. The token is never stored (the database keeps the
  invitation's nonce and a keyed hash of the token), so a copy of the database cannot read a
  draft, nor any earlier version of it left in free pages, the WAL or dead tuples;
* a **pending response** (a submitted response waiting for its round to close) under a key
  derived from the server's invitation key and the round. It is written in the same
  transaction as the participation, so the two share a transaction id and a place in the
  order of writes; sealing them keeps that link from saying anything about the answers.

AES-256-GCM with a random 96-bit nonce; the row it belongs to (the invitation, or the round) is
bound as associated data, so a sealed value copied to another row does not open. Plaintexts
are padded to a size class (1 KiB, 2 KiB, 4 KiB, ...) so that a sealed value's length says
little about how much was written.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app

#: The first byte of every sealed value: the format, so that a later one can be told apart.
FORMAT = b"\x01"
NONCE_BYTES = 12
#: The smallest size class of a padded plaintext.
SMALLEST_CLASS = 1024


class SealError(Exception):
    """A sealed value does not open: the wrong key (a changed ``INVITATION_KEY``), the wrong
    row, or damaged data."""


def server_key() -> bytes:
    """The key behind links and sealed responses: ``INVITATION_KEY``, else ``SECRET_KEY``."""
    key = current_app.config.get("INVITATION_KEY") or current_app.config["SECRET_KEY"]
    return str(key).encode()


def draft_key(token: str) -> bytes:
    """The key of the draft of the invitation whose link holds ``token``."""
    return hmac.new(token.encode(), b"surveyapp draft key", hashlib.sha256).digest()


def response_key(round_id: int) -> bytes:
    """The key of the pending responses of round ``round_id``."""
    return hmac.new(server_key(), b"surveyapp pending response key:%d" % round_id,
                    hashlib.sha256).digest()


def size_class(length: int) -> int:
    """The padded length for a plaintext of ``length`` bytes (with its 4-byte length)."""
    size = SMALLEST_CLASS
    while size < length + 4:
        size *= 2
    return size


def seal(key: bytes, value: dict, context: bytes) -> bytes:
    """Encrypt ``value`` (JSON-serialisable) for the row named by ``context``."""
    plain = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
    padded = struct.pack(">I", len(plain)) + plain
    padded += bytes(size_class(len(plain)) - len(padded))
    nonce = os.urandom(NONCE_BYTES)
    return FORMAT + nonce + AESGCM(key).encrypt(nonce, padded, context)


def open_sealed(key: bytes, sealed: bytes, context: bytes) -> dict:
    """Decrypt a value made by ``seal`` with the same key and context.

    :raise SealError: when it does not open (wrong key or row, damaged, unknown format).
    """
    if len(sealed) < 1 + NONCE_BYTES or sealed[:1] != FORMAT:
        raise SealError("not a sealed value of a known format")
    nonce, body = sealed[1:1 + NONCE_BYTES], sealed[1 + NONCE_BYTES:]
    try:
        padded = AESGCM(key).decrypt(nonce, body, context)
    except InvalidTag:
        raise SealError("the sealed value does not open with this key") from None
    (length,) = struct.unpack(">I", padded[:4])
    return json.loads(padded[4:4 + length])


def draft_context(invitation_id: int) -> bytes:
    return b"draft:%d" % invitation_id


def response_context(round_id: int) -> bytes:
    return b"pending response:%d" % round_id
