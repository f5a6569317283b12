"""The password policy: long enough, not one of the most common, not the user name.

Applied wherever a password is chosen (sign-up, reset, change). The list of common passwords
ships with the package (``server/data/common-passwords.txt``) and is read once.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from .errors import Unprocessable

MIN_LENGTH = 8  # as SignupRequest has always required
MAX_LENGTH = 128


@cache
def common_passwords() -> frozenset[str]:
    """The refused passwords, lower-cased (comment lines start with ``#``)."""
    text = files("server").joinpath("data/common-passwords.txt").read_text(encoding="utf-8")
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line.strip() and line[0] != "#"
    )


def check(password: str, user_name: str) -> None:
    """Raise a 422 with a specific code when ``password`` breaks the policy."""
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise _refused(
            f"Passwords are {MIN_LENGTH} to {MAX_LENGTH} characters long.", "password_length"
        )
    lowered = password.lower()
    if lowered in common_passwords():
        raise _refused(
            "That password is one of the most common; choose another.", "password_common"
        )
    if user_name and user_name.lower() in lowered:
        raise _refused(
            "The password must not contain the user name.", "password_contains_user_name"
        )


def _refused(message: str, code: str) -> Unprocessable:
    return Unprocessable(message, code=code, details=[{"field": "password"}])
