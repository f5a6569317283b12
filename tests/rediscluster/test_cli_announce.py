"""``murmur make-admin`` on a Redis Cluster: the user change reaches the hub's control channel
by sharded pub/sub, on the master that owns the channel's slot."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from realtime.hub import CONTROL_CHANNEL
from realtime.redis_backend import connect_redis
from server.cli import _announce_user_change


async def test_a_user_change_is_published_on_the_control_channels_shard(
    redis_cluster: Any,
) -> None:
    owner = redis_cluster.master_of(CONTROL_CHANNEL)
    listener = connect_redis(f"redis://127.0.0.1:{owner.port}/0")
    pubsub = listener.pubsub()
    try:
        await pubsub.ssubscribe(CONTROL_CHANNEL)
        async with asyncio.timeout(5):
            while (await pubsub.get_message(timeout=1.0)) is None:
                pass  # the subscription's confirmation
        await _announce_user_change(redis_cluster.url, "u-123", cluster=True)
        async with asyncio.timeout(5):
            while (message := await pubsub.get_message(timeout=1.0)) is None:
                pass
        assert message["type"] == "smessage"
        assert "u-123" in json.dumps(message["data"])
    finally:
        await pubsub.aclose()
        await listener.aclose()
