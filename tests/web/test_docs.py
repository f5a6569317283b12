"""/docs in a real Chromium: the OpenAPI and AsyncAPI documents rendered without any CDN, as
text only."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_docs_render_every_operation_offline(murmur, tabs):
    spec = httpx.get(murmur.url + "/openapi.json").json()
    operations = sum(len(ops) for ops in spec["paths"].values())
    socket_doc = httpx.get(murmur.url + "/asyncapi.json").json()
    messages = socket_doc["components"]["messages"]
    tab = tabs()
    requests: list[str] = []
    tab.page.on("request", lambda req: requests.append(req.url))
    page = tab.goto("/docs")

    expect(page.get_by_role("heading", name="Murmur 0.1.0")).to_be_visible()
    expect(page.locator("section.tag:not(#websocket) details.op")).to_have_count(operations)
    assert page.locator("#docs").get_attribute("data-operations") == str(operations)

    # The socket's reference, next to the REST one: every message, streams, codes.
    ws = page.locator("#websocket")
    expect(ws.locator("details.op")).to_have_count(len(messages))
    for stream in ("home", "hashtag:<tag>", "tweet:<tweet_id>"):
        expect(ws.locator("code", has_text=stream).first).to_be_visible()
    counts = ws.locator("details.op", has_text="tweet.counts")
    counts.locator("summary").click()
    expect(counts.locator("p.schema-name", has_text="TweetCountsData")).to_be_visible()
    expect(counts.locator("code.field", has_text="like_count")).to_be_visible()
    expect(ws.get_by_text("4001")).to_be_visible()
    expect(ws.locator("code", has_text="frame_too_large")).to_be_visible()

    signup = page.locator("details.op", has_text="/auth/user/signup")
    signup.locator("summary").click()
    expect(signup.get_by_text("Request body (application/json)")).to_be_visible()
    expect(signup.locator("code.field", has_text="user_name").first).to_be_visible()
    expect(signup.get_by_text("SignupRequest")).to_be_visible()
    expect(signup.locator(".response strong", has_text="409")).to_be_visible()

    upload = page.locator("details.op", has_text="Upload an image")
    upload.locator("summary").click()
    expect(upload.get_by_text("Request body (multipart/form-data)")).to_be_visible()
    expect(upload.locator("code.field", has_text="file")).to_be_visible()

    me = page.locator("details.op", has_text="/users/me").first
    expect(me.locator(".auth")).to_have_count(1)
    # Nothing was fetched from anywhere but Murmur itself.
    assert requests and all(url.startswith(murmur.url) for url in requests), requests
    tab.assert_clean()


def test_docs_renderer_puts_spec_text_in_as_text(murmur, tabs):
    tab = tabs()
    page = tab.goto("/docs")
    expect(page.locator("details.op").first).to_be_attached()
    evil = '<img src=x onerror="window.pwned=1"><script>window.pwned=1</script>'
    spec = {
        "openapi": "3.1.0",
        "info": {"title": evil, "version": "1"},
        "paths": {
            "/x/" + evil: {
                "get": {
                    "summary": evil,
                    "tags": [evil],
                    "parameters": [{"name": evil, "in": "query", "description": evil}],
                    "responses": {"200": {"description": evil}},
                }
            }
        },
    }
    result = page.evaluate(
        """async (spec) => {
            const { render } = await import('/static/docs.js');
            const root = document.createElement('div');
            document.body.append(root);
            render(spec, root);
            await new Promise((r) => setTimeout(r, 50));
            return {
                imgs: root.querySelectorAll('img, script').length,
                text: root.textContent,
                pwned: window.pwned === 1,
            };
        }""",
        spec,
    )
    assert result["imgs"] == 0
    assert result["pwned"] is False
    assert evil in result["text"]
    tab.assert_clean()
