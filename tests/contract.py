"""The published contracts as test helpers: every frame a test receives is checked by them.

``frame_errors`` validates a server frame against the AsyncAPI document the server serves
(``server/asyncapi.py``), picking the message by ``type`` (and ``event`` for events), and its
``data`` against the server's own event union. ``SEEN`` records which messages tests met.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import jsonschema
from pydantic import TypeAdapter

from server import asyncapi
from server.events import Event

ASYNCAPI_SCHEMA = Path(__file__).parent / "contracts" / "asyncapi-3.0.0.schema.json"
_events: TypeAdapter[Any] = TypeAdapter(Event)
SEEN: set[str] = set()


@functools.cache
def document() -> dict[str, Any]:
    """The AsyncAPI document, as ``GET /asyncapi.json`` serves it (the URL only sets host)."""
    return asyncapi.build("http://127.0.0.1:8000", "0.1.0")


@functools.cache
def meta_schema() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(ASYNCAPI_SCHEMA.read_text())
    return data


def _validator(message: str) -> jsonschema.Draft202012Validator:
    doc = document()
    payload = doc["components"]["messages"][message]["payload"]
    # The payload's $refs point into the document's components.
    schema = {**payload, "components": doc["components"]}
    return jsonschema.Draft202012Validator(schema)


_validators: dict[str, jsonschema.Draft202012Validator] = {}


def check_server_frame(frame: dict[str, Any]) -> None:
    """Raise AssertionError unless ``frame`` is a message the AsyncAPI document describes."""
    name = frame.get("event") if frame.get("type") == "event" else frame.get("type")
    assert isinstance(name, str), frame
    messages = document()["components"]["messages"]
    assert name in messages, f"{name!r} is not in /asyncapi.json"
    validator = _validators.get(name) or _validators.setdefault(name, _validator(name))
    errors = [e.message for e in validator.iter_errors(frame)]
    assert not errors, (frame, errors)
    if frame["type"] == "event":
        _events.validate_python({"event": frame["event"], "data": frame["data"]})
    if frame["type"] == "error":
        from realtime.protocol import ERROR_CODES

        assert frame["code"] in ERROR_CODES, f"undocumented error code {frame['code']!r}"
    SEEN.add(name)
