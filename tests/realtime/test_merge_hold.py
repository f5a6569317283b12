"""``connection.MergeHold``: live events of logs with different clocks go out in id order."""

from __future__ import annotations

import json

from realtime.connection import Connection, MergeHold, Subscription
from tests.realtime.test_sender import Transport, until


def _subscription(transport: Transport) -> Subscription:
    conn = Connection(
        transport.send, None, max_backlog=100, on_drop=lambda n: None,
        subscribe_rate=5, subscribe_burst=5,
    )  # fmt: skip
    sub = Subscription(conn, "home", ["home:u", "user:a"], True, "0-0")
    conn.subscriptions["home"] = sub
    sub.hold = MergeHold(sub, 0.05)
    return sub


def _frame(n: int) -> str:
    return json.dumps({"type": "event", "stream": "home", "n": n})


def _sent(transport: Transport) -> list[int | str]:
    frames = [json.loads(t) for t in transport.sent]
    return [f.get("n", f["type"]) for f in frames]


async def test_held_events_go_out_in_id_order_and_a_late_one_brings_resync() -> None:
    transport = Transport()
    sub = _subscription(transport)
    assert sub.hold is not None
    # Arrival order is not id order: the user: log's shard clock is ahead.
    sub.hold.add("user:a", (100, 0), None, _frame(100))
    sub.hold.add("home:u", (99, 0), None, _frame(99))
    sub.hold.add("home:u", (101, 0), None, _frame(101))
    assert transport.sent == []  # held
    await until(lambda: len(transport.sent) == 3)
    assert _sent(transport) == [99, 100, 101]

    # Older than what already went out, on a channel where it is new: the hold was too
    # short for it (a stall). It is sent, and the stream resyncs: the client's position
    # no longer proves what it has.
    sub.hold.add("user:a", (100, 5), None, _frame(1005))
    assert _sent(transport)[3:] == [1005, "resync"]

    sub.hold.add("user:a", (102, 0), None, _frame(102))
    sub.hold.cancel()  # unsubscribed: nothing held goes out
    assert len(transport.sent) == 5
