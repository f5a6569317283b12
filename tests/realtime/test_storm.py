"""Connect-storm admission control (``realtime/gates.py``): live delivery to open sockets
goes on while storm work waits, and every storm socket is served or told to retry."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator, Awaitable
from typing import Any

import httpx
from websockets.exceptions import ConnectionClosed

from realtime import protocol
from realtime.gates import Gate, Overloaded
from realtime.gcfreeze import GcFreezer
from tests.realtime.wsclient import WsClient, until


@contextlib.asynccontextmanager
async def held(gate: Gate) -> AsyncIterator[None]:
    """Take every slot of ``gate`` (storm work that takes long), until the block ends."""
    async with contextlib.AsyncExitStack() as stack:
        for _ in range(gate.concurrency):
            await stack.enter_async_context(gate.enter())
        yield


async def told_to_retry(ws: WsClient, stream: str | None = None) -> None:
    """The socket got ``overloaded`` with a ``retry_after`` and was closed with 1013."""
    frame = await ws.expect("error", code=protocol.OVERLOADED)
    assert frame.get("stream") == stream and frame["retry_after"] >= 1, frame
    code, reason = await ws.closed()
    assert code == protocol.CLOSE_TRY_AGAIN, (code, reason)
    assert reason == f"overloaded; retry_after={frame['retry_after']}"


async def test_a_storm_beyond_the_bounds_never_stalls_open_sockets_nor_drops_one(
    apps: Any, make_user: Any
) -> None:
    (app,) = await apps(
        1, ws_handshake_concurrency=1, ws_handshake_queue=3, ws_replay_concurrency=1,
        ws_replay_queue=2, ws_max_sockets_per_user=50, ws_retry_after_seconds=1,
    )  # fmt: skip
    gates = app.hub.gates
    author = await make_user()
    stream = f"user:{author.id}"
    http = httpx.AsyncClient(base_url=app.url, headers=author.headers)

    async def post(content: str) -> None:
        r = await http.post("/tweets", json={"content": content})
        assert r.status_code == 201, r.text

    steady = await app.ws()
    await steady.subscribe(stream)
    await post("before the storm")
    since = (await steady.expect("event", stream=stream))["id"]

    async def live(content: str) -> None:
        """A tweet posted now reaches the open socket at once, storm or not."""
        await post(content)
        frame = await steady.expect("event", wait=2, stream=stream)
        assert frame["data"]["content"] == content

    # 1. Handshakes: the one slot busy, three wait, the other seven are refused at once.
    async with held(gates.handshake):
        storm = [asyncio.create_task(app.ws(author.access_token)) for _ in range(10)]
        await until(lambda: gates.handshake.waiting == 3 and gates.handshake.rejected == 7)
        await live("during the handshake storm")
        refused = [t for t in storm if t.done()]
        assert len(refused) == 7
        for task in refused:
            await told_to_retry(task.result())
        assert not any(t.done() for t in storm if t not in refused)  # still waiting, not lost
    admitted: list[WsClient] = [await t for t in storm if t not in refused]

    # 2. Replays: the three admitted sockets resume with ``since``; one slot busy, two wait,
    # one is refused (its stream named), and live delivery goes on meanwhile.
    await post("missed by the storm")
    await steady.expect("event", stream=stream)
    async with held(gates.replay):
        for ws in admitted:
            await ws.send({"type": "subscribe", "stream": stream, "since": since})
        await until(lambda: gates.replay.waiting == 2 and gates.replay.rejected == 1)
        await live("during the replay storm")
    outcomes = await asyncio.gather(*(_resumed_or_refused(ws, stream) for ws in admitted))
    served = [ws for ws, ok in zip(admitted, outcomes, strict=True) if ok]
    assert len(served) == 2
    await live("after the storm")
    for ws in served:
        frame = await ws.expect("event", stream=stream)
        assert frame["data"]["content"] == "after the storm"
        await ws.close()
    await steady.close()
    await http.aclose()


async def _resumed_or_refused(ws: WsClient, stream: str) -> bool:
    """True: ``subscribed``, then every event missed (and the live ones meanwhile), in order;
    False: told to retry (never silently dropped)."""
    frame = await ws.recv()
    if frame["type"] == "error":
        assert frame["code"] == protocol.OVERLOADED and frame["stream"] == stream, frame
        code, _ = await ws.closed()
        assert code == protocol.CLOSE_TRY_AGAIN
        return False
    assert frame == {"type": "subscribed", "stream": stream}, frame
    contents = [(await ws.expect("event", stream=stream))["data"]["content"] for _ in range(3)]
    assert contents == [
        "during the handshake storm",
        "missed by the storm",
        "during the replay storm",
    ]
    return True


async def test_a_gate_passes_a_cancelled_waiters_slot_on() -> None:
    gate = Gate("replay", concurrency=1, queue=2, retry_after=1)
    entered: list[str] = []

    async def work(name: str, hold: Awaitable[None] | None = None) -> None:
        async with gate.enter():
            entered.append(name)
            if hold is not None:
                await hold

    release = asyncio.get_running_loop().create_future()
    first = asyncio.create_task(work("first", release))
    await until(lambda: entered == ["first"])
    doomed = asyncio.create_task(work("cancelled"))
    last = asyncio.create_task(work("last"))
    await until(lambda: gate.waiting == 2)
    try:
        async with gate.enter():
            raise AssertionError("the queue is full: this must be refused")
    except Overloaded as exc:
        assert exc.kind == "replay" and 1 <= exc.retry_after <= 2
    doomed.cancel()
    release.set_result(None)
    await asyncio.wait_for(asyncio.gather(first, last), 2)
    with contextlib.suppress(asyncio.CancelledError):
        await doomed
    assert entered == ["first", "last"] and gate.busy == 0 and gate.waiting == 0


async def test_refused_socket_can_come_back_and_resume(apps: Any, make_user: Any) -> None:
    """What a client does with 1013: reconnect after ``retry_after`` and resume."""
    (app,) = await apps(1, ws_handshake_concurrency=1, ws_handshake_queue=0)
    user = await make_user()
    async with held(app.hub.gates.handshake):
        refused = await app.ws(user.access_token)
        await told_to_retry(refused)
    again = await app.ws(user.access_token)
    await again.subscribe("home")
    with contextlib.suppress(ConnectionClosed):
        await again.close()


async def test_a_waiter_past_max_wait_is_told_to_retry() -> None:
    gate = Gate("handshake", concurrency=1, queue=5, retry_after=1, max_wait=0.05)
    async with gate.enter():
        try:
            async with gate.enter():
                raise AssertionError("the slot is held: this must time out")
        except Overloaded as exc:
            assert exc.kind == "handshake"
        assert gate.waiting == 0 and gate.rejected == 1
    async with gate.enter():  # the slot came back
        assert gate.busy == 1


def test_no_full_collection_while_sockets_keep_closing() -> None:
    """The unfreeze-and-collect after churn (seconds at thousands of sockets) waits until
    closes settle: mid-storm it would stall delivery to every open socket."""
    storming = GcFreezer(min_burst=2, settle_seconds=60)
    settled = GcFreezer(min_burst=2, settle_seconds=0)
    try:
        for freezer in (storming, settled):
            for _ in range(3):
                freezer.closed()
            freezer.tick(open_sockets=0)
        assert storming.closed_since == 3  # still closing: nothing collected yet
        assert settled.closed_since == 0  # quiet: collected and frozen again
    finally:
        gc.unfreeze()
