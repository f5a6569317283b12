"""Issue 10, item 4 (browser side): the client takes fragment tokens only for its own sign-in.

The attack: send the victim ``/#access_token=…&refresh_token=…`` carrying the attacker's own
tokens; a client that took any fragment would replace the victim's session with the
attacker's, and the victim would post inside the attacker's account.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_a_link_with_someone_elses_tokens_does_not_sign_the_victim_in(murmur, tabs):
    attacker = murmur.make_user("mallory")
    victim_pair = murmur.make_user("victim")
    tab = tabs()
    for extra in ({}, {"nonce": "attacker-nonce-0123456789"}):
        tab.goto("/static/style.css")  # so that the next visit is a fresh page load
        fragment = urlencode(
            {
                "access_token": attacker["access_token"],
                "refresh_token": attacker["refresh_token"],
                "expires_in": 900,
                **extra,
            }
        )
        page = tab.goto("/#" + fragment)
        expect(
            page.get_by_text("Ignored a sign-in link that this tab did not start.")
        ).to_be_visible()
        assert "access_token" not in page.url  # cleared from the address bar all the same
        assert page.evaluate("localStorage.getItem('murmur.session')") is None
        expect(page.get_by_role("link", name="@mallory")).to_have_count(0)

    # Signed in as themselves, the victim keeps their own session.
    tab.sign_in_with(victim_pair)
    page = tab.goto("/#" + fragment)
    expect(page.get_by_role("link", name="@victim")).to_be_visible()
    session: dict[str, Any] = page.evaluate("JSON.parse(localStorage.getItem('murmur.session'))")
    assert session["user"]["user_name"] == "victim"
    tab.assert_clean()
