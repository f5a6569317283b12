"""The server answers page loads of client routes with web/index.html, and nothing else."""

from __future__ import annotations

import pytest

HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
JSON = {"Accept": "application/json"}


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/login",
        "/signup",
        "/verify",
        "/public",
        "/notifications",
        "/bookmarks",
        "/search",
        "/operator",
        "/moderation",
        "/settings",
        "/@alice",
        "/@alice/followers",
        "/@alice/following",
        "/tweets/0123456789abcdef01234567",
        "/tags/murmur",
        "/messages",
        "/messages/0123456789abcdef01234567",
    ],
)
async def test_page_loads_of_client_routes_get_the_client(client, path):
    r = await client.get(path, headers=HTML)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="/static/app.js"></script>' in r.text
    if path != "/":
        assert r.headers["vary"] == "Accept"


async def test_api_clients_still_get_json_at_the_same_addresses(client):
    r = await client.get("/tweets/0123456789abcdef01234567", headers=JSON)
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "tweet_not_found"
    r = await client.get("/tweets/0123456789abcdef01234567")  # httpx sends */*
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/json")


@pytest.mark.parametrize(
    "path", ["/no-such-api", "/users/me/nothing", "/static/missing.js", "/@bad name", "/ws"]
)
async def test_unknown_paths_keep_their_json_404_even_for_browsers(client, path):
    r = await client.get(path, headers=HTML)
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/json")


async def test_only_reads_get_the_page(client):
    r = await client.post("/login", headers=HTML)
    assert r.status_code in (404, 405)
    assert not r.headers["content-type"].startswith("text/html")


async def test_every_static_module_the_client_imports_is_served(client):
    r = await client.get("/static/app.js")
    assert r.status_code == 200
    for path in ["api.js", "live.js", "dom.js", "ui.js", "markdown.js", "style.css"]:
        r = await client.get(f"/static/{path}")
        assert r.status_code == 200, path
