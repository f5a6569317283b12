"""Health probes, the OpenAPI document, and the /docs page that renders it."""

from __future__ import annotations

import gc
import warnings

import httpx
import pytest
from openapi_spec_validator import validate
from starlette.routing import Match

from server.api import ApiRoute
from server.app import create_app
from server.embedded import EmbeddedMongo

from .test_auth import error_code


async def test_healthz(client):
    r = await client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "database": None}


async def test_readyz_when_the_database_answers(client):
    r = await client.get("/readyz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "database": "ok"}


@pytest.fixture
def dead_server_socket_collected():
    """Contain a socket pymongo leaks when its server dies (the one place that kills one).

    Closing a client while its async monitor is connecting to a dead server cancels
    ``pool_shared._async_create_connection``, which closes the socket on ``OSError`` but not
    on ``CancelledError`` (upstream: PYTHON-5867, mongo-python-driver PR #2858). The socket
    lives on in the cancelled task's traceback until the client is garbage; collect it here,
    after the test has dropped the client and app, so the warning cannot land in a later test.
    """
    yield
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


async def test_readyz_is_503_when_the_database_goes_away(
    settings, clock, dead_server_socket_collected
):
    """A real database that stops: the process stays up, readiness says why it is not ready."""
    server = EmbeddedMongo(":memory:")
    url = server.start()
    app = create_app(settings.model_copy(update={"mongodb_url": url}), clock=clock)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://m.test") as c:
                assert (await c.get("/readyz")).status_code == 200
                assert server.process is not None
                server.process.kill()  # the database crashes
                server.process.wait()
                r = await c.get("/readyz")
                assert r.status_code == 503
                assert error_code(r) == "database_unavailable"
                assert "database" in r.json()["error"]["message"]
                assert (await c.get("/healthz")).status_code == 200
    finally:
        server.stop()


async def test_unknown_paths_and_methods_get_the_error_envelope(client):
    r = await client.get("/no/such/thing", headers={"accept": "application/json"})
    assert r.status_code == 404
    assert error_code(r) == "not_found"
    r = await client.put("/tweets", json={})
    assert r.status_code == 405
    assert error_code(r) == "method_not_allowed"
    # A fixed path that a parameterised route also matches (server/routing.py).
    r = await client.put("/tweets/following", json={})
    assert r.status_code == 405
    assert error_code(r) == "method_not_allowed"


def _decision(routes, scope):
    """Which route Starlette's loop hands ``scope`` to: the first full match, else the first
    partial one (405), else none."""
    partial = None
    for route in routes:
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return route, match
        if match is Match.PARTIAL and partial is None:
            partial = route
    return partial, Match.PARTIAL if partial else Match.NONE


async def test_the_router_narrowed_to_a_fixed_path_decides_as_the_whole_list(app):
    """Every path a route names without parameters, with every method: the few routes the
    router asks first pick what the whole list would."""
    router = app.router
    narrowed = router._index()
    assert "/tweets/following" in narrowed and "/users/me" in narrowed
    for path, narrow in narrowed.items():
        assert len(narrow.routes) < len(router.routes)
        for method in ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]:
            scope = {"type": "http", "path": path, "root_path": "", "method": method}
            assert _decision(narrow.routes, scope) == _decision(router.routes, scope), (
                path,
                method,
            )


async def test_the_router_narrowed_to_a_first_segment_decides_as_the_whole_list(app, client):
    """Every route's path with its parameters filled in (and with a trailing slash, and
    paths no route names), with every method: the routes of its first segment pick what the
    whole list would."""
    import re

    router = app.router
    router._index()
    paths = {"/", "/nothing/here", "/tweets", "/static/app.js", "/%7Bx%7D/y"}
    for route in router.routes:
        path = getattr(route, "path", None)
        if isinstance(path, str) and "{" in path:
            filled = re.sub(r"\{[^}:]+:path\}", "a/b", path)
            filled = re.sub(r"\{[^}]+\}", "65a000000000000000000001", filled)
            paths |= {filled, filled + "/"}
    assert len(router._by_segment[None].routes) < len(router.routes)
    for path in sorted(paths):
        first = path.split("/", 2)[1]
        narrow = router._by_segment.get(first, router._by_segment[None])
        for method in ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]:
            scope = {"type": "http", "path": path, "root_path": "", "method": method}
            assert _decision(narrow.routes, scope) == _decision(router.routes, scope), (
                path,
                method,
            )
    # And through the app: a parameterised route, its 405, a path no route names.
    assert (await client.get("/tweets/65a000000000000000000001")).status_code == 404
    assert (await client.put("/tweets/65a000000000000000000001", json={})).status_code == 405
    r = await client.get("/nothing/here", headers={"accept": "application/json"})
    assert r.status_code == 404 and error_code(r) == "not_found"


# --- OpenAPI ---------------------------------------------------------------------------------


async def test_openapi_is_valid_3_1_and_lists_every_route(client, app):
    r = await client.get("/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    assert doc["openapi"].startswith("3.1")
    validate(doc)  # raises on any violation of the OpenAPI 3.1 schema

    routes = [route for route in app.routes if isinstance(route, ApiRoute)]
    assert len(routes) >= 17
    for route in routes:
        assert route.path in doc["paths"], route.path
        op = doc["paths"][route.path].get(route.method.lower())
        assert op is not None, (route.method, route.path)
        assert str(route.spec.status) in op["responses"], route.path
        for name in route.param_convertors:
            params = {p["name"] for p in op["parameters"] if p["in"] == "path"}
            assert name in params, (route.path, name)
    declared = {(path, m) for path, ops in doc["paths"].items() for m in ops}
    assert declared == {(r.path, r.method.lower()) for r in routes}


async def test_openapi_describes_bodies_responses_and_errors(client):
    doc = (await client.get("/openapi.json")).json()
    schemas = doc["components"]["schemas"]

    def resolve(ref: dict) -> dict:
        return schemas[ref["$ref"].rsplit("/", 1)[1]]

    signup = doc["paths"]["/auth/user/signup"]["post"]
    body = resolve(signup["requestBody"]["content"]["application/json"]["schema"])
    assert {"user_name", "email", "password"} <= set(body["required"])
    assert body["additionalProperties"] is False
    assert {"201", "409", "413", "415", "422"} <= set(signup["responses"])
    tweet = resolve(
        doc["paths"]["/tweets/{tweet_id}"]["get"]["responses"]["200"]["content"][
            "application/json"
        ]["schema"]
    )
    assert {"tweet_id", "html", "tags", "mentions", "created_at"} <= set(tweet["properties"])
    me = doc["paths"]["/users/me"]["get"]
    assert me["security"] == [{"bearer": []}]
    assert "401" in me["responses"]
    # Every $ref points at a schema that exists.
    text = (await client.get("/openapi.json")).text
    for name in {part.split('"')[0] for part in text.split("#/components/schemas/")[1:]}:
        assert name in schemas, name


async def test_docs_page_and_its_assets_are_served_without_a_cdn(client):
    r = await client.get("/docs")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    page = r.text
    assert '<script type="module" src="/static/docs.js">' in page
    assert 'href="/static/docs.css"' in page
    assert "http://" not in page and "https://" not in page

    js = await client.get("/static/docs.js")
    assert js.status_code == 200
    assert "javascript" in js.headers["content-type"]
    assert "/openapi.json" in js.text
    for sink in (".innerHTML", ".outerHTML", "insertAdjacentHTML", "document.write"):
        assert sink not in js.text, sink
    assert "http://" not in js.text and "https://" not in js.text
    css = await client.get("/static/docs.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")


async def test_every_response_carries_security_headers(client):
    for path, accept in (("/", "text/html"), ("/healthz", "application/json"), ("/nope", "*/*")):
        r = await client.get(path, headers={"Accept": accept})
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["x-frame-options"] == "DENY"
