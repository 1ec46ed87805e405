"""Password rules and hashing, after OWASP ASVS 5 (6.2): length, not composition; no common passwords.

Hashes use Werkzeug's scrypt. The common-password list is zxcvbn's 30,000 most frequent
passwords, a maintained list shipped inside the package (no download at run time).
"""

from __future__ import annotations

from functools import cache

from werkzeug.security import check_password_hash, generate_password_hash

from ..errors import XrmError

MIN_LENGTH = 12
#: ASVS asks to allow at least 64 characters; beyond this we refuse to spend scrypt on it.
MAX_LENGTH = 256


class WeakPassword(XrmError):
    """The password breaks a rule; the message says which."""


@cache
def _common_passwords() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def check_password_rules(password: str, *, email: str = "") -> None:
    """Raise :class:`WeakPassword` naming the first rule ``password`` breaks."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"the password must have at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"the password must have at most {MAX_LENGTH} characters")
    lowered = password.lower()
    if lowered in _common_passwords():
        raise WeakPassword("this password is among the most common ones: choose another")
    local_part = email.split("@")[0].lower()
    if len(local_part) >= 4 and local_part in lowered:
        raise WeakPassword("the password must not contain your e-mail address")


def hash_password(password: str, *, email: str = "") -> str:
    check_password_rules(password, email=email)
    return generate_password_hash(password)


@cache
def _decoy_hash() -> str:
    return generate_password_hash("decoy: checked when the account does not exist")


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check ``password``; with no hash (unknown account) spend the same time and say no.

    Answering faster for unknown accounts would tell an attacker which ones exist.
    """
    if not password_hash:
        check_password_hash(_decoy_hash(), password)
        return False
    return check_password_hash(password_hash, password)
