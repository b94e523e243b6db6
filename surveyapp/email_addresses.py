"""E-mail addresses: the form they are stored and looked up in, and the check of a new one.

Two contracts, so two names:

- :func:`normalise_email` never raises. It turns what someone typed into the stored form
  (trimmed, lower-case, no NUL), to *find* an account or a person, or to key sign-in failures.
- :func:`validated_email` raises :class:`EmailNotValidError` for anything that is not an
  address, and returns the stored form of one that is, before it is *stored*.

Stored addresses are lower-case (the ``email_lowercase`` check constraints in models.py).
"""

from __future__ import annotations

import re

from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email

from .domain import without_nul

__all__ = ["MAX_EMAIL", "EmailNotValidError", "normalise_email", "simple_email", "validated_email"]

#: The longest address stored (models: String(254)), which is also the longest SMTP delivers.
MAX_EMAIL = 254

_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
SIMPLE_EMAIL = re.compile(rf"(?P<local>{_ATOM}(?:\.{_ATOM})*)@(?P<domain>(?:{_LABEL}\.)+[A-Za-z]{{2,63}})")
#: Special-use domains email_validator refuses (``test`` only when test domains are refused).
#: They are all single labels, so looking at the last label of a dotted domain is enough.
SPECIAL_USE_DOMAINS = frozenset(SPECIAL_USE_DOMAIN_NAMES)
TEST_DOMAIN = "test"


def normalise_email(text: str) -> str:
    """Return ``text`` in the form addresses are stored in: without NUL characters (which
    PostgreSQL can neither store nor compare), trimmed and lower-cased. Never raises, and
    checks nothing: for looking an address up, not for accepting a new one."""
    return without_nul(text).strip().lower()


def validated_email(text: str, *, allow_test_domain: bool = False) -> str:
    """Return ``text`` trimmed and lower-cased, if it is a valid address (email_validator's
    rules, without asking DNS).

    Special-use domains (``.invalid``, ``.local``, ``localhost`` ...) are refused; the reserved
    ``.test`` domain too, unless ``allow_test_domain`` (the directory takes it, as test and
    demo set-ups use it). Plain ASCII addresses take a fast path (``simple_email``) because
    email_validator costs tens of microseconds an address and a people file has 100,000 lines.

    :raise EmailNotValidError: with a sentence saying what is wrong.
    """
    text = text.strip()
    fast = simple_email(text, allow_test_domain=allow_test_domain)
    if fast is not None:
        return fast
    return validate_email(text, check_deliverability=False,
                          test_environment=allow_test_domain).normalized.lower()


def simple_email(text: str, *, allow_test_domain: bool = False) -> str | None:
    """Return ``text`` lower-cased when it is a plain ASCII address that email_validator
    certainly accepts (and normalises to the same); None when it needs the full check."""
    match = SIMPLE_EMAIL.fullmatch(text)
    if match is None or len(text) > MAX_EMAIL or len(match["local"]) > 64:
        return None
    domain = match["domain"].lower()
    if "--" in domain or len(domain) > 253:
        return None
    last_label = domain.rpartition(".")[2]
    if last_label in SPECIAL_USE_DOMAINS and not (allow_test_domain and last_label == TEST_DOMAIN):
        return None
    return text.lower()
