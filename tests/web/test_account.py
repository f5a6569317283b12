"""The account pages in a real Chromium: a forgotten password reset through the e-mailed
link (read from the outbox), and turning on two-factor sign-in with the QR page (the test
computes the codes from the secret, as the phone would) and then signing in with it."""

from __future__ import annotations

import re

import pyotp
import pytest
from playwright.sync_api import expect

from tests.account.helpers import mailed_reset_token
from tests.web.conftest import PASSWORD

pytestmark = pytest.mark.browser

NEW = "a brand new passphrase"


def test_a_forgotten_password_is_reset_from_the_mailed_link(murmur, tabs):
    pair = murmur.make_user("rita_web")
    tab = tabs()
    page = tab.goto("/login")
    page.get_by_role("link", name="Forgot your password?").click()
    expect(page.get_by_role("heading", name="Forgot your password?")).to_be_visible()
    page.get_by_label("User name or e-mail").fill("rita_web")
    page.get_by_role("button", name="Send me a link").click()
    expect(page.get_by_role("status").filter(has_text="link")).to_be_visible()

    token = mailed_reset_token(murmur.outbox, pair["user"]["email"])
    page = tab.goto(f"/reset#token={token}")
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    assert "token" not in page.url  # the fragment is cleared from the address bar
    page.get_by_label("New password", exact=True).fill("password123")
    page.get_by_role("button", name="Set password").click()
    expect(page.get_by_role("alert")).to_contain_text("most common")
    page.get_by_label("New password", exact=True).fill(NEW)
    page.get_by_role("button", name="Set password").click()
    expect(page).to_have_url(murmur.url + "/login")

    page.get_by_label("User name or e-mail").fill("rita_web")
    page.get_by_label("Password").fill(NEW)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(murmur.url + "/")
    expect(page.get_by_role("link", name="@rita_web")).to_be_visible()
    # The old password no longer works, and the session from before ended.
    r = murmur.api("POST", "/auth/login", json={"user_name": "rita_web", "password": PASSWORD})
    assert r.status_code == 401
    assert murmur.api("GET", "/users/me", pair["access_token"]).status_code == 401
    tab.assert_clean()


def test_two_factor_sign_in_is_turned_on_from_the_qr_page_and_then_asked_for(murmur, tabs):
    pair = murmur.make_user("tess_web")
    tab = tabs()
    tab.sign_in_with(pair)
    page = tab.goto("/settings/security")
    expect(page.get_by_role("heading", name="Security")).to_be_visible()
    page.get_by_role("button", name="Set up two-factor sign-in").click()
    qr = page.get_by_role("img", name="QR code of the two-factor secret")
    expect(qr).to_be_visible()
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0")  # the SVG rendered
    secret = page.locator(".totp-secret").inner_text().strip()
    totp = pyotp.TOTP(secret)
    page.get_by_label("Code from the app").fill(totp.now())
    page.get_by_role("button", name="Enable").click()
    expect(page.get_by_role("status").filter(has_text="Two-factor sign-in is on")).to_be_visible()
    codes = page.locator(".recovery-codes li")
    expect(codes).to_have_count(10)
    recovery = codes.first.inner_text().strip()

    # A new browser: the password alone is not enough.
    other = tabs()
    page = other.goto("/login")
    page.get_by_label("User name or e-mail").fill("tess_web")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Two-factor sign-in")).to_be_visible()
    page.get_by_label("…or a recovery code").fill(recovery)
    page.get_by_role("button", name="Verify").click()
    expect(page).to_have_url(murmur.url + "/")
    expect(page.get_by_role("link", name="@tess_web")).to_be_visible()

    # The devices list shows both browsers; this one is marked.
    page = other.goto("/settings/security")
    sessions = page.locator(".sessions li")
    expect(sessions).to_have_count(2)
    expect(sessions.filter(has_text="this device")).to_have_count(1)
    assert re.search(r"Chrome", sessions.first.inner_text())
    tab.assert_clean()
    other.assert_clean()
