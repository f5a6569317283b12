"""The AsyncAPI 3.0 document of ``/ws``, generated from the protocol and event models.

Nothing here is written twice: client and server frames come from ``realtime/protocol.py``,
each event's payload from the event union in ``server/events.py`` (one message per event
name, its ``data`` typed by the event's own model), stream names from
``realtime/streams.py:STREAM_KINDS``, close and error codes from the protocol's tables.
"""

from __future__ import annotations

from typing import Any, Literal, get_args
from urllib.parse import urlsplit

from pydantic import BaseModel, create_model
from pydantic.json_schema import models_json_schema

from realtime import protocol
from realtime.streams import STREAM_KINDS

from .events import event_models, event_name

CLIENT_FRAMES: tuple[type[BaseModel], ...] = get_args(get_args(protocol.ClientFrame)[0])
SERVER_FRAMES: tuple[type[BaseModel], ...] = tuple(
    m for m in get_args(get_args(protocol.ServerFrame)[0]) if m is not protocol.EventFrame
)


def _frame_type(model: type[BaseModel]) -> str:
    literal = model.model_fields["type"].annotation
    (value,) = get_args(literal)
    return str(value)


def _event_frame(event: type[BaseModel]) -> type[BaseModel]:
    """``EventFrame`` narrowed to one event: its name as a constant, its own ``data`` model."""
    name = event_name(event)  # type: ignore[arg-type]
    data = event.model_fields["data"].annotation
    fields: dict[str, Any] = {
        "event": (Literal[name], ...),
        "data": (data, ...),
    }
    title = "Event_" + name.replace(".", "_")
    model: type[BaseModel] = create_model(title, __base__=protocol.EventFrame, **fields)
    model.__doc__ = f"The ``{name}`` event. " + (protocol.EventFrame.__doc__ or "")
    return model


def _message(model: type[BaseModel], ref: dict[str, Any], name: str) -> dict[str, Any]:
    return {
        "name": name,
        "title": name,
        "summary": (model.__doc__ or "").strip().split("\n")[0],
        "contentType": "application/json",
        "payload": ref,
    }


def build(public_base_url: str, version: str) -> dict[str, Any]:
    """The whole document (served at ``GET /asyncapi.json``)."""
    event_frames = {event_name(m): _event_frame(m) for m in event_models()}
    models = [*CLIENT_FRAMES, *SERVER_FRAMES, *event_frames.values()]
    refs, defs = models_json_schema(
        [(m, "serialization") for m in models], ref_template="#/components/schemas/{model}"
    )
    schemas: dict[str, Any] = dict(defs.get("$defs", {}))

    # (name, model, action): what the server receives (client frames) and sends.
    entries = [
        *((_frame_type(m), m, "receive") for m in CLIENT_FRAMES),
        *((_frame_type(m), m, "send") for m in SERVER_FRAMES),
        *((name, m, "send") for name, m in event_frames.items()),
    ]
    messages: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for name, model, action in entries:
        messages[name] = _message(model, refs[(model, "serialization")], name)
        operations[f"{action}_{name.replace('.', '_')}"] = {
            "action": action,
            "channel": {"$ref": "#/channels/ws"},
            "summary": messages[name]["summary"],
            "messages": [{"$ref": f"#/channels/ws/messages/{name}"}],
        }
    url = urlsplit(public_base_url)

    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Murmur realtime (/ws)",
            "version": version,
            "description": (
                "One WebSocket per client; every frame is a JSON text frame. Subscribe to "
                "streams (x-streams), receive events; resume home, notifications and user: "
                "streams with since. See docs/realtime.md for the rules behind each frame."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "murmur": {
                "host": url.netloc,
                "protocol": "wss" if url.scheme == "https" else "ws",
                "pathname": "/ws",
                "security": [
                    {"$ref": "#/components/securitySchemes/bearer"},
                    {"$ref": "#/components/securitySchemes/accessTokenQuery"},
                ],
            }
        },
        "channels": {
            "ws": {
                "address": "/ws",
                "title": "The socket",
                "description": "Client frames in, server frames and events out.",
                "messages": {name: {"$ref": f"#/components/messages/{name}"} for name in messages},
            }
        },
        "operations": operations,
        "components": {
            "schemas": schemas,
            "messages": messages,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "accessTokenQuery": {
                    "type": "httpApiKey",
                    "name": "access_token",
                    "in": "query",
                    "description": "For browsers, which cannot set headers on a WebSocket.",
                },
            },
        },
        "x-streams": [
            {
                "name": kind.name,
                "pattern": kind.pattern,
                "signedIn": kind.signed_in,
                "resumable": kind.resumable,
                "description": kind.description,
            }
            for kind in STREAM_KINDS
        ],
        "x-close-codes": [
            {"code": code, "description": text} for code, text in protocol.CLOSE_CODES.items()
        ],
        "x-error-codes": [
            {"code": code, "description": text} for code, text in protocol.ERROR_CODES.items()
        ],
    }
