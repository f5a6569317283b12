"""The OpenAPI 3.1 document, generated from the routes' specs and pydantic models."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from starlette.routing import BaseRoute

from .api import ApiRoute

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {"type": "array", "items": {}},
            },
        }
    },
}

_REASONS = {
    400: "Bad request",
    401: "Not signed in or bad token",
    403: "Not allowed",
    404: "Not found",
    409: "Conflict",
    412: "The resource changed since you read it (If-Match)",
    413: "Body too large",
    415: "Unsupported body type",
    416: "Range not satisfiable",
    422: "Invalid input",
    429: "Rate limited",
    503: "Unavailable",
}


def build(routes: list[BaseRoute], title: str, version: str) -> dict[str, Any]:
    api_routes = [r for r in routes if isinstance(r, ApiRoute)]
    models: set[type[BaseModel]] = set()
    for r in api_routes:
        for m in (r.spec.body, r.spec.response):
            if isinstance(m, type) and issubclass(m, BaseModel):
                models.add(m)
    refs, defs = models_json_schema(
        [(m, "serialization") for m in sorted(models, key=lambda m: m.__name__)],
        ref_template="#/components/schemas/{model}",
    )

    def _ref(model: type[BaseModel]) -> dict[str, Any]:
        return refs[(model, "serialization")]

    schemas: dict[str, Any] = dict(defs.get("$defs", {}))
    schemas["Error"] = ERROR_SCHEMA

    paths: dict[str, dict[str, Any]] = {}
    for r in api_routes:
        spec = r.spec
        op: dict[str, Any] = {
            "operationId": r.name,
            "summary": spec.summary,
            "tags": [spec.tag],
            "parameters": [
                {
                    "name": p.name,
                    "in": p.location,
                    "required": p.required or p.location == "path",
                    "description": p.description,
                    "schema": {"type": p.type},
                }
                for p in spec.params
            ],
        }
        if spec.body is not None:
            op["requestBody"] = {
                "required": spec.body_required,
                "content": {spec.body_media: {"schema": _ref(spec.body)}},
            }
        ok: dict[str, Any] = {"description": "OK"}
        if spec.response is not None:
            ok["content"] = {spec.response_media: {"schema": _ref(spec.response)}}
        elif spec.response_media != "application/json":
            binary = {"type": "string", "format": "binary"}
            ok["content"] = {spec.response_media: {"schema": binary}}
        responses: dict[str, Any] = {str(spec.status): ok}
        if spec.etag:
            ok["headers"] = {"ETag": {"schema": {"type": "string"}}}
            op["parameters"].append(
                {
                    "name": "If-None-Match",
                    "in": "header",
                    "required": False,
                    "description": "an ETag you hold: 304 while it is still current",
                    "schema": {"type": "string"},
                }
            )
            responses["304"] = {"description": "Not modified: your copy is current"}
        if spec.ranges:
            partial = {"Content-Range": {"schema": {"type": "string"}}}
            responses["206"] = {"description": "The byte range asked for", "headers": partial,
                                "content": ok.get("content", {})}  # fmt: skip
        error_codes = set(spec.errors) | ({401} if spec.auth else set())
        if spec.body is not None:
            error_codes |= {400, 413, 415, 422}
        for code in sorted(error_codes):
            responses[str(code)] = {
                "description": _REASONS.get(code, "Error"),
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            }
        op["responses"] = responses
        if spec.auth:
            op["security"] = [{"bearer": []}]
        paths.setdefault(r.path, {})[r.method.lower()] = op

    return {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": version,
            "description": (
                "Every error is {error: {code, message, details}}. Lists are pages with "
                "next_cursor and a Link: rel=next header. Live updates come over the WebSocket "
                "at /ws, described by the AsyncAPI document at /asyncapi.json."
            ),
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
    }
