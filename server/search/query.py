"""The search query language: words, "quoted phrases", -excluded words, #tags and @mentions.

Both back-ends consume a ``SearchQuery``: the keyword path uses the analyzed ``terms``, the
``$text`` path rebuilds a ``$search`` string from the raw words and phrases.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from . import analyzer

# A token: optional "-", then a quoted phrase or a run of non-space characters.
_TOKEN_RE = re.compile(r'(-?)"([^"]*)"?|(\S+)')


@dataclass
class SearchQuery:
    terms: list[str] = field(default_factory=list)  # every one must match (stems, #tag, @name)
    excluded: list[str] = field(default_factory=list)  # none may match
    phrases: list[str] = field(default_factory=list)  # normalized; must appear word for word
    excluded_phrases: list[str] = field(default_factory=list)
    words: list[str] = field(default_factory=list)  # raw positive words, for $text
    excluded_words: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)  # folded, without '#'
    mentions: list[str] = field(default_factory=list)  # folded, without '@'

    @property
    def empty(self) -> bool:
        """True when nothing positive is asked for (only stop words or exclusions)."""
        return not (self.terms or self.phrases)

    def merge(self, other: SearchQuery) -> SearchQuery:
        return SearchQuery(
            **{name: _unique(getattr(self, name) + getattr(other, name)) for name in _FIELDS}
        )


_FIELDS = (
    "terms", "excluded", "phrases", "excluded_phrases",
    "words", "excluded_words", "tags", "mentions",
)  # fmt: skip


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def parse(text: str) -> SearchQuery:
    """Parse a query such as ``running "new york" -rain #travel @alice``."""
    q = SearchQuery()
    for m in _TOKEN_RE.finditer(text):
        negated, phrase, bare = m.group(1) == "-", m.group(2), m.group(3)
        if phrase is not None:
            _add_phrase(q, phrase, negated)
            continue
        assert bare is not None
        if bare.startswith("-") and len(bare) > 1:
            negated, bare = True, bare[1:]
        _add_token(q, bare, negated)
    return _dedupe(q)


def keywords(values: list[str], tags: list[str] | None = None) -> SearchQuery:
    """The structured form: each keyword is a token (several words make a phrase)."""
    q = SearchQuery()
    for raw in values:
        value = raw.strip()
        negated = value.startswith("-") and len(value) > 1
        if negated:
            value = value[1:]
        if len(value.split()) > 1:
            _add_phrase(q, value.strip('"'), negated)
        elif value:
            _add_token(q, value.strip('"'), negated)
    for tag in tags or []:
        if tag.strip("# "):
            _add_token(q, "#" + tag.strip("# "), False)
    return _dedupe(q)


def _add_phrase(q: SearchQuery, phrase: str, negated: bool) -> None:
    norm = analyzer.normalized(phrase)
    if not norm:
        return
    if len(norm.split()) == 1:
        _add_token(q, phrase, negated)
    elif negated:
        q.excluded_phrases.append(norm)
    else:
        q.phrases.append(norm)
        # The phrase's words are required terms too, so the index narrows the candidates.
        q.terms += analyzer.word_terms(phrase)


def _add_token(q: SearchQuery, token: str, negated: bool) -> None:
    if token[0] in "#@" and analyzer.words(token[1:]):
        name = analyzer.fold(token[1:]).strip()
        term = ("#" if token[0] == "#" else "@") + name
        if negated:
            q.excluded.append(term)
        else:
            q.terms.append(term)
            (q.tags if token[0] == "#" else q.mentions).append(name)
        return
    for word in analyzer.words(token):
        if word in analyzer.STOP_WORDS:
            continue
        if negated:
            q.excluded.append(analyzer.stem(word))
            q.excluded_words.append(word)
        else:
            q.terms.append(analyzer.stem(word))
            q.words.append(word)


def _dedupe(q: SearchQuery) -> SearchQuery:
    return SearchQuery().merge(q)
