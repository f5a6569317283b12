"""Sharing in the browser: quotes and reposts arrive live (the quoted tweet embedded, "Reposted
by @name"); repost, bookmark and pin toggles change state and counts; the bookmarks page and a
profile's pinned section."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.web.test_live import LIVE_MS, wait_subscribed

pytestmark = pytest.mark.browser


def test_quote_and_repost_live_then_repost_bookmark_pin_and_quote_from_the_card(murmur, tabs):
    alice = murmur.make_user("alice")
    bob = murmur.make_user("bob")
    r = murmur.api("POST", f"/users/{alice['user']['user_id']}/follow", bob["access_token"])
    assert r.status_code == 200, r.text
    mine = murmur.tweet(bob, "Bob's original thought")
    theirs = murmur.tweet(alice, "Alice's tweet to share")
    tab = tabs()
    tab.sign_in_with(bob)
    page = tab.goto("/")
    own_card = page.locator(f'.tweet[data-tweet-id="{mine["tweet_id"]}"]')
    card = page.locator(f'.tweet[data-tweet-id="{theirs["tweet_id"]}"]')
    expect(card).to_be_visible()
    wait_subscribed(page, "home", f"tweet:{mine['tweet_id']}")

    # Alice quotes Bob: the quote slides into his open home timeline with his tweet embedded
    # (the live event carries only the quoted id; the client fetches the text as Bob), and
    # the quote count under his own tweet ticks.
    quote = murmur.tweet(alice, "Alice quotes Bob", quote_of=mine["tweet_id"])
    live_quote = page.locator(f'.tweet[data-tweet-id="{quote["tweet_id"]}"]')
    expect(live_quote).to_be_visible(timeout=LIVE_MS)
    expect(live_quote.locator(".quoted .tweet-body")).to_have_text("Bob's original thought")
    expect(live_quote.locator(".quoted .author")).to_have_text("@bob")
    expect(own_card.locator(".quote-count")).to_have_text("1", timeout=LIVE_MS)

    # Alice reposts Carol, whom Bob does not follow: Carol's tweet arrives live on his home,
    # "Reposted by @alice" above it; Alice takes the repost back and the card leaves.
    carol = murmur.make_user("carol")
    passed_on = murmur.tweet(carol, "Carol's tweet worth passing on")
    r = murmur.api("POST", f"/tweets/{passed_on['tweet_id']}/repost", alice["access_token"])
    assert r.status_code == 200, r.text
    reposted = page.locator(f'.tweet[data-tweet-id="{passed_on["tweet_id"]}"]')
    expect(reposted).to_be_visible(timeout=LIVE_MS)
    expect(reposted.locator(".repost-context")).to_have_text("Reposted by @alice")
    expect(reposted.locator(".repost-context a")).to_have_attribute("href", "/@alice")
    expect(reposted.locator(".author")).to_have_text("@carol")
    r = murmur.api("DELETE", f"/tweets/{passed_on['tweet_id']}/repost", alice["access_token"])
    assert r.status_code == 200, r.text
    expect(reposted).to_have_count(0, timeout=LIVE_MS)

    # Repost and take it back: one name, aria-pressed and the count follow at once; the
    # toast says the server has answered.
    repost = card.get_by_role("button", name="Repost", exact=True)
    expect(repost).to_have_attribute("aria-pressed", "false")
    repost.click()
    expect(repost).to_have_attribute("aria-pressed", "true")
    expect(card.locator(".repost-count")).to_have_text("1")
    expect(page.get_by_role("status").filter(has_text="Reposted.")).to_be_visible()
    assert bob_sees(murmur, bob, theirs)["reposted_by_me"] is True
    repost.click()
    expect(repost).to_have_attribute("aria-pressed", "false")
    expect(card.locator(".repost-count")).to_have_text("0")
    expect(page.get_by_role("status").filter(has_text="Repost undone.")).to_be_visible()
    assert bob_sees(murmur, bob, theirs)["reposted_by_me"] is False

    # Bookmark it; the bookmarks page lists it and drops it once un-bookmarked there.
    card.get_by_role("button", name="Bookmark").click()
    expect(card.get_by_role("button", name="Bookmark")).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_role("status").filter(has_text="Bookmarked.")).to_be_visible()
    page.get_by_role("link", name="Bookmarks").click()
    expect(page.get_by_role("heading", name="Bookmarks")).to_be_visible()
    kept = page.locator(f'.tweet[data-tweet-id="{theirs["tweet_id"]}"]')
    expect(kept).to_be_visible()
    expect(page.locator(".tweet")).to_have_count(1)
    kept.get_by_role("button", name="Bookmark").click()
    expect(page.locator(".tweet")).to_have_count(0)
    expect(page.get_by_text("No bookmarks yet.")).to_be_visible()
    r = murmur.api("GET", "/users/me/bookmarks", bob["access_token"])
    assert r.json()["items"] == []

    # Pin his own tweet from his profile: it shows in the pinned section, then leaves it.
    page.locator("#nav").get_by_role("link", name="@bob").click()
    pinned = page.locator(".pinned")
    expect(page.locator(".tweet").first).to_be_visible()
    expect(pinned).to_be_hidden()
    pin = page.locator(f'.timeline .tweet[data-tweet-id="{mine["tweet_id"]}"]').get_by_role(
        "button", name="Pin to your profile"
    )
    expect(pin).to_be_enabled()
    pin.click()
    expect(pinned.locator(".tweet")).to_contain_text("Bob's original thought")
    expect(pin).to_have_attribute("aria-pressed", "true")
    pinned.get_by_role("button", name="Pin to your profile").click()
    expect(pinned).to_be_hidden()
    expect(pin).to_have_attribute("aria-pressed", "false")

    # Quote Alice from her card: the composer shows her tweet; the quote lands on Bob's home.
    page.get_by_role("link", name="Home", exact=True).click()
    card.get_by_role("button", name="Quote").click()
    form = card.locator(".quote-form")
    expect(form.locator(".quoted .tweet-body")).to_have_text("Alice's tweet to share")
    form.get_by_label("Quote @alice's tweet").fill("Worth reading")
    form.get_by_role("button", name="Post quote").click()
    expect(form).to_have_count(0)
    mine_quote = page.locator(".tweet").filter(has_text="Worth reading")
    expect(mine_quote.locator(".quoted .tweet-body")).to_have_text(
        "Alice's tweet to share", timeout=LIVE_MS
    )
    r = murmur.api("GET", f"/tweets/{theirs['tweet_id']}/quotes", bob["access_token"])
    assert [t["content"] for t in r.json()["items"]] == ["Worth reading"]
    tab.assert_clean()


def bob_sees(murmur, pair, tweet):
    r = murmur.api("GET", f"/tweets/{tweet['tweet_id']}", pair["access_token"])
    assert r.status_code == 200, r.text
    return r.json()
