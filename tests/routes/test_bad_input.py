"""Every API route, fed bad input: always a JSON error envelope with a 4xx, never a 500."""

from __future__ import annotations

import re

import pytest

from server.api import ApiRoute

from .test_auth import error_code

BAD_BODIES = [
    (b"", "application/json"),
    (b"null", "application/json"),
    (b"[]", "application/json"),
    (b'"text"', "application/json"),
    (b"12", "application/json"),
    (b"{", "application/json"),
    (b'{"a": }', "application/json"),
    (b"\xff\xfe", "application/json"),
    (b'{"content": "\\ud800"}', "application/json"),
    (b"[" * 5000 + b"]" * 5000, "application/json"),
    (b'{"unknown_field": 1}', "application/json"),
    (b'{"content": null, "user_name": null, "refresh_token": null}', "application/json"),
    (b'{"content": 5, "user_name": [], "password": {}, "refresh_token": 1.5}', "application/json"),
    (b"content=hello", "application/x-www-form-urlencoded"),
    (b"<x/>", "text/xml"),
    (b"{}", ""),
]

BAD_IDS = ["nope", "0" * 24, "x" * 2000, "%ED%A0%80", "%FF", "..%2F..", "me"]


def _routes(app):
    return [r for r in app.routes if isinstance(r, ApiRoute)]


def _fill(path: str, value: str) -> str:
    return re.sub(r"\{[^}]+\}", value, path)


def _assert_clean_4xx(r, what) -> None:
    assert 400 <= r.status_code < 500 or r.status_code == 503, (what, r.status_code, r.text)
    assert r.status_code != 500, what
    error_code(r)  # the envelope, with a snake_case code


@pytest.mark.timeout(300)
async def test_bad_bodies_on_every_route_with_a_body(client, app, make_user, make_tweet):
    user = await make_user("fuzzer")
    tweet = await make_tweet(user, "target")
    # Sign-out last: it ends the session the other requests use.
    routes = sorted(_routes(app), key=lambda r: r.path == "/auth/logout")
    for route in routes:
        if route.spec.body is None:
            continue
        path = _fill(route.path, tweet["tweet_id"] if "tweet" in route.path else user.id)
        for raw, ctype in BAD_BODIES:
            if raw == b"" and not route.spec.body_required:
                continue
            headers = {**user.headers, "content-type": ctype} if ctype else dict(user.headers)
            r = await client.request(route.method, path, content=raw, headers=headers)
            _assert_clean_4xx(r, (route.method, path, raw[:40], ctype))
        r = await client.request(
            route.method,
            path,
            content=b'{"x": "' + b"a" * 2_000_000 + b'"}',
            headers={**user.headers, "content-type": "application/json"},
        )
        # JSON routes cap their bodies at MAX_BODY_BYTES; POST /media takes only multipart
        # (its own, larger cap is tested in tests/media).
        json_body = route.spec.body_media == "application/json"
        assert r.status_code == (413 if json_body else 415), (route.method, path, r.text)
    # The target tweet and the user are untouched by all that.
    assert (await client.get(f"/tweets/{tweet['tweet_id']}")).json() == tweet
    assert (await client.get("/users/me", headers=user.headers)).json()["tweet_count"] == 1


@pytest.mark.timeout(300)
async def test_bad_ids_and_queries_on_every_route(client, app, make_user):
    user = await make_user("prober")
    for route in _routes(app):
        if "{" not in route.path:
            continue
        for bad in BAD_IDS:
            path = _fill(route.path, bad)
            body = {"json": {}} if route.spec.body is not None else {}
            r = await client.request(route.method, path, headers=user.headers, **body)
            assert r.status_code != 500, (route.method, path, r.text)
            if r.status_code >= 400:
                error_code(r)
    for route in _routes(app):
        if route.method != "GET":
            continue
        path = _fill(route.path, user.id)
        for query in (
            "limit=0",
            "limit=abc",
            "limit=1e3",
            "page=-1",
            "cursor=%%%",
            "cursor=AAAA",
            "sort=nope",
            "q=" + "x" * 3000,
            "username=" + "y" * 3000,
            "limit=1&limit=2",
        ):
            r = await client.get(f"{path}?{query}", headers=user.headers)
            assert r.status_code != 500, (path, query, r.text)
            if r.status_code >= 400:
                error_code(r)
