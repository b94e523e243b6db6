"""Invitation tokens: unguessable, never stored, and reproducible by the server alone.

Each invitation has a random nonce; its token is an HMAC of the nonce under a server key, so the
database holds only the nonce and a keyed hash of the token. Someone who reads the database cannot
build a link (they lack the key), nor match a link seen elsewhere (a web server's access log) to
an invitation; the server can print the same link again for a reminder or the links CSV.
Changing the key (``INVITATION_KEY``, by default the secret key) invalidates every outstanding
link.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from ..sealing import server_key

TOKEN_LENGTH = 32  # characters of URL-safe base64: 192 bits


def new_nonce() -> str:
    return secrets.token_hex(16)


def token_for(nonce: str) -> str:
    """Return the token of the invitation with ``nonce``."""
    digest = hmac.new(server_key(), b"invitation:" + nonce.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()[:TOKEN_LENGTH]


def hash_token(token: str) -> str:
    """Return the keyed hash of ``token`` (hex HMAC-SHA-256), as stored in
    ``Invitation.token_hash``: unlike a plain hash, it cannot be worked out from a link found
    in a log without the server's key."""
    return hmac.new(server_key(), b"token hash:" + token.encode(), hashlib.sha256).hexdigest()


def looks_like_token(token: str) -> bool:
    """Cheap shape check before touching the database."""
    return len(token) == TOKEN_LENGTH and all(
        c.isascii() and (c.isalnum() or c in "-_") for c in token
    )
