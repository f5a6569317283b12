"""HTTP conventions clients rely on: Link headers, ETag / If-None-Match, If-Match, request ids."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest

from .test_auth import error_code

LINK = re.compile(r'^<(?P<url>[^>]+)>; rel="next"$')


def next_link(r: httpx.Response) -> str | None:
    header = r.headers.get("link")
    if header is None:
        return None
    found = LINK.match(header)
    assert found, header
    return found.group("url")


# --- Link (RFC 8288) ---------------------------------------------------------------------------


async def test_pages_link_to_the_next_page_until_the_last(client, make_user, make_tweet):
    user = await make_user()
    posted = [(await make_tweet(user, f"link {i}"))["tweet_id"] for i in range(5)]
    seen: list[str] = []
    url: str | None = f"/users/{user.id}/tweets?limit=2&page=1"
    pages = 0
    while url is not None:
        r = await client.get(url)
        assert r.status_code == 200
        body = r.json()
        seen += [t["tweet_id"] for t in body["items"]]
        url = next_link(r)
        if body["next_cursor"] is None:
            assert url is None
        else:
            # The link is the same request, continued at next_cursor (page= is dropped).
            assert url is not None
            link = httpx.URL(url)
            assert link.path == f"/users/{user.id}/tweets"
            assert link.params["cursor"] == body["next_cursor"]
            assert link.params["limit"] == "2"
            assert "page" not in link.params
        pages += 1
        assert pages < 10
    assert seen == posted[::-1]
    assert pages == 3


async def test_an_empty_or_last_page_has_no_link(client, make_user):
    user = await make_user()
    r = await client.get(f"/users/{user.id}/tweets")
    assert r.json() == {"items": [], "next_cursor": None}
    assert "link" not in r.headers


async def test_link_keeps_the_other_query_parameters(client, make_user, make_tweet):
    user = await make_user()
    for i in range(3):
        await make_tweet(user, f"#linked tweet {i}")
    r = await client.get("/tags/linked/tweets", params={"limit": 2})
    url = next_link(r)
    assert url is not None
    r2 = await client.get(url)
    assert r2.status_code == 200
    assert len(r2.json()["items"]) == 1
    assert next_link(r2) is None


# --- ETag / If-None-Match ----------------------------------------------------------------------


async def test_a_tweet_revalidates_with_304_until_it_changes(client, make_user, make_tweet):
    author, fan = await make_user(), await make_user()
    tweet = await make_tweet(author, "cache me")
    path = f"/tweets/{tweet['tweet_id']}"
    r = await client.get(path)
    tag = r.headers["etag"]
    assert re.fullmatch(r'"[0-9a-f]{24}"', tag)
    assert "private" in r.headers["cache-control"]

    again = await client.get(path, headers={"If-None-Match": tag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == tag
    # Weak comparison and lists, as RFC 9110 asks for If-None-Match.
    assert (await client.get(path, headers={"If-None-Match": f'"x", W/{tag}'})).status_code == 304
    assert (await client.get(path, headers={"If-None-Match": '"other"'})).status_code == 200

    # A like changes what the tweet looks like: the old tag no longer matches.
    assert (await client.post(f"{path}/likes", headers=fan.headers)).status_code == 200
    changed = await client.get(path, headers={"If-None-Match": tag})
    assert changed.status_code == 200
    assert changed.json()["like_count"] == 1
    assert changed.headers["etag"] != tag
    # Who asks matters too: the fan sees liked_by_me, so the fan's copy has its own tag.
    mine = await client.get(path, headers={**fan.headers, "If-None-Match": changed.headers["etag"]})
    assert mine.status_code == 200
    assert mine.json()["liked_by_me"] is True


async def test_profiles_and_me_have_etags(client, make_user):
    user = await make_user()
    for path, headers in (
        (f"/users/{user.id}", {}),
        (f"/users/by-name/{user.user_name}", {}),
        ("/users/me", user.headers),
    ):
        r = await client.get(path, headers=headers)
        assert r.status_code == 200, path
        tag = r.headers["etag"]
        r304 = await client.get(path, headers={**headers, "If-None-Match": tag})
        assert r304.status_code == 304, path
    me = await client.get("/users/me", headers=user.headers)
    r = await client.patch("/users/me", json={"bio": "new bio"}, headers=user.headers)
    assert r.status_code == 200
    after = await client.get(
        "/users/me", headers={**user.headers, "If-None-Match": me.headers["etag"]}
    )
    assert after.status_code == 200
    assert after.json()["user_metadata"]["bio"] == "new bio"


# --- If-Match on edits -------------------------------------------------------------------------


async def test_an_edit_with_a_stale_if_match_is_412_and_changes_nothing(
    client, make_user, make_tweet
):
    author = await make_user()
    tweet = await make_tweet(author, "version one")
    path = f"/tweets/{tweet['tweet_id']}"
    first = await client.get(path, headers=author.headers)
    old_tag = first.headers["etag"]

    # Another client of the same author edits first.
    r = await client.patch(path, json={"content": "version two"}, headers=author.headers)
    assert r.status_code == 200

    stale = await client.patch(
        path, json={"content": "edit of v1"}, headers={**author.headers, "If-Match": old_tag}
    )
    assert stale.status_code == 412
    assert error_code(stale) == "precondition_failed"
    current = await client.get(path, headers=author.headers)
    assert current.json()["content"] == "version two"
    assert stale.headers["etag"] == current.headers["etag"]

    fresh = await client.patch(
        path,
        json={"content": "version three"},
        headers={**author.headers, "If-Match": current.headers["etag"]},
    )
    assert fresh.status_code == 200
    assert fresh.json()["content"] == "version three"
    history = (await client.get(f"{path}/history")).json()
    assert [e["content"] for e in history["edits"]] == ["version two", "version three"]


async def test_if_match_star_and_weak_tags(client, make_user, make_tweet):
    author = await make_user()
    tweet = await make_tweet(author, "stars")
    path = f"/tweets/{tweet['tweet_id']}"
    tag = (await client.get(path, headers=author.headers)).headers["etag"]
    weak = await client.patch(
        path, json={"content": "weak"}, headers={**author.headers, "If-Match": f"W/{tag}"}
    )
    assert weak.status_code == 412  # If-Match uses strong comparison
    star = await client.patch(
        path, json={"content": "star"}, headers={**author.headers, "If-Match": "*"}
    )
    assert star.status_code == 200
    # If-Match on somebody else's tweet is still 403, not a hint about its version.
    other = await make_user()
    r = await client.patch(path, json={"content": "x"}, headers={**other.headers, "If-Match": "*"})
    assert r.status_code == 403


# --- X-Request-Id ------------------------------------------------------------------------------


async def test_every_response_has_a_request_id(client):
    ids = set()
    for path in ("/healthz", "/no/such/path", "/openapi.json"):
        r = await client.get(path, headers={"accept": "application/json"})
        rid = r.headers["x-request-id"]
        assert re.fullmatch(r"[0-9a-f]{32}", rid)
        ids.add(rid)
    assert len(ids) == 3
    r = await client.post("/tweets", json={})  # errors too
    assert r.status_code == 401
    assert "x-request-id" in r.headers


async def test_a_proxy_request_id_is_kept_and_a_bad_one_replaced(client):
    r = await client.get("/healthz", headers={"X-Request-Id": "nginx-1a2b3c"})
    assert r.headers["x-request-id"] == "nginx-1a2b3c"
    for bad in ("x" * 200, "has space", "new\\nline"):
        r = await client.get("/healthz", headers={"X-Request-Id": bad})
        assert r.headers["x-request-id"] != bad
        assert re.fullmatch(r"[0-9a-f]{32}", r.headers["x-request-id"])


@pytest.mark.live
async def test_log_lines_of_a_request_carry_its_id(live_app):
    app = live_app(LOG_LEVEL="INFO")
    rid = f"req-{uuid.uuid4().hex[:12]}"
    async with httpx.AsyncClient(base_url=app.url) as http:
        r = await http.get("/tweets/000000000000000000000000", headers={"X-Request-Id": rid})
        assert r.status_code == 404
        assert r.headers["x-request-id"] == rid
        other = (await http.get("/healthz")).headers["x-request-id"]
    app.stop()
    lines = app.log_path.read_text().splitlines()
    access = [line for line in lines if "GET /tweets/000000000000000000000000" in line]
    assert len(access) == 1
    assert f"[{rid}]" in access[0]
    assert any(f"[{other}]" in line and "GET /healthz" in line for line in lines)
