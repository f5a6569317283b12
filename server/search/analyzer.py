"""The one analyzer: the same text becomes the same terms when indexed and when searched.

Words are case- and accent-folded, English stop words dropped and the rest stemmed with
Snowball, so ``Running`` and ``runs`` both become ``run``. Hashtags and mentions also give
``#tag`` / ``@name`` terms, which only a ``#tag`` / ``@name`` query term matches.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any

import snowballstemmer

_WORD_RE = re.compile(r"\w+", re.UNICODE)

STOP_WORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most my myself no nor not now of off on once only or other our ours
    ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself
    yourselves""".split()
)

_stemmer = snowballstemmer.stemmer("english")


def fold(text: str) -> str:
    """Lower-case and strip accents: ``Café`` → ``cafe``."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


@lru_cache(maxsize=65_536)
def stem(word: str) -> str:
    # Cached: the same few thousand words make up most text, and stemming is pure Python.
    return str(_stemmer.stemWord(word))


def words(text: str) -> list[str]:
    """The folded words of ``text``, in order (stop words kept; phrases need them)."""
    return _WORD_RE.findall(fold(text))


def normalized(text: str) -> str:
    """Folded words joined by single spaces: what quoted phrases are matched against."""
    return " ".join(words(text))


def word_terms(text: str) -> list[str]:
    """Stemmed terms of the words in ``text``, stop words dropped, repeats kept (for scoring)."""
    return [stem(w) for w in words(text) if w not in STOP_WORDS]


def tag_term(tag: str) -> str:
    return "#" + fold(tag.lstrip("#"))


def mention_term(name: str) -> str:
    return "@" + fold(name.lstrip("@"))


def index_fields(content: str, tags: list[str], mentions: list[str]) -> dict[str, Any]:
    """The fields stored on a tweet so the keyword index can find it (set on create and edit).

    ``terms`` keeps repeats so term frequency can be scored; the multikey index ignores them.
    """
    terms = word_terms(content)
    terms += [tag_term(t) for t in tags]
    terms += [mention_term(m) for m in mentions]
    return {"terms": terms, "search_text": normalized(content)}
