"""Read preference per kind of read (``server/readpref.py``): the setting reaches the wire.

SecantusDB is a single-node replica set: connected to as one (``replicaSet=``), the driver
sends ``$readPreference`` with each command that may go to a secondary, and none with a
primary read (the primary answers both, as it would with no secondary in reach); the app's
command listener counts the former (``murmur_db_secondary_reads``).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from pymongo import MongoClient

from server.app import create_app
from server.readpref import READ_KINDS
from server.settings import Settings


def secondary_reads(app: Any) -> dict[str, float]:
    """Commands sent with a read preference other than primary so far, per collection."""
    found: dict[str, float] = {}
    for metric in app.state.db_metrics.secondary_reads.collect():
        for sample in metric.samples:
            if sample.name.endswith("_total"):
                assert sample.labels["mode"] == "secondaryPreferred", sample
                name = sample.labels["collection"]
                found[name] = found.get(name, 0) + sample.value
    return found


async def reads_of_every_kind(http: httpx.AsyncClient, author: Any, reader: Any) -> None:
    """One request per kind of read that may go to a secondary, and some that may not."""
    r = await http.post("/tweets", json={"content": "hello #storm"}, headers=author.headers)
    assert r.status_code == 201, r.text
    for path in (
        "/tweets",  # timeline
        "/tags/storm/tweets",  # timeline
        "/search/tweets?q=hello",  # search
        "/users/search?q=user",  # search
        "/tags/trending",  # trending
        "/users/trending",  # trending
        f"/users/{author.id}/tweets",  # profile (someone else's)
        "/users/suggestions",  # profile
    ):
        r = await http.get(path, headers=reader.headers)
        assert r.status_code == 200, (path, r.text)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Every kind opted in, on a replica-set URL: a direct connection (the tests' usual URL)
    makes the driver send ``primaryPreferred`` with every read, whatever was chosen."""
    url = settings.mongodb_url
    assert url is not None and "directConnection=true" in url
    with MongoClient(url) as probe:
        name = probe.admin.command("hello")["setName"]
    return settings.model_copy(
        update={
            "mongodb_url": url.replace("directConnection=true", f"replicaSet={name}"),
            "mongodb_secondary_reads": list(READ_KINDS),
        }
    )


async def test_opted_in_kinds_carry_secondary_preferred_and_the_rest_stay_primary(
    app: Any, client: httpx.AsyncClient, make_user: Any
) -> None:
    author, reader = await make_user(), await make_user()
    before = secondary_reads(app)
    await reads_of_every_kind(client, author, reader)
    moved = {k: v - before.get(k, 0) for k, v in secondary_reads(app).items()}
    # Tweets (timelines, search, profiles), trend buckets and people (search, trending,
    # suggestions) were read with secondaryPreferred ...
    assert {"tweets", "tag_trends", "users"} <= {k for k, v in moved.items() if v}, moved
    # ... sign-in, sessions and every write path never (auth, codes, the outbox, counters).
    for primary_only in ("sessions", "refresh_tokens", "otps", "account_codes", "tags"):
        assert primary_only not in moved, moved

    # Your own tweets page right after posting reads the primary: the tweet is there.
    r = await client.post("/tweets", json={"content": "just now"}, headers=author.headers)
    assert r.status_code == 201
    before = secondary_reads(app)
    r = await client.get("/users/me/tweets", headers=author.headers)
    assert r.json()["items"][0]["content"] == "just now"
    assert secondary_reads(app).get("tweets", 0) == before.get("tweets", 0)

    # The staleness bound travels with each read.
    handle = app.state.services.reader("search")
    assert handle.read_preference.document == {
        "mode": "secondaryPreferred",
        "maxStalenessSeconds": 90,
    }


async def test_by_default_every_read_goes_to_the_primary(
    settings: Settings, clock: Any, make_user: Any, client: httpx.AsyncClient
) -> None:
    plain = create_app(settings.model_copy(update={"mongodb_secondary_reads": []}), clock=clock)
    async with plain.router.lifespan_context(plain):
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=plain), base_url="http://t")
        async with http:
            await reads_of_every_kind(http, await make_user(), await make_user())
        assert secondary_reads(plain) == {}
        assert all(db is plain.state.services.db for db in plain.state.services.readers.values())
