"""Images in the browser: attach by file picker and by drag-and-drop, remove one, describe
the other; the tweet arrives live in a follower's open timeline with its alt text; the
lightbox opens, closes on Escape and gives focus back."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.web.test_live import LIVE_MS, wait_subscribed

pytestmark = pytest.mark.browser


def _png(color: str, size: tuple[int, int] = (60, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


DROP = """([name, b64]) => {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const data = new DataTransfer();
  data.items.add(new File([bytes], name, { type: "image/png" }));
  const form = document.querySelector("form.composer");
  const drop = { dataTransfer: data, bubbles: true, cancelable: true };
  form.dispatchEvent(new DragEvent("drop", drop));
}"""


def test_post_an_image_with_alt_text_and_see_it_live(murmur, tabs, screenshots):
    alice_pair = murmur.make_user("alice")
    bob_pair = murmur.make_user("bob")
    r = murmur.api(
        "POST", f"/users/{alice_pair['user']['user_id']}/follow", bob_pair["access_token"]
    )
    assert r.status_code in (200, 201, 204), r.text
    bob, alice = tabs(), tabs()
    bob.sign_in_with(bob_pair)
    alice.sign_in_with(alice_pair)
    page_b = bob.goto("/")
    expect(page_b.get_by_role("heading", name="Home")).to_be_visible()
    wait_subscribed(page_b, "home")

    page_a = alice.goto("/")
    page_a.get_by_label("What's happening?").fill("Our new flag")
    page_a.locator("input.media-input").set_input_files(
        files=[{"name": "flag.png", "mimeType": "image/png", "buffer": _png("red")}]
    )
    page_a.evaluate(DROP, ["dropped.png", base64.b64encode(_png("blue")).decode()])
    expect(page_a.locator(".media-item .media-preview img")).to_have_count(2)
    page_a.get_by_role("button", name="Remove dropped.png").click()
    expect(page_a.locator(".media-item")).to_have_count(1)
    page_a.get_by_label("Alt text for flag.png").fill("A plain red flag")
    page_a.get_by_role("button", name="Post", exact=True).click()
    expect(page_a.locator(".media-item")).to_have_count(0)  # the picker is emptied

    card = page_b.locator(".tweet").filter(has_text="Our new flag")
    expect(card).to_be_visible(timeout=LIVE_MS)
    image = card.locator(".tweet-media img")
    expect(image).to_have_count(1)
    expect(image).to_have_attribute("alt", "A plain red flag")
    page_b.wait_for_function(
        "() => document.querySelector('.tweet-media img')?.naturalWidth === 60"
    )  # really loaded from /media/.../preview under the page's CSP
    page_b.screenshot(path=str(screenshots / "media-timeline.png"))

    thumb = card.get_by_role("button", name="View image: A plain red flag")
    thumb.click()
    dialog = page_b.locator("dialog.lightbox")
    expect(dialog).to_be_visible()
    expect(dialog.locator(".lightbox-alt")).to_have_text("A plain red flag")
    expect(dialog.locator("img")).to_have_attribute("alt", "A plain red flag")
    page_b.screenshot(path=str(screenshots / "media-lightbox.png"))
    page_b.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    expect(thumb).to_be_focused()
    alice.assert_clean()
    bob.assert_clean()
