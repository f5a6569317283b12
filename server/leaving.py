"""Deleting one's own account (``DELETE /users/me``).

One write marks the account deleted (and pending): from then on it cannot sign in, its
profile answers 404 and its address is free; every session ends and its sockets close. The
outbox worker then removes what it owns (``server/effects/accounts.py``), so every counter
on everyone else stays exact. The name stays taken for ``DELETED_NAME_DAYS``.
"""

from __future__ import annotations

from datetime import timedelta

from . import accounts
from .credentials import check_password
from .services import Services
from .store import users as user_store

DELETED_NAME_DAYS = 30


async def delete_account(svc: Services, who: accounts.Caller, password: str) -> None:
    """Delete the caller's account, after checking the password (401 when wrong)."""
    await check_password(svc, who.user, password)
    keep = timedelta(days=DELETED_NAME_DAYS)
    if await user_store.mark_deleted(svc.db, user_id=who.id, now=svc.clock(), keep_name=keep):
        svc.written()
    await svc.users_changed([who.id])
    await accounts.end_sessions(svc, who.id)
