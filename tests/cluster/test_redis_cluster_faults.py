"""A Redis Cluster master killed behind nginx (deploy/nginx/murmur.conf), while tweets flow
to sockets spread over the web processes: its replica takes over, and every socket ends
with every tweet — live, replayed with ``since``, or refetched after the ``resync`` that
the sockets on the lost shard are told — never a silent loss; delivery then goes on live.

The cluster is the one ``scripts/cluster --redis-cluster`` starts (two web processes, a
worker, six ``redis-server --cluster-enabled`` nodes); the Audience is the one of
``test_faults.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from realtime.channels import home_stream
from realtime.clusterlog import ClusterLog
from server.cluster import Cluster
from tests.cluster.conftest import running
from tests.cluster.test_faults import ADMIN, Audience, _in_thread
from tests.cluster.test_faults import audience as audience  # the fixture, on this cluster


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with running(tmp_path_factory, web=2, workers=1, redis_cluster=True,
                 ADMIN_TOKEN=ADMIN) as started:  # fmt: skip
        yield started


def _lost(audience: Audience, tweet_ids: list[str]) -> list[tuple[int, str, list[str]]]:
    """(socket, stream, tweets it has not got in any way)."""
    return [
        (i, stream, sorted(set(tweet_ids) - s.seen(stream)))
        for i, s in enumerate(audience.sockets)
        for stream in s.streams
        if set(tweet_ids) - s.seen(stream)
    ]


async def test_a_killed_master_fails_over_and_no_socket_loses_a_tweet_silently(
    cluster: Cluster, audience: Audience
) -> None:
    redis = cluster.redis
    assert redis is not None and hasattr(redis, "master_of")
    # The master holding the first fan's home log (and its channel: they share a tag).
    fan = audience.fans[0][0]
    victim = redis.master_of(ClusterLog.key(home_stream(fan)))
    try:
        flow = asyncio.create_task(audience.poster.steady("failover", 0.05, count=40))
        await asyncio.sleep(0.6)  # tweets are flowing
        victim.kill()
        await _in_thread(redis.wait_ok, 30)  # its replica has taken over
        await flow
        posted = await audience.poster.steady("after", 0.05, count=10)  # every tweet it posted
        after = posted[-10:]
        await audience.delivered(posted, within=30)
        lost = _lost(audience, posted)
        detail = [
            (i, stream, [posted.index(t) for t in missing], audience.sockets[i].resyncs,
             audience.sockets[i].errors, audience.sockets[i].close_codes)
            for i, stream, missing in lost
        ]  # fmt: skip
        assert lost == [], detail
        stored = await audience.stored()
        assert stored == sorted(posted)  # retried POSTs landed once each
        for s in audience.sockets:
            assert s.errors == [], s.errors
        # Those on the lost shard were told (resync), and live delivery came back for everyone:
        # the last tweets arrived live on every socket's home, not only by a refetch.
        assert any(s.resyncs for s in audience.sockets)
        for i, s in enumerate(audience.sockets):
            assert set(after[-3:]) & set(s.tweets["home"]), (i, s.resyncs, s.close_codes)
    finally:  # it rejoins as a replica (a rerun then starts from a whole cluster)
        if not victim.alive():
            await _in_thread(victim.start)
        await _in_thread(redis.wait_ok, 30)
