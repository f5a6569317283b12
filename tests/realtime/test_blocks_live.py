"""Blocks and mutes reach open sockets on every process at once, without polling."""

from __future__ import annotations

from typing import Any

import httpx


async def post(app: Any, user: Any, path: str, body: dict[str, Any] | None = None) -> Any:
    async with httpx.AsyncClient(base_url=app.url, headers=user.headers) as http:
        r = await http.post(path, json=body)
        assert r.status_code in (200, 201, 204), r.text
        return r.json() if r.content else None


async def test_a_block_on_one_process_hides_the_author_on_another_at_once(
    apps: Any, redis_server: Any, make_user: Any
) -> None:
    # A sweep far in the future: only the broadcast can make this pass.
    a, b = await apps(2, redis_url=redis_server.url, ws_sweep_seconds=3600)
    fan, blocked, other = await make_user(), await make_user(), await make_user()
    ws = await b.ws(fan.access_token)
    await ws.subscribe("public")
    await post(a, blocked, "/tweets", {"content": "before the block"})
    assert (await ws.expect("event", stream="public"))["data"]["content"] == "before the block"

    await post(a, fan, f"/users/{blocked.id}/block")
    await post(a, blocked, "/tweets", {"content": "hidden now"})
    await post(a, other, "/tweets", {"content": "still visible"})
    # Events arrive in publish order: had the block not reached b, "hidden now" came first.
    assert (await ws.expect("event", stream="public"))["data"]["content"] == "still visible"
    await ws.close()
