"""Password hashing (argon2id) and the password policy.

The policy follows NIST SP 800-63B and OWASP: at least 8 characters, no upper limit below 128,
no composition rules, and a refusal of passwords that are common or easy to guess (zxcvbn's
lists of leaked passwords, words and names, plus the person's own e-mail and name and the
organisation's name), and of the pattern that fills breach lists: a guessable word dressed with
a year, digits or symbols ("Summer2026!", "Northwind2026!"), which zxcvbn alone rates fair.
"""

from __future__ import annotations

import contextlib
import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from zxcvbn import zxcvbn

MIN_LENGTH = 8
MAX_LENGTH = 128
#: zxcvbn scores 0..4; 0 and 1 are guessable within about a million tries offline.
MIN_SCORE = 2


def _hasher() -> PasswordHasher:
    cfg = current_app.config
    return PasswordHasher(
        time_cost=int(cfg["PASSWORD_HASH_TIME_COST"]),
        memory_cost=int(cfg["PASSWORD_HASH_MEMORY_COST"]),
        parallelism=int(cfg["PASSWORD_HASH_PARALLELISM"]),
    )


def hash_password(password: str) -> str:
    """Return an argon2id hash (PHC string) of ``password``."""
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Return whether ``password`` matches ``password_hash``; never raises for a bad hash."""
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Return whether the hash was made with weaker parameters than the current ones."""
    try:
        return _hasher().check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


# A dummy hash to verify against when the account does not exist, so that an unknown e-mail
# takes as long as a wrong password.
_DUMMY: dict[tuple, str] = {}


def burn_verification_time(password: str) -> None:
    """Spend the time of one verification, for unknown accounts (no timing oracle)."""
    hasher = _hasher()
    key = (hasher.time_cost, hasher.memory_cost, hasher.parallelism)
    if key not in _DUMMY:
        _DUMMY[key] = hasher.hash("not-a-real-password")
    with contextlib.suppress(VerificationError):
        hasher.verify(_DUMMY[key], password)


#: What dresses a word up without making it harder to guess: digits, symbols and spaces at
#: either end ("2026!", "#1", "!!").
_DRESSING = re.compile(r"^[\d\W_]+|[\d\W_]+$")


def password_problems(password: str, *, email: str = "", name: str = "",
                      organisation: str = "") -> list[str]:
    """Return what is wrong with ``password`` as sentences for the user; empty when it is fine.

    ``email``, ``name`` and ``organisation`` are what an attacker would try first for this
    person: a password built on them is refused.
    """
    if len(password) < MIN_LENGTH:
        return [f"Your password must be at least {MIN_LENGTH} characters long."]
    if len(password) > MAX_LENGTH:
        return [f"Your password must be {MAX_LENGTH} characters or fewer."]
    local = email.split("@")[0]
    # Names and the e-mail's words both whole and apart: "HanaReyes", "hana", "reyes".
    words = [*name.split(), *organisation.split(), *re.split(r"[^\w]+", local)]
    candidates = (email, local, name, "".join(name.split()), organisation,
                  "".join(organisation.split()), *words, "surveyapp")
    user_inputs = [part for part in candidates if part]
    result = zxcvbn(password, user_inputs=user_inputs)
    core = _DRESSING.sub("", password)
    if core != password and (not core or zxcvbn(core, user_inputs=user_inputs)["score"] < MIN_SCORE):
        return [
            "Choose a less common password. A word with a year, digits or symbols added "
            f"(like “{_example(organisation)}”) is among the first guesses of any attack. "
            "A few unrelated words together make a strong one."
        ]
    if result["score"] < MIN_SCORE:
        advice = result["feedback"].get("warning") or "This password is too easy to guess."
        if not advice.endswith("."):
            advice += "."
        return [
            f"Choose a less common password. {advice} "
            "A few unrelated words together make a strong one."
        ]
    return []


def _example(organisation: str) -> str:
    first = organisation.split()[0] if organisation.split() else "Summer"
    return f"{first}2026!"
