"""realtime/sender.py on its own: the fast path, the bounded backlog, overflow → resync, drain."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from realtime.sender import Sender
from tests.realtime.wsclient import until


class Transport:
    """Stands in for uvicorn's ``send``: finishes at once while open, suspends while blocked
    (as uvicorn does above the transport's high-water mark), raises once the peer is gone."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.open = asyncio.Event()
        self.open.set()
        self.gone = False

    async def send(self, message: dict[str, Any]) -> None:
        if not self.open.is_set():
            await self.open.wait()
        if self.gone:
            raise ConnectionResetError("peer went away")
        self.sent.append(message["text"])


def no_resync() -> list[str]:
    raise AssertionError("resync frames asked for without an overflow")


async def test_a_socket_that_keeps_up_is_written_inline_with_no_task():
    transport, drops = Transport(), []
    sender = Sender(transport.send, max_backlog=4, on_drop=drops.append)
    for i in range(100):
        sender.push(f"f{i}", no_resync)
        # Written before push returned: no backlog, no task, nothing to wait for.
        assert transport.sent[-1] == f"f{i}"
        assert not sender.behind
    assert drops == []


async def test_a_blocked_socket_queues_in_order_then_drains():
    transport = Transport()
    sender = Sender(transport.send, max_backlog=10, on_drop=lambda n: None)
    sender.push("first", no_resync)
    transport.open.clear()
    sender.push("blocked", no_resync)  # suspends: the socket is now behind
    assert sender.behind
    for i in range(5):
        sender.push(f"q{i}", no_resync)
    await sender.send_now("control")  # a control frame keeps its place in line
    assert transport.sent == ["first"]
    transport.open.set()
    await until(lambda: not sender.behind)
    assert transport.sent == ["first", "blocked", "q0", "q1", "q2", "q3", "q4", "control"]
    sender.push("after", no_resync)  # back on the fast path
    assert transport.sent[-1] == "after" and not sender.behind


async def test_overflow_drops_the_backlog_and_ends_in_resync():
    transport, drops = Transport(), []
    resyncs = 0

    def resync_frames() -> list[str]:
        nonlocal resyncs
        resyncs += 1
        return ["resync:home", "resync:public"]

    sender = Sender(transport.send, max_backlog=3, on_drop=drops.append)
    transport.open.clear()
    sender.push("in-flight", resync_frames)
    for i in range(3):
        sender.push(f"kept{i}", resync_frames)  # fills the backlog
    sender.push("overflow", resync_frames)  # full: everything queued is thrown away
    assert drops == [4]
    sender.push("later", resync_frames)  # queued again after the drop
    transport.open.set()
    await until(lambda: not sender.behind)
    # Nothing dropped was sent; the client is told to refetch every stream, once.
    assert transport.sent == ["in-flight", "later", "resync:home", "resync:public"]
    assert resyncs == 1
    # Memory stayed bounded: never more than max_backlog frames were held.


async def test_a_peer_that_goes_away_while_behind_closes_the_sender():
    transport = Transport()
    sender = Sender(transport.send, max_backlog=10, on_drop=lambda n: None)
    transport.open.clear()
    sender.push("a", no_resync)
    sender.push("b", no_resync)
    transport.gone = True
    transport.open.set()
    await until(lambda: sender.closed)
    assert not sender.behind
    sender.push("c", no_resync)  # ignored, no error
    assert transport.sent == []


async def test_a_send_that_fails_inline_closes_the_sender():
    transport = Transport()
    transport.gone = True
    sender = Sender(transport.send, max_backlog=10, on_drop=lambda n: None)
    sender.push("x", no_resync)
    assert sender.closed and not sender.behind


async def test_cancel_stops_the_drain_task():
    transport = Transport()
    sender = Sender(transport.send, max_backlog=10, on_drop=lambda n: None)
    transport.open.clear()
    sender.push("stuck", no_resync)
    sender.push("queued", no_resync)
    task = sender._task
    assert task is not None
    sender.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert sender.closed and not sender.behind
    transport.open.set()
    sender.push("after", no_resync)
    await sender.send_now("control")  # a closed sender writes nothing, not even control
    assert transport.sent == []
