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
bound as associated data, so a sealed value copied to another row does not open. Every sealed
value of a round has the same length (``sealed_size``: room for every statement and for every
question's longest possible comment), so its length says nothing about what was written: a
comment's length, which a report shows once the round has closed, cannot tie a released
response back to the draft or the pending response it came from.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import struct
from collections.abc import Iterable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app

#: The first byte of every sealed value: the format, so that a later one can be told apart.
FORMAT = b"\x01"
NONCE_BYTES = 12
#: Bytes a character of a comment can take in a sealed value: UTF-8 takes up to four, and JSON
#: escapes only quotes, backslashes and control characters, which comments hold only as
#: newlines and tabs (``survey.answers.comment_text`` drops the others): two bytes.
BYTES_PER_CHARACTER = 4
#: Room for everything in a sealed value but the statements and comments: its JSON, the step,
#: the team and three attributes of up to 80 characters.
ENVELOPE_BYTES = 2048


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


def sealed_size(statement_keys: Iterable[str], question_keys: Iterable[str],
                comment_max_length: int) -> int:
    """The padded length of every sealed value of a survey with these statements and questions
    (a multiple of 1 KiB; about 18 KiB for seven capabilities and two questions)."""
    size = ENVELOPE_BYTES
    size += sum(len(key.encode()) + 8 for key in statement_keys)
    size += sum(len(key.encode()) + 8 + comment_max_length * BYTES_PER_CHARACTER
                for key in question_keys)
    return -(-size // 1024) * 1024


def seal(key: bytes, value: dict, context: bytes, size: int) -> bytes:
    """Encrypt ``value`` (JSON-serialisable) for the row named by ``context``, padded to
    ``size`` bytes (``sealed_size``).

    :raise ValueError: when the value does not fit, which ``sealed_size`` rules out for
        anything the survey's pages accept.
    """
    plain = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
    if len(plain) + 4 > size:
        raise ValueError(f"a sealed value of {len(plain)} bytes does not fit in {size}")
    padded = struct.pack(">I", len(plain)) + plain
    padded += bytes(size - len(padded))
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
