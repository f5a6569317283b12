"""What the hub needs from the rest of Murmur, as small types: it never imports ``server``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Identity:
    """Who a socket belongs to: what a valid access token says."""

    user_id: str
    session_id: str
    expires_at: float  # seconds since the epoch


class AuthFailed(Exception):
    """The token is not accepted; ``code`` is the API's error code (``token_expired``, ...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# Checks an access token (signature, expiry, session still active, account not suspended).
Authenticate = Callable[[str], Awaitable[Identity]]
# Authors whose tweets ``user_id``'s home timeline pulls at read time (not pushed).
PullAuthors = Callable[[str], Awaitable[list[str]]]
# Authors ``user_id`` must not see (blocked either way, muted).
HiddenAuthors = Callable[[str], Awaitable[frozenset[str]]]
# Whether ``user_id`` (None: anonymous) may follow ``stream`` (REST's visibility rules).
StreamVisible = Callable[[str | None, str], Awaitable[bool]]
# The access token a single-use connect ticket stands for; None if unknown, used or expired.
RedeemTicket = Callable[[str], Awaitable[str | None]]
# Forget cached hidden authors of these users (None: of everyone) before they are re-read.
ForgetHidden = Callable[[list[str] | None], None]
# These users' documents changed (True: only their counters): forget what is cached of them.
ForgetUsers = Callable[[list[str], bool], None]
# ``user_id`` is typing in conversation ``conversation_id``: tell its other participants
# (nothing when ``user_id`` is not one of them).
Typing = Callable[[str, str], Awaitable[None]]
# The current time in seconds since the epoch (the app's clock, so tests can move it).
Now = Callable[[], float]


class AuthCache(Protocol):
    """What ``authenticate`` remembers, which the hub invalidates from control messages."""

    def revoked(self, session_id: str) -> None:
        """The session was revoked (on any process): refuse it from now on."""

    def clear(self) -> None:
        """Forget everything cached (after a Redis gap a revocation may have been missed)."""

    def is_revoked(self, session_id: str) -> bool:
        """Whether this process has heard that the session was revoked."""
