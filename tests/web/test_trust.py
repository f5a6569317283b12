"""Trust and safety in the browser: sign in with GitHub, block and mute, reports, moderation."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from server.embedded import free_port
from tests.oauth_provider import CLIENT_ID, CLIENT_SECRET, FakeGitHub
from tests.web.conftest import Tab
from tests.web.test_live import LIVE_MS, wait_subscribed

pytestmark = pytest.mark.browser


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    provider = FakeGitHub().start()
    yield provider
    provider.stop()


def test_sign_in_with_github(
    browser: Browser, live_app: Any, redis_server: Any, github, screenshots
):
    port = free_port()
    app = live_app(
        redis_url=redis_server.url,
        port=port,
        RATE_LIMITS_ENABLED="false",
        PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        GITHUB_CLIENT_ID=CLIENT_ID,
        GITHUB_CLIENT_SECRET=CLIENT_SECRET,
        GITHUB_AUTHORIZE_URL=f"{github.base}/login/oauth/authorize",
        GITHUB_TOKEN_URL=f"{github.base}/login/oauth/access_token",
        GITHUB_API_URL=f"{github.base}/api",
    )
    context = browser.new_context(viewport={"width": 1100, "height": 800})
    context.set_default_timeout(10_000)
    try:
        tab = Tab(context, app.url)
        page = tab.goto("/signup")
        expect(page.get_by_role("link", name="Sign in with GitHub")).to_be_visible()
        page = tab.goto("/login")
        button = page.get_by_role("link", name="Sign in with GitHub")
        expect(button).to_be_visible()
        page.screenshot(path=str(screenshots / "sign-in-with-github.png"))

        # The person says no at GitHub: back on the sign-in page with the reason, no session.
        github.deny = True
        button.click()
        expect(
            page.get_by_role("alert").filter(has_text="GitHub did not sign you in")
        ).to_be_visible()
        assert page.url == app.url + "/login"  # the reason left the address bar
        assert page.evaluate("localStorage.getItem('murmur.session')") is None
        github.deny = False

        # The provider says yes at once; the callback lands on /#access_token=…
        button = page.get_by_role("link", name="Sign in with GitHub")
        button.click()
        expect(page.get_by_role("heading", name="Home")).to_be_visible()
        expect(page.get_by_role("link", name="@octo_cat")).to_be_visible()
        assert page.url == app.url + "/"  # the tokens left the address bar
        session = page.evaluate("JSON.parse(localStorage.getItem('murmur.session'))")
        assert session["user"]["user_name"] == "octo_cat" and session["refresh"]
        page.reload()
        expect(page.get_by_role("link", name="@octo_cat")).to_be_visible()
        tab.assert_clean()
    finally:
        context.close()


def test_block_and_mute_from_a_profile(murmur, tabs, screenshots):
    alice_pair = murmur.make_user("alice")
    bob_pair = murmur.make_user("bob")
    murmur.api("POST", f"/users/{alice_pair['user']['user_id']}/follow", bob_pair["access_token"])
    murmur.tweet(alice_pair, "Alice was here")

    bob = tabs()
    # Without GitHub configured the sign-in screen offers no GitHub button.
    with bob.page.expect_response("**/auth/oauth/providers"):
        bob.goto("/login")
    expect(bob.page.get_by_role("link", name="Sign in with GitHub")).to_have_count(0)

    bob.sign_in_with(bob_pair)
    home = bob.goto("/")
    expect(home.locator(".tweet").filter(has_text="Alice was here")).to_be_visible()

    profile = bob.context.new_page()
    profile.goto(murmur.url + "/@alice")
    mute = profile.get_by_role("button", name="Mute", exact=True)
    mute.click()
    unmute = profile.get_by_role("button", name="Unmute")
    expect(unmute).to_have_attribute("aria-pressed", "true")
    unmute.click()
    expect(mute).to_have_attribute("aria-pressed", "false")

    profile.get_by_role("button", name="Block", exact=True).click()
    expect(profile.get_by_role("button", name="Unblock")).to_have_attribute("aria-pressed", "true")
    expect(profile.get_by_role("button", name="Unfollow")).to_be_hidden()
    expect(profile.locator(".count-followers")).to_have_text("0")  # the block ended the follow
    profile.get_by_role("button", name="Mute", exact=True).click()
    expect(profile.get_by_role("button", name="Unmute")).to_be_visible()
    profile.set_viewport_size({"width": 390, "height": 844})  # a phone
    profile.screenshot(path=str(screenshots / "profile-blocked-phone.png"))

    # Bob's open home timeline loses Alice's tweets on reload.
    home.reload()
    expect(home.get_by_role("heading", name="Home")).to_be_visible()
    expect(home.locator(".timeline .list-status")).not_to_have_text("Loading…")
    expect(home.locator(".tweet").filter(has_text="Alice was here")).to_have_count(0)

    # Settings lists both; undoing there shows on the profile again.
    home.get_by_role("link", name="Settings").click()
    blocked = home.get_by_role("region", name="Blocked accounts")
    muted = home.get_by_role("region", name="Muted accounts")
    expect(blocked.get_by_role("link", name="@alice")).to_be_visible()
    expect(muted.get_by_role("link", name="@alice")).to_be_visible()
    home.screenshot(path=str(screenshots / "settings-blocks-mutes.png"))
    blocked.get_by_role("button", name="Unblock @alice").click()
    expect(blocked.get_by_text("You have not blocked anyone.")).to_be_visible()
    muted.get_by_role("button", name="Unmute @alice").click()
    expect(muted.get_by_text("You have not muted anyone.")).to_be_visible()
    profile.reload()
    expect(profile.get_by_role("button", name="Block", exact=True)).to_have_attribute(
        "aria-pressed", "false"
    )
    expect(profile.get_by_role("button", name="Follow", exact=True)).to_be_visible()
    bob.assert_clean()


def test_report_then_a_moderator_hides_the_tweet_live(murmur, tabs, screenshots):
    boss = murmur.make_user("operator")  # the admin, from ADMIN_EMAILS
    mod_pair = murmur.make_user("mod")
    r = murmur.api(
        "POST",
        f"/moderation/users/{mod_pair['user']['user_id']}/role",
        boss["access_token"],
        json={"role": "moderator"},
    )
    assert r.status_code == 200, r.text
    mod_pair["user"]["role"] = "moderator"
    alice_pair = murmur.make_user("alice")
    carol_pair = murmur.make_user("carol")
    tweet = murmur.tweet(alice_pair, "Buy cheap followers now")

    # Carol, a normal user, reports it from Explore; a second report is refused clearly.
    carol = tabs(width=390, height=844)  # a phone
    carol.sign_in_with(carol_pair)
    page_c = carol.goto("/public")
    card = page_c.locator(".tweet").filter(has_text="Buy cheap followers")
    card.get_by_role("button", name="Report").click()
    card.get_by_label("Why are you reporting this tweet?").fill("spam, <b>obviously</b>")
    page_c.screenshot(path=str(screenshots / "report-tweet-phone.png"))
    card.get_by_role("button", name="Send report").click()
    expect(page_c.get_by_text("The moderators will review this tweet.")).to_be_visible()
    expect(card.locator(".report-form")).to_have_count(0)
    card.get_by_role("button", name="Report").click()
    card.get_by_label("Why are you reporting this tweet?").fill("still spam")
    card.get_by_role("button", name="Send report").click()
    expect(card.get_by_role("alert")).to_have_text(
        "You already reported this tweet. The moderators will review it."
    )
    expect(page_c.get_by_role("link", name="Moderation")).to_have_count(0)
    assert murmur.api("GET", "/moderation/reports", carol_pair["access_token"]).status_code == 403
    wait_subscribed(page_c, "public", f"tweet:{tweet['tweet_id']}")

    # The moderator finds it in the queue (the reason as text, not HTML) and hides it.
    mod = tabs()
    mod.sign_in_with(mod_pair)
    page_m = mod.goto("/")
    page_m.get_by_role("link", name="Moderation").click()
    report = page_m.locator(".report").filter(has_text="Buy cheap followers")
    expect(report.locator(".reason")).to_have_text("Reason: spam, <b>obviously</b>")
    page_m.screenshot(path=str(screenshots / "moderation-queue.png"))
    report.get_by_role("button", name="Hide tweet").click()
    expect(report.get_by_role("status")).to_have_text("Tweet hidden everywhere.")
    expect(card).to_have_count(0, timeout=LIVE_MS)  # gone from Carol's open page, live
    assert murmur.api("GET", f"/tweets/{tweet['tweet_id']}").status_code == 404

    # Restore brings it back for everyone; the queue keeps the resolved report.
    report.get_by_role("button", name="Restore tweet").click()
    expect(report.get_by_role("status")).to_have_text("Tweet restored.")
    assert murmur.api("GET", f"/tweets/{tweet['tweet_id']}").status_code == 200
    page_m.get_by_label("Reports").select_option("resolved")
    expect(page_m.locator(".report").filter(has_text="Buy cheap followers")).to_contain_text(
        "resolved (hidden)"
    )
    carol.assert_clean()
    mod.assert_clean()
