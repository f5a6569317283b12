"""Tweet Markdown: rendering, hashtags and mentions, and that no script survives."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest

from server.markdown import ALLOWED_ATTRIBUTES, ALLOWED_TAGS, render

XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    '<svg onload="alert(1)">',
    "<div onclick=alert(1)>hi</div>",
    "<iframe src=javascript:alert(1)></iframe>",
    '<a href="javascript:alert(1)">x</a>',
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](  javascript:alert(1) )",
    "[x](java&#x09;script:alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](vbscript:msgbox(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "![x](javascript:alert(1))",
    "<javascript:alert(1)>",
    '[x](https://ok.example "onmouseover=alert(1)")',
    '[x](https://ok.example" onmouseover="alert(1))',
    "<style>body{display:none}</style>",
    "<!-- <script>alert(1)</script> -->",
    "```html\n<script>alert(1)</script>\n```",
    "`<img src=x onerror=alert(1)>`",
    "<b>raw</b> <i>html</i> <u>u</u>",
    "#<script>alert(1)</script> @<img/src/onerror=alert(1)>",
    'https://ok.example/"><script>alert(1)</script>',
    "https://ok.example/?q=<img src=x onerror=alert(1)>",
    "javascript://ok.example/%0aalert(1)",
]


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))


def elements(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Collect()
    parser.feed(html)
    parser.close()
    return parser.elements


def assert_safe(html: str) -> None:
    """Only allow-listed tags and attributes, no handlers, and only harmless link schemes."""
    # Escaped user text may still *read* "javascript:"; it must never be markup or a URL.
    assert "<script" not in html.lower(), html
    for tag, attrs in elements(html):
        assert tag in ALLOWED_TAGS, (tag, html)
        for name, value in attrs.items():
            assert not name.startswith("on"), (name, html)
            assert name in ALLOWED_ATTRIBUTES.get(tag, set()) | {"rel"}, (tag, name, html)
            assert "javascript:" not in (value or "").lower().replace("\t", ""), (value, html)
            if name == "href":
                assert value is not None
                scheme = urlsplit(value).scheme.lower()
                assert scheme in ("", "http", "https", "mailto"), (value, html)
        if tag == "a":
            assert attrs.get("rel") == "nofollow noopener ugc", html


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_no_script_survives(payload):
    assert_safe(render(payload).html)


@pytest.mark.parametrize(
    "payload",
    [
        "[x](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1))",
        "[x](  javascript:alert(1) )",
        "[x](&#106;avascript:alert(1))",
        "[x](vbscript:msgbox(1))",
        "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "[x](file:///etc/passwd)",
    ],
)
def test_a_refused_link_keeps_its_text_and_loses_its_destination(payload):
    html = render(payload).html
    assert html == '<p><a rel="nofollow noopener ugc">x</a></p>'


def test_raw_html_is_shown_as_text_not_markup():
    html = render("<b>bold?</b> <script>x</script>").html
    assert "&lt;b&gt;bold?&lt;/b&gt;" in html
    assert "&lt;script&gt;" in html
    assert [t for t, _ in elements(html)] == ["p"]


def test_markdown_formatting():
    html = render("**b** *i* ~~s~~ `c`\n\n> q\n\n- one\n- two").html
    assert "<strong>b</strong>" in html
    assert "<em>i</em>" in html
    assert "<code>c</code>" in html
    assert "<blockquote>" in html
    assert "<li>one</li>" in html
    assert_safe(html)


def test_links_get_rel_nofollow_noopener_ugc():
    html = render("[site](https://example.com/a?b=1&c=2) and <https://example.org>").html
    links = [attrs for tag, attrs in elements(html) if tag == "a"]
    assert [a["href"] for a in links] == ["https://example.com/a?b=1&c=2", "https://example.org"]
    assert all(a["rel"] == "nofollow noopener ugc" for a in links)
    assert all("target" not in a for a in links)


def test_a_mailto_link_is_kept():
    html = render("[write](mailto:someone@example.com)").html
    assert 'href="mailto:someone@example.com"' in html


def test_images_are_not_rendered():
    html = render("![cat](https://example.com/cat.png)").html
    assert "<img" not in html


def test_hashtags_and_mentions_are_extracted_and_linked():
    r = render("Hi @Alice_1 and @bob, see #Python #python #py3 #日本")
    assert r.tags == ["python", "py3", "日本"]
    assert r.mentions == ["alice_1", "bob"]
    links = [attrs for tag, attrs in elements(r.html) if tag == "a"]
    assert {"href": "/@Alice_1", "class": "mention", "rel": "nofollow noopener ugc"} in links
    assert {"href": "/tags/python", "class": "hashtag", "rel": "nofollow noopener ugc"} in links


@pytest.mark.parametrize(
    "source",
    [
        "`#notatag @notaname`",
        "```\n#notatag @notaname\n```",
        "[#notatag @notaname](https://example.com)",
        "mail me: someone@notaname.example",
        "a#notatag",
        "@ab is too short",
    ],
)
def test_no_entities_inside_code_links_words_or_entities(source):
    r = render(source)
    assert r.tags == [] and r.mentions == [], source


def test_bare_urls_become_links_and_are_listed():
    r = render(
        "read https://example.com/a?b=1&c=2. then [docs](https://docs.example/x), "
        "<http://old.example> and https://example.com/a?b=1&c=2 again #tag"
    )
    links = [attrs for tag, attrs in elements(r.html) if tag == "a"]
    assert [a["href"] for a in links] == [
        "https://example.com/a?b=1&c=2",  # the sentence's full stop is not part of it
        "https://docs.example/x",
        "http://old.example",
        "https://example.com/a?b=1&c=2",
        "/tags/tag",
    ]
    assert all(a["rel"] == "nofollow noopener ugc" for a in links)
    assert r.urls == [
        "https://example.com/a?b=1&c=2",
        "https://docs.example/x",
        "http://old.example",
    ]
    assert r.tags == ["tag"]
    assert_safe(r.html)


@pytest.mark.parametrize(
    "source",
    [
        "example.com and www.example.com",  # no scheme: left as text
        "notes.py and someone@example.com",
        "ftp://files.example and //cdn.example/x and mailto:a@example.com",
        "javascript:alert(1) and data:text/html,hi",
        "`https://in.code.example`",
        "```\nhttps://in.block.example\n```",
    ],
)
def test_only_http_and_https_urls_are_linked(source):
    r = render(source)
    assert r.urls == [], source
    assert [t for t, _ in elements(r.html) if t == "a"] == [], r.html


def test_a_url_keeps_its_hashes_and_ats_and_urls_are_bounded():
    r = render("https://example.com/@someone/#frag")
    assert (r.tags, r.mentions, r.urls) == ([], [], ["https://example.com/@someone/#frag"])
    many = " ".join(f"https://e{i}.example" for i in range(30))
    assert len(render(many).urls) == 20


async def test_urls_are_stored_and_follow_edits(client, make_user):
    alice = await make_user()
    r = await client.post(
        "/tweets", json={"content": "see https://a.example/x"}, headers=alice.headers
    )
    assert r.status_code == 201 and r.json()["urls"] == ["https://a.example/x"]
    assert 'href="https://a.example/x"' in r.json()["html"]
    tid = r.json()["tweet_id"]
    assert (await client.get(f"/tweets/{tid}")).json()["urls"] == ["https://a.example/x"]
    r = await client.patch(
        f"/tweets/{tid}", json={"content": "now https://b.example"}, headers=alice.headers
    )
    assert r.json()["urls"] == ["https://b.example"]
    assert (await client.get(f"/tweets/{tid}")).json()["urls"] == ["https://b.example"]


def test_rendering_is_plain_for_plain_text():
    r = render("just words")
    assert r.html == "<p>just words</p>"
    assert (r.tags, r.mentions) == ([], [])


async def test_xss_payloads_through_the_api(client, make_user):
    """What the API stores and returns is the safe HTML; the source is kept as typed."""
    alice = await make_user("alice")
    for payload in XSS_PAYLOADS:
        r = await client.post("/tweets", json={"content": payload}, headers=alice.headers)
        assert r.status_code == 201, (payload, r.text)
        assert r.json()["content"] == payload.strip()
        assert_safe(r.json()["html"])
        stored = (await client.get(f"/tweets/{r.json()['tweet_id']}")).json()
        assert_safe(stored["html"])
        r = await client.patch(
            f"/tweets/{stored['tweet_id']}",
            json={"content": payload + " edited"},
            headers=alice.headers,
        )
        assert_safe(r.json()["html"])
