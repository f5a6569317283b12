"""Direct-message fixtures: a conversation between users made through the API."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.realtime.conftest import apps, served  # noqa: F401  (the realtime fixtures)


@pytest.fixture
def open_conversation(client: httpx.AsyncClient) -> Any:
    """``await open_conversation(alice, bob, ...)``: the conversation ``alice`` starts."""

    async def make(starter: Any, *others: Any) -> dict[str, Any]:
        body = {"participant_ids": [o.id for o in others]}
        r = await client.post("/conversations", json=body, headers=starter.headers)
        assert r.status_code in (200, 201), r.text
        result: dict[str, Any] = r.json()
        return result

    return make


@pytest.fixture
def send(client: httpx.AsyncClient) -> Any:
    """``await send(user, conversation_id, text)``: the stored message."""

    async def post(user: Any, cid: str, content: str, **headers: str) -> dict[str, Any]:
        r = await client.post(
            f"/conversations/{cid}/messages",
            json={"content": content},
            headers={**user.headers, **headers},
        )
        assert r.status_code == 201, r.text
        result: dict[str, Any] = r.json()
        return result

    return post
