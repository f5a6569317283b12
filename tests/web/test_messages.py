"""Two people in two browsers hold a conversation: the unread badge, the live thread, the
typing indicator and the read indicator, without a reload."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.web.test_live import LIVE_MS, wait_subscribed

pytestmark = pytest.mark.browser


def test_two_people_hold_a_conversation(murmur, tabs, screenshots):
    alice_pair, bob_pair = murmur.make_user("alice"), murmur.make_user("bob")
    alice, bob = tabs(), tabs()
    alice.sign_in_with(alice_pair)
    bob.sign_in_with(bob_pair)
    page_b = bob.goto("/")
    wait_subscribed(page_b, "messages")
    expect(page_b.locator("#dm-count")).to_be_hidden()

    # Alice starts a conversation with Bob and writes; Bob's badge counts it.
    page_a = alice.goto("/messages")
    page_a.get_by_label("New conversation with").fill("@bob")
    page_a.get_by_role("button", name="Start").click()
    expect(page_a.get_by_role("heading", name="@bob")).to_be_visible()
    wait_subscribed(page_a, "messages")
    page_a.get_by_label("Write a message").fill("Hello **Bob**")
    page_a.get_by_role("button", name="Send").click()
    expect(page_a.locator(".message.mine")).to_contain_text("Hello Bob")
    expect(page_b.locator("#dm-count")).to_have_text("1", timeout=LIVE_MS)
    expect(page_a.locator("#read-indicator")).to_be_hidden()

    # Bob opens it from the list: the message, rendered; Alice sees that he read it.
    page_b.get_by_role("link", name=re.compile(r"^Messages\s*1 unread$")).click()
    page_b.locator(".conversation-link", has_text="@alice").click()
    expect(page_b.locator(".message strong")).to_have_text("Bob")
    expect(page_a.locator("#read-indicator")).to_have_text("Seen by @bob", timeout=LIVE_MS)
    expect(page_b.locator("#dm-count")).to_be_hidden(timeout=LIVE_MS)

    # Bob types: Alice sees it live; his message then replaces the indicator.
    page_b.get_by_label("Write a message").fill("Hi Alice, typing here")
    expect(page_a.locator("#typing")).to_have_text("@bob is typing…", timeout=LIVE_MS)
    page_b.get_by_role("button", name="Send").click()
    expect(page_a.locator(".message").last).to_contain_text("Hi Alice", timeout=LIVE_MS)
    expect(page_a.locator("#typing")).to_be_hidden()
    expect(page_b.locator("#read-indicator")).to_have_text("Seen by @alice", timeout=LIVE_MS)
    assert page_a.locator(".message").count() == 2 and page_b.locator(".message").count() == 2
    page_a.screenshot(path=str(screenshots / "messages-thread.png"), full_page=True)

    # Bob takes messages only from people he follows: Alice's next one is refused, visibly.
    page_b.get_by_role("link", name="Settings").click()
    page_b.get_by_label("Who may message you").select_option("following")
    expect(page_b.get_by_text("Saved who may message you.")).to_be_visible()
    page_a.get_by_label("Write a message").fill("Still there?")
    page_a.get_by_role("button", name="Send").click()
    expect(page_a.locator(".composer")).to_contain_text("only from people they follow")
    assert page_a.locator(".message").count() == 2
    alice.assert_clean()
    bob.assert_clean()
