"""The contracts client developers code against: /asyncapi.json and one source of event names."""

from __future__ import annotations

import json
from typing import get_args

import jsonschema

from realtime import protocol
from realtime.streams import STREAM_KINDS, StreamError, resolve
from server.events import event_models, event_name
from tests.contract import document, meta_schema


async def test_asyncapi_is_served_and_valid(client):
    r = await client.get("/asyncapi.json")
    assert r.status_code == 200
    doc = r.json()
    assert doc["asyncapi"] == "3.0.0"
    # Raises on any violation of the official AsyncAPI 3.0.0 JSON Schema.
    jsonschema.Draft7Validator(meta_schema()).validate(doc)
    assert doc["servers"]["murmur"]["pathname"] == "/ws"
    # What tests validate frames against is exactly what is served.
    assert json.loads(json.dumps(document())) == doc | {"servers": document()["servers"]}


def test_the_event_union_is_the_one_list_of_event_names():
    server_names = [event_name(m) for m in event_models()]
    assert len(server_names) == len(set(server_names))
    assert set(get_args(protocol.EventName)) == set(server_names)


def frame_type(model) -> str:
    (value,) = get_args(model.model_fields["type"].annotation)
    return str(value)


def test_asyncapi_lists_every_frame_and_event():
    doc = document()
    client_frames = {frame_type(m) for m in get_args(get_args(protocol.ClientFrame)[0])}
    server_frames = {frame_type(m) for m in get_args(get_args(protocol.ServerFrame)[0])}
    server_frames.discard("event")  # one message per event name instead
    events = {event_name(m) for m in event_models()}
    assert client_frames == {"subscribe", "unsubscribe", "ping", "auth", "typing"}
    by_action: dict[str, set[str]] = {"receive": set(), "send": set()}
    for op in doc["operations"].values():
        for ref in op["messages"]:
            by_action[op["action"]].add(ref["$ref"].rsplit("/", 1)[1])
    assert by_action["receive"] == client_frames
    assert by_action["send"] == server_frames | events
    assert set(doc["components"]["messages"]) == client_frames | server_frames | events
    # Each event's payload names its own data model, not a bag of fields.
    counts = doc["components"]["schemas"]["Event_tweet_counts"]
    assert counts["properties"]["event"]["const"] == "tweet.counts"
    assert counts["properties"]["data"] == {"$ref": "#/components/schemas/TweetCountsData"}
    assert {c["code"] for c in doc["x-close-codes"]} == set(protocol.CLOSE_CODES)
    assert {c["code"] for c in doc["x-error-codes"]} == set(protocol.ERROR_CODES)


def test_stream_patterns_agree_with_what_the_hub_accepts():
    import re

    examples = {
        "home": "home",
        "notifications": "notifications",
        "messages": "messages",
        "public": "public",
        "hashtag:<tag>": "hashtag:rust",
        "user:<user_id>": "user:665f1c2b9a1e4c0012345678",
        "tweet:<tweet_id>": "tweet:665f1c2b9a1e4c0012345678",
    }
    assert {k.name for k in STREAM_KINDS} == set(examples)
    for kind in STREAM_KINDS:
        name = examples[kind.name]
        assert re.fullmatch(kind.pattern.strip("^$"), name)
        assert resolve(name, "someone")  # accepted
        if kind.signed_in:
            try:
                resolve(name, None)
            except StreamError as exc:
                assert exc.code == protocol.UNAUTHORIZED
            else:
                raise AssertionError(f"{name} accepted without a token")
    for bad in ("home:someone", "hashtag:", "user:a/b", "timeline", "typing:someone",
                "messages:someone"):  # fmt: skip
        assert not any(re.fullmatch(k.pattern.strip("^$"), bad) for k in STREAM_KINDS)
        try:
            resolve(bad, "someone")
        except StreamError:
            pass
        else:
            raise AssertionError(f"{bad} accepted")
