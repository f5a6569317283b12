"""The compose box's @name / #tag suggestions (an ARIA combobox used with the keyboard), and
the sidebar's "Who to follow"."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_choose_a_person_and_a_tag_with_the_keyboard_and_post(murmur, tabs, screenshots):
    writer = murmur.make_user("writer")
    murmur.make_user("zoe_quill", display_name="Zoë Quill")
    popular = murmur.make_user("zorro")
    fan = murmur.make_user("fan")
    r = murmur.api("POST", f"/users/{popular['user']['user_id']}/follow", fan["access_token"])
    assert r.status_code == 200, r.text
    murmur.tweet(writer, "tagging #zoology")
    r = murmur.api("POST", f"/users/{fan['user']['user_id']}/follow", writer["access_token"])
    assert r.status_code == 200, r.text

    tab = tabs()
    tab.sign_in_with(writer)
    page = tab.goto("/")
    # The sidebar suggests whom the people you follow follow.
    who = page.locator("#sidebar section").filter(
        has=page.get_by_role("heading", name="Who to follow")
    )
    expect(who.get_by_role("listitem")).to_have_text(["@zorro followed by 1 you follow"])
    box = page.get_by_role("combobox", name="What's happening?")
    expect(box).to_have_attribute("aria-expanded", "false")
    box.press_sequentially("Hi @zo")
    listbox = page.get_by_role("listbox", name="Suggestions")
    expect(listbox).to_be_visible()
    options = listbox.get_by_role("option")
    # zorro has a follower, Zoë none: zorro first, and the first option is active.
    expect(options).to_have_count(2)
    expect(options.nth(0)).to_contain_text("@zorro")
    expect(options.nth(1)).to_contain_text("@zoe_quill")
    expect(options.nth(1)).to_contain_text("Zoë Quill")
    expect(box).to_have_attribute("aria-expanded", "true")
    expect(options.nth(0)).to_have_attribute("aria-selected", "true")
    expect(box).to_have_attribute("aria-activedescendant", options.nth(0).get_attribute("id"))
    box.press("ArrowDown")
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    expect(box).to_have_attribute("aria-activedescendant", options.nth(1).get_attribute("id"))
    page.screenshot(path=screenshots / "autocomplete-people.png")
    box.press("Enter")  # chooses; does not post or add a line
    expect(listbox).to_be_hidden()
    expect(box).to_have_value("Hi @zoe_quill ")
    expect(box).to_have_attribute("aria-expanded", "false")

    # Escape closes a list without changing the text; Up wraps; Tab chooses a tag.
    box.press_sequentially("and @zo")
    expect(options).to_have_count(2)
    box.press("Escape")
    expect(listbox).to_be_hidden()
    expect(box).to_have_value("Hi @zoe_quill and @zo")
    box.press_sequentially("r")
    expect(options).to_have_count(1)
    box.press("Tab")
    expect(box).to_have_value("Hi @zoe_quill and @zorro ")
    box.press_sequentially("#zoo")
    expect(options).to_have_count(1)
    expect(options.nth(0)).to_contain_text("#zoology")
    box.press("ArrowUp")
    box.press("Enter")
    expect(box).to_have_value("Hi @zoe_quill and @zorro #zoology ")
    expect(box).to_be_focused()

    page.get_by_role("button", name="Post", exact=True).click()
    card = page.locator(".tweet").filter(has_text="Hi @zoe_quill")
    expect(card).to_be_visible()
    expect(card.get_by_role("link", name="@zoe_quill")).to_have_attribute("href", "/@zoe_quill")
    tab.assert_clean()
