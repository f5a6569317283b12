"""Sign-up through the e-mailed code, sign-out, sign-in, and a session that survives reload."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import read_otp
from tests.web.conftest import PASSWORD

pytestmark = pytest.mark.browser


def test_sign_up_verify_sign_out_sign_in_and_reload(murmur, tabs):
    murmur.make_user("taken_name")
    tab = tabs()
    page = tab.goto("/signup")
    expect(page.get_by_role("heading", name="Create your account")).to_be_visible()

    name = page.get_by_label("User name")
    name.fill("taken_name")
    expect(page.locator(".hint.bad")).to_have_text("That user name is already taken.")
    name.fill("ab")
    expect(page.locator(".hint.bad")).to_contain_text("3–30 letters")
    name.fill("carol_web")
    expect(page.locator(".hint.good")).to_have_text("@carol_web is available.")

    page.get_by_label("E-mail").fill("carol@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()

    expect(page).to_have_url(re.compile(r"/verify\?user=carol_web$"))
    code = page.get_by_label("6-digit code from the e-mail")
    code.fill("000000" if read_otp(murmur.outbox, "carol@example.com") != "000000" else "111111")
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("alert")).to_be_visible()  # a wrong code is explained, not ignored

    code.fill(read_otp(murmur.outbox, "carol@example.com"))
    page.get_by_role("button", name="Confirm").click()
    expect(page).to_have_url(murmur.url + "/")
    expect(page.get_by_role("heading", name="Home")).to_be_visible()
    expect(page.get_by_role("link", name="@carol_web")).to_be_visible()

    page.reload()
    expect(page.get_by_role("link", name="@carol_web")).to_be_visible()
    expect(page.get_by_role("heading", name="Home")).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(murmur.url + "/login")
    expect(page.get_by_role("link", name="@carol_web")).to_have_count(0)
    page.reload()
    expect(page.get_by_role("heading", name="Sign in to Murmur")).to_be_visible()
    assert page.evaluate("localStorage.getItem('murmur.session')") is None

    page.get_by_label("User name or e-mail").fill("carol_web")
    page.get_by_label("Password").fill("wrong password!")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".form-error")).to_be_visible()
    expect(page.locator(".form-error")).not_to_be_empty()

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Home")).to_be_visible()
    expect(page.get_by_role("link", name="@carol_web")).to_be_visible()
    page.reload()
    expect(page.get_by_role("link", name="@carol_web")).to_be_visible()
    tab.assert_clean()


def test_expired_access_token_is_renewed_silently(murmur, tabs):
    pair = murmur.make_user("dave_web")
    tab = tabs()
    tab.sign_in_with(pair)  # stored as already expired: the client must refresh first
    page = tab.goto("/")
    page.get_by_label("What's happening?").fill("posted after a silent refresh")
    page.get_by_role("button", name="Post", exact=True).click()
    expect(page.locator(".tweet .tweet-body").first).to_have_text("posted after a silent refresh")
    stored = page.evaluate("JSON.parse(localStorage.getItem('murmur.session'))")
    assert stored["refresh"] != pair["refresh_token"]  # rotated once, and kept
    r = murmur.api("GET", "/users/me", stored["access"])
    assert r.status_code == 200
    assert r.json()["user_name"] == "dave_web"
    tab.assert_clean()
