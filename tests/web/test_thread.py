"""The tweet page shows the conversation: the chain above, the focused tweet, the replies
below indented by depth, and new replies arriving live in their place."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.web.test_live import LIVE_MS, wait_subscribed

pytestmark = pytest.mark.browser


def reply(murmur: Any, pair: dict[str, Any], parent: str, content: str) -> str:
    r = murmur.api(
        "POST", f"/tweets/{parent}/comments", pair["access_token"], json={"content": content}
    )
    assert r.status_code == 201, r.text
    tweet_id: str = r.json()["tweet_id"]
    return tweet_id


def test_a_thread_shows_ancestors_and_nested_replies_and_a_reply_arrives_live(
    murmur: Any, tabs: Any, screenshots: Any
) -> None:
    alice, bob, carol = (murmur.make_user(n) for n in ("alice", "bob", "carol"))
    root = murmur.tweet(alice, "Where should the meetup be?")["tweet_id"]
    focus = reply(murmur, bob, root, "How about the library")
    first = reply(murmur, carol, focus, "The library is closed on Mondays")
    reply(murmur, alice, first, "Tuesday then")
    tab = tabs()
    tab.sign_in_with(carol)
    page = tab.goto(f"/tweets/{focus}")

    expect(page.locator(".thread-ancestors .tweet")).to_have_count(1)
    expect(page.locator(".thread-ancestors .tweet")).to_contain_text("meetup")
    expect(page.locator(".tweet.focus")).to_contain_text("How about the library")
    items = page.locator(".thread-replies .thread-item")
    expect(items).to_have_count(2)
    assert items.evaluate_all("els => els.map(e => e.dataset.depth)") == ["1", "2"]
    expect(items.nth(1)).to_have_class("thread-item depth-2")

    # A reply to the first reply arrives under it, before a later reply to the focused tweet.
    wait_subscribed(page, f"tweet:{focus}", f"tweet:{first}")
    reply(murmur, bob, first, "Wednesday works for me")
    reply(murmur, alice, focus, "Or the park")
    expect(items).to_have_count(4, timeout=LIVE_MS)
    texts = items.evaluate_all("els => els.map(e => [e.dataset.depth, e.innerText])")
    assert [d for d, _ in texts] == ["1", "2", "2", "1"]
    assert "Wednesday works" in texts[2][1] and "Or the park" in texts[3][1]
    expect(items.nth(2).locator(".tweet")).to_have_class("tweet fresh")
    page.screenshot(path=str(screenshots / "thread.png"), full_page=True)
    tab.assert_clean()
