"""Hostile text renders as text: no dialog, no script, no javascript: link, anywhere it shows."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

PAYLOADS = "\n\n".join(
    [
        "<img src=x onerror=\"window.__pwned='img';alert('img')\">",
        "[click me](javascript:window.__pwned='link';alert('link'))",
        "<script>window.__pwned='script';alert('script')</script>",
        "<a href=\"javascript:alert('raw')\">raw link</a> <svg onload=alert('svg')>",
        "**bold** and #safe_tag",
    ]
)


def assert_harmless(tab, page, shown=("<img src=x onerror=", "<script>")):
    body = page.locator(".tweet .tweet-body").first
    expect(body).to_contain_text("bold")
    # The markup arrives as text (escaped by the server), never as elements.
    for text in shown:
        expect(body).to_contain_text(text)
    assert body.locator("img, script, svg, iframe").count() == 0
    assert body.locator("strong").inner_text() == "bold"
    hrefs = body.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert hrefs, "the hashtag link is there"
    assert all(h and not h.strip().lower().startswith("javascript:") for h in hrefs), hrefs
    handlers = page.evaluate(
        "[...document.querySelectorAll('*')].flatMap(e => [...e.attributes]"
        ".filter(a => a.name.startsWith('on')).map(a => e.tagName + ' ' + a.name))"
    )
    assert handlers == []
    page.wait_for_timeout(300)  # an onerror would have fired by now
    assert page.evaluate("window.__pwned") is None
    tab.assert_clean()


def test_xss_payloads_in_tweets_profiles_and_preview_stay_inert(murmur, tabs):
    mallory = murmur.make_user(
        "mallory",
        display_name="<img src=x onerror=alert('name')>",
        bio="<script>window.__pwned='bio'</script>",
    )
    tweet = murmur.tweet(mallory, PAYLOADS)
    victim = murmur.make_user("victim")

    tab = tabs()
    tab.sign_in_with(victim)
    page = tab.goto("/public")
    expect(page.locator(".tweet")).to_have_count(1)
    assert_harmless(tab, page)

    page = tab.goto(f"/tweets/{tweet['tweet_id']}")
    expect(page.locator(".tweet.focus")).to_be_visible()
    assert_harmless(tab, page)

    page = tab.goto("/@mallory")
    expect(page.get_by_role("heading", level=1)).to_have_text("<img src=x onerror=alert('name')>")
    expect(page.locator(".bio")).to_have_text("<script>window.__pwned='bio'</script>")
    assert_harmless(tab, page)

    # What a person types is previewed as text too.
    page = tab.goto("/")
    page.get_by_label("What's happening?").fill(PAYLOADS)
    page.get_by_role("button", name="Preview").click()
    preview = page.locator(".preview")
    expect(preview).to_contain_text("<img src=x onerror=")
    assert preview.locator("img, script, svg").count() == 0
    hrefs = preview.locator("a").evaluate_all("ls => ls.map(a => a.getAttribute('href'))")
    assert not any(h.lower().startswith("javascript:") for h in hrefs), hrefs
    page.wait_for_timeout(300)
    assert page.evaluate("window.__pwned") is None
    tab.assert_clean()

    # And an edit that smuggles the payload in shows the same way, "original" included.
    r = murmur.api(
        "PATCH",
        f"/tweets/{tweet['tweet_id']}",
        mallory["access_token"],
        json={"content": "**bold** #safe_tag <img src=x onerror=alert('edit')>"},
    )
    assert r.status_code == 200, r.text
    page = tab.goto(f"/tweets/{tweet['tweet_id']}")
    page.get_by_role("button", name="edited · show original").click()
    expect(page.locator(".original-text")).to_contain_text("<script>window.__pwned='script'")
    assert_harmless(tab, page, shown=("<img src=x onerror=alert('edit')>",))
