"""Screenshots of the main screens on every run (test-output/screenshots/), desktop and phone."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

TWEETS = [
    "Shipping the **web client** today. No build step, just ES modules. #murmur #webdev",
    "Reading about Redis pub/sub and `since` resumes. @operator have you seen this?",
    "Coffee first, then code review ☕\n\n- fix the pill\n- check the chart",
    "What's everyone's favourite #python async library?",
]


def seed(murmur):
    admin = murmur.make_user("operator", display_name="Ops Team", bio="Keeping Murmur up.")
    alice = murmur.make_user("alice", display_name="Alice Liddell", bio="Curiouser and curiouser.")
    bob = murmur.make_user("bob", display_name="Bob")
    for who in (alice, bob):
        r = murmur.api("POST", f"/users/{who['user']['user_id']}/follow", admin["access_token"])
        assert r.status_code == 200, r.text
    r = murmur.api("POST", f"/users/{admin['user']['user_id']}/follow", alice["access_token"])
    assert r.status_code == 200, r.text
    posted = [
        murmur.tweet(who, text) for who, text in zip([alice, bob, alice, bob], TWEETS, strict=True)
    ]
    r = murmur.api("POST", f"/tweets/{posted[0]['tweet_id']}/likes", bob["access_token"])
    assert r.status_code == 200, r.text
    r = murmur.api(
        "POST",
        f"/tweets/{posted[0]['tweet_id']}/comments",
        admin["access_token"],
        json={"content": "Looks great!"},
    )
    assert r.status_code == 201, r.text
    return admin


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_screenshots_of_home_profile_and_operator(murmur, tabs, screenshots, device):
    admin = seed(murmur)
    size = (1200, 900) if device == "desktop" else (390, 844)
    tab = tabs(*size)
    tab.sign_in_with(admin)

    page = tab.goto("/")
    expect(page.locator(".tweet")).to_have_count(5)  # four followed + the admin's reply
    expect(page.locator(".tweet .like-count").first).to_be_visible()
    shot = screenshots / f"home-{device}.png"
    page.screenshot(path=shot, full_page=True)

    page = tab.goto("/@alice")
    expect(page.get_by_role("heading", name="Alice Liddell")).to_be_visible()
    expect(page.locator(".count-followers")).to_have_text("1")
    expect(page.get_by_role("button", name="Unfollow")).to_be_visible()
    expect(page.locator(".tweet")).to_have_count(2)
    page.screenshot(path=screenshots / f"profile-{device}.png", full_page=True)

    page = tab.goto("/operator")
    expect(page.get_by_role("heading", name="Operator")).to_be_visible()
    expect(page.locator(".list-status, [role=status]").last).not_to_be_empty()
    for i in range(4):  # some traffic while it polls, so the chart has something to draw
        murmur.tweet(admin, f"Operator check {i} #ops")
        page.wait_for_timeout(700)
    expect(page.locator("#op-cluster")).not_to_have_text("–")
    page.screenshot(path=screenshots / f"operator-{device}.png", full_page=True)

    for name in ("home", "profile", "operator"):
        assert (screenshots / f"{name}-{device}.png").stat().st_size > 5_000
    tab.assert_clean()
