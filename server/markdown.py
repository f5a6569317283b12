"""Tweet Markdown: render to sanitized HTML and pull out hashtags, mentions and links.

Bare ``http``/``https`` URLs become links (markdown-it's linkify rule, with linkify-it-py;
no bare domains, e-mail addresses or other schemes). Every ``http``/``https`` destination
(bare, ``<autolink>`` or ``[text](url)``) is listed in ``urls``; nothing is ever fetched."""

from __future__ import annotations

import re
from dataclasses import dataclass

import nh3
from linkify_it import LinkifyIt
from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token

_ENTITY_RE = re.compile(r"(?<![\w#&])#(\w{1,64})|(?<![\w@])@([A-Za-z0-9_]{3,30})\b", re.UNICODE)

ALLOWED_TAGS = {
    "p", "br", "em", "strong", "del", "code", "pre", "blockquote",
    "ul", "ol", "li", "a", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title", "class"}, "code": {"class"}, "ol": {"start"}}


# Every link a tweet shows: nofollow (no endorsement), noopener, and ugc (user content).
LINK_REL = "nofollow noopener ugc"
_WEB_URL = re.compile(r"^https?://", re.IGNORECASE)
MAX_URLS = 20


@dataclass(frozen=True)
class Rendered:
    html: str
    tags: list[str]
    mentions: list[str]
    urls: list[str]


def _unique_lower(values: list[str]) -> list[str]:
    return list(dict.fromkeys(v.lower() for v in values))


def _link_entities(state: StateCore) -> None:
    """Turn #tag and @name in plain text (not inside links or code) into links."""
    for block in state.tokens:
        if block.type != "inline" or not block.children:
            continue
        out: list[Token] = []
        in_link = 0
        for tok in block.children:
            if tok.type == "link_open":
                in_link += 1
                href = str(tok.attrs.get("href", ""))
                if _WEB_URL.match(href):
                    state.env.setdefault("urls", []).append(href)
            elif tok.type == "link_close":
                in_link -= 1
            if tok.type != "text" or in_link or not _ENTITY_RE.search(tok.content):
                out.append(tok)
                continue
            pos = 0
            for m in _ENTITY_RE.finditer(tok.content):
                if m.start() > pos:
                    out.append(_text(tok.content[pos : m.start()]))
                tag, name = m.group(1), m.group(2)
                state.env.setdefault("tags" if tag else "mentions", []).append(tag or name)
                href = f"/tags/{tag.lower()}" if tag else f"/@{name}"
                cls = "hashtag" if tag else "mention"
                link = Token("link_open", "a", 1, attrs={"href": href, "class": cls})
                out += [link, _text(m.group(0)), Token("link_close", "a", -1)]
                pos = m.end()
            if pos < len(tok.content):
                out.append(_text(tok.content[pos:]))
        block.children = out


def _text(content: str) -> Token:
    tok = Token("text", "", 0)
    tok.content = content
    return tok


class _Markdown(MarkdownIt):
    def validateLink(self, url: str) -> bool:
        # Parse every link: nh3 below drops any href whose scheme is not allowed, so a refused
        # link shows its text without the destination (as GitHub does), not raw Markdown.
        return True


_md = _Markdown("commonmark", {"html": False, "linkify": True, "typographer": False})
_md.enable("linkify")
_md.disable(["image", "html_block", "html_inline"])
# Only URLs with an http(s) scheme: "example.com" or "file.py" stay text (.py is a TLD),
# and linkify-it's other schemes (mailto:, ftp:, protocol-relative //) are not linked.
_md.linkify = LinkifyIt(options={"fuzzy_link": False, "fuzzy_email": False, "fuzzy_ip": False})
for _scheme in ("mailto:", "ftp:", "//"):
    _md.linkify.add(_scheme, None)
_md.core.ruler.push("murmur_entities", _link_entities)


def render(source: str) -> Rendered:
    """Markdown → HTML that is safe to insert into a page as is."""
    env: dict[str, list[str]] = {}
    raw = _md.render(source, env)
    html = nh3.clean(
        raw,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel=LINK_REL,
        strip_comments=True,
    ).strip()
    return Rendered(
        html=html,
        tags=_unique_lower(env.get("tags", [])),
        mentions=_unique_lower(env.get("mentions", [])),
        urls=list(dict.fromkeys(env.get("urls", [])))[:MAX_URLS],
    )
