"""Everything a request handler needs, built once in the lifespan and kept on ``app.state``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from starlette.requests import HTTPConnection

from .db import Database
from .mail import Mailer
from .ratelimit import RateLimits
from .security import AccessTokens, Passwords
from .settings import Settings

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """Now, in UTC, at the millisecond precision MongoDB stores."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


@dataclass
class Services:
    settings: Settings
    db: Database
    clock: Clock
    passwords: Passwords
    tokens: AccessTokens
    token_secret: str
    mailer: Mailer
    limits: RateLimits
    # Called after a session is revoked (the realtime hub closes that session's sockets).
    on_session_revoked: Callable[[str], Awaitable[None]] | None = None


def services(conn: HTTPConnection) -> Services:
    svc: Services = conn.app.state.services
    return svc
