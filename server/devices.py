"""Signed-in devices: the caller's sessions, and ending them (sockets close everywhere)."""

from __future__ import annotations

from .account_models import SessionInfo, SessionList
from .accounts import Caller, end_sessions, revoke
from .errors import NotFound
from .services import Services
from .store import sessions as session_store


async def list_sessions(svc: Services, who: Caller) -> SessionList:
    docs = await session_store.active_sessions(svc.db, user_id=who.id)
    return SessionList(
        items=[
            SessionInfo(
                session_id=str(d["_id"]),
                created_at=d["created_at"],
                last_used_at=d.get("last_used_at") or d["created_at"],
                user_agent=d.get("user_agent", ""),
                address=d.get("address", ""),
                current=str(d["_id"]) == who.session_id,
            )
            for d in docs
        ]
    )


async def end_one(svc: Services, who: Caller, session_id: str) -> None:
    """End one of the caller's sessions (another's, or one already ended, is a 404)."""
    if not await session_store.owned_session(svc.db, session_id=session_id, user_id=who.id):
        raise NotFound("No such signed-in session.", code="session_not_found")
    await revoke(svc, session_id)


async def end_others(svc: Services, who: Caller) -> int:
    return await end_sessions(svc, who.id, keep=who.session_id)
