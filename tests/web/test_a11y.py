"""An axe-core accessibility audit of every page of the client, signed out and signed in.

axe-core comes from npm (``tests/web/axe``, installed by ``scripts/setup --test``). The page's
Content-Security-Policy allows only Murmur's own scripts, so the audit's browser context
bypasses CSP and axe is added as an init script to every document. One walk, one context:
signed out in the light colour scheme, then signed in (an admin, so the operator and
moderation pages are reachable) in the dark one, so both palettes' contrast is checked. Each
page is audited once it has settled with tweets, a quote (and one whose quoted tweet is gone),
a repost and a reply on screen. Any ``serious`` or ``critical`` WCAG 2.1 A/AA violation fails
the test, and every one found is printed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
FAILING = {"serious", "critical"}

# A page has settled when the router is done and no list is still loading.
SETTLED = """() => {
  const main = document.getElementById('main');
  return main.getAttribute('aria-busy') === 'false'
    && !main.querySelector('[aria-busy="true"]')
    && ![...main.querySelectorAll('[role="status"]')].some(e => e.textContent.includes('Loading'));
}"""

RUN_AXE = """async (tags) => {
  const only = {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']};
  const result = await axe.run(document, only);
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => ({target: n.target.join(' '), summary: n.failureSummary})),
  }));
}"""


def call(murmur, method: str, path: str, pair: dict[str, Any], **kw: Any) -> dict[str, Any]:
    r = murmur.api(method, path, pair["access_token"], **kw)
    assert r.is_success, r.text
    return r.json() if r.content else {}


def seed(murmur) -> dict[str, Any]:
    """Tweets, a quote, a quote of a deleted tweet, a repost, a reply, a pin, a bookmark."""
    admin = murmur.make_user("operator", display_name="Ops Team")
    alice = murmur.make_user("alice", display_name="Alice Liddell", bio="Curiouser.")
    bob = murmur.make_user("bob")
    # The operator follows Bob, not Alice: Bob's repost brings her tweet to his home.
    call(murmur, "POST", f"/users/{bob['user']['user_id']}/follow", admin)
    call(murmur, "POST", f"/users/{admin['user']['user_id']}/follow", alice)
    first = murmur.tweet(alice, "Accessible by default. #audit")
    gone = murmur.tweet(alice, "This one will be deleted. #audit")
    murmur.tweet(bob, "Quoting Alice #audit", quote_of=first["tweet_id"])
    murmur.tweet(bob, "Quoting a tweet that goes", quote_of=gone["tweet_id"])
    call(murmur, "DELETE", f"/tweets/{gone['tweet_id']}", alice)
    reply = {"content": "A reply, @alice"}
    call(murmur, "POST", f"/tweets/{first['tweet_id']}/comments", bob, json=reply)
    call(murmur, "POST", f"/tweets/{first['tweet_id']}/likes", bob)
    murmur.tweet(admin, "The operator's second tweet")
    mine = murmur.tweet(admin, "The operator's own tweet, pinned. #audit")
    call(murmur, "POST", f"/tweets/{mine['tweet_id']}/pin", admin)
    call(murmur, "POST", f"/tweets/{mine['tweet_id']}/likes", alice)  # a notification
    call(murmur, "POST", f"/tweets/{first['tweet_id']}/repost", admin)
    call(murmur, "POST", f"/tweets/{first['tweet_id']}/repost", bob)
    call(murmur, "POST", f"/tweets/{first['tweet_id']}/bookmark", admin)
    with_alice = {"participant_ids": [alice["user"]["user_id"]]}
    chat = call(murmur, "POST", "/conversations", admin, json=with_alice)
    message = {"content": "A direct message, *with* Markdown"}
    call(murmur, "POST", f"/conversations/{chat['conversation_id']}/messages", alice, json=message)
    return {"admin": admin, "tweet_id": first["tweet_id"], "chat": chat["conversation_id"]}


def pages(tweet_id: str, signed_in: bool, chat: str = "") -> list[tuple[str, str]]:
    """(path, a selector that shows the page has its content) for every page of the client."""
    # Signed in, the operator's home shows Alice's tweet as Bob reposted it.
    home = ".tweet .repost-context" if signed_in else ".tweet .quoted .tweet-body"
    # His bookmark and notifications too; signed out, those pages ask to sign in.
    mine = {"/notifications": ".notification", "/bookmarks": ".tweet"} if signed_in else {}
    walk = [
        ("/", home),
        ("/public", ".tweet .quoted-unavailable"),
        ("/@alice", ".tweet"),
        ("/@bob/followers", ".user-row"),
        (f"/tweets/{tweet_id}", ".tweet.focus"),
        ("/tags/audit", ".tweet"),
        ("/search?q=audit", "h1"),
        ("/notifications", mine.get("/notifications", "h1")),
        ("/settings", "h1"),
        ("/bookmarks", mine.get("/bookmarks", "h1")),
    ]
    if signed_in:
        return walk + [
            ("/@operator", ".pinned .tweet .action.pin[aria-pressed=true]"),
            ("/@alice/following", ".user-row"),
            ("/settings/security", "h1"),
            ("/operator", "h1"),
            ("/moderation", "h1"),
            ("/messages", ".conversation"),
            (f"/messages/{chat}", ".message"),
        ]
    return walk + [
        ("/login", "form"),
        ("/signup", "form"),
        ("/verify?user=alice", "form"),
        ("/forgot", "form"),
        ("/reset", "h1"),
        ("/settings/security", "h1"),
    ]


def audit(page, path: str, ready: str) -> list[str]:
    """Show ``path`` (in-app navigation: axe stays loaded), wait for it, run axe on it."""
    page.evaluate("p => window.murmur.navigate(p)", path)
    page.wait_for_function(SETTLED)
    page.locator(f"#main {ready}").first.wait_for()
    return run_axe(page, path)


def run_axe(page, where: str) -> list[str]:
    """Print every violation axe finds on the page as it is; return the failing ones."""
    found = []
    for v in page.evaluate(RUN_AXE, TAGS):
        line = f"{where}: {v['impact']} {v['id']} ({v['help']}), {len(v['nodes'])} element(s)"
        print(line)
        for node in v["nodes"][:5]:
            print(f"    {node['target']}: {node['summary']}")
        if v["impact"] in FAILING:
            found.append(line)
    return found


def forms_open(page, tweet_id: str) -> list[str]:
    """The forms a tweet card opens: quote and report under someone else's tweet, then edit
    and the delete confirmation under one's own."""
    page.evaluate("p => window.murmur.navigate(p)", f"/tweets/{tweet_id}")
    focus = page.locator(".tweet.focus")
    focus.get_by_role("button", name="Quote").click()
    focus.get_by_role("button", name="Report").click()
    page.locator(".quote-form .quoted .tweet-body").wait_for()
    found = run_axe(page, "quote and report forms")
    page.evaluate("p => window.murmur.navigate(p)", "/@operator")
    own = page.locator(".timeline .tweet")
    own.nth(1).get_by_role("button", name="Delete").click()
    own.nth(0).get_by_role("button", name="Edit").click()
    page.get_by_role("button", name="Yes, delete").wait_for()
    page.get_by_label("Edit your tweet").wait_for()
    return found + run_axe(page, "edit form and delete confirmation")


def test_every_page_passes_axe_signed_out_and_signed_in(murmur, tabs):
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run scripts/setup --test (npm ci in tests/web/axe)")
    data = seed(murmur)
    tab = tabs(bypass_csp=True)
    tab.context.add_init_script(path=str(AXE))
    page = tab.goto("/public")
    page.emulate_media(color_scheme="light")
    failures = []
    for path, ready in pages(data["tweet_id"], signed_in=False):
        failures += audit(page, path, ready)

    tab.sign_in_with(data["admin"])
    page.emulate_media(color_scheme="dark")
    tab.goto("/")
    assert page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches")
    page.locator("#bell-count:not([hidden])").wait_for()  # the unread badge, audited on "/"
    for path, ready in pages(data["tweet_id"], signed_in=True, chat=data["chat"]):
        failures += audit(page, path, ready)
    failures += forms_open(page, data["tweet_id"])
    assert failures == [], "\n".join(failures)
    tab.assert_clean()
