"""Issue 10 (low): the browser's live socket carries a single-use ticket, never the token."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_the_client_connects_with_a_ticket(murmur, tabs):
    pair = murmur.make_user("ticketed")
    tab = tabs()
    tab.sign_in_with(pair)
    with tab.page.expect_websocket() as opened:
        tab.goto("/")
    url = opened.value.url
    assert "/ws?ticket=" in url, url
    assert "access_token" not in url and pair["access_token"] not in url
    tab.assert_clean()
