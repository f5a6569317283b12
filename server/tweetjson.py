"""Tweets as JSON, rendered once and spliced per reader.

A warm read is bound by the app's CPU, and most of it went to turning the same tweets into
models and back into JSON on every request. Two shortcuts, both exact:

- ``Decoder``: the tweet cache's JSON (``server/tweetcache.py``) is parsed into a ``Tweet``
  once per process and per distinct string: the next read that gets the very same string
  from Redis gets the same (never mutated) model back. A changed tweet is a changed string,
  so it is parsed again.
- ``Tweet._head``: the JSON of a tweet up to its per-reader fields (``READER_FIELDS``, the
  last four). It is kept only when the cached string is exactly what ``model_dump_json``
  renders (checked once, when it is parsed), so a response built from heads is byte for
  byte the one pydantic would build; copies that change any other field drop it
  (``Tweet.model_copy``), and those tweets are serialised in full.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from pydantic import BaseModel

from .models import Tweet

# How the per-reader fields of a tweet nobody has read yet are rendered: the cache stores
# tweets this way, and a head is what precedes it.
_NULL_TAIL = ',"liked_by_me":null,"reposted_by_me":null,"bookmarked_by_me":null,"reposted_by":null}'
_FLAG = {None: "null", True: "true", False: "false"}


def with_head(tweet: Tweet, rendered: str | None = None) -> Tweet:
    """``tweet`` with its head set, from ``rendered`` (its JSON, when the caller has it and
    it is exactly what pydantic renders) or rendered now. The tweet must not carry reader
    fields yet (a cached tweet never does)."""
    text = tweet.model_dump_json() if rendered is None else rendered
    if text.endswith(_NULL_TAIL):
        tweet._head = text[: -len(_NULL_TAIL)]
    return tweet


def tweet_json(tweet: Tweet) -> str:
    """``tweet.model_dump_json()``, from its head when it has one."""
    # Read without pydantic's ``__getattr__`` (private attributes go through it): per tweet.
    head = (tweet.__pydantic_private__ or {}).get("_head")
    if head is None:
        return tweet.model_dump_json()
    by = tweet.reposted_by
    return (
        f'{head},"liked_by_me":{_FLAG[tweet.liked_by_me]},'
        f'"reposted_by_me":{_FLAG[tweet.reposted_by_me]},'
        f'"bookmarked_by_me":{_FLAG[tweet.bookmarked_by_me]},'
        f'"reposted_by":{"null" if by is None else by.model_dump_json()}}}'
    )


def page_json(items: Sequence[BaseModel], cursor: str | None) -> bytes | None:
    """``Page(items=items, next_cursor=cursor).model_dump_json()`` for a page of tweets, or
    None when ``items`` are not all tweets (the caller renders the model then)."""
    if not all(type(t) is Tweet for t in items):
        return None
    tweets = ",".join(tweet_json(t) for t in items)  # type: ignore[arg-type]
    return f'{{"items":[{tweets}],"next_cursor":{json.dumps(cursor)}}}'.encode()


class Decoder:
    """Cached tweet JSON -> ``Tweet``, parsed once per distinct string (bounded; the oldest
    entries go first). The tweets it returns are shared: read paths copy, never mutate."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self.max_entries = max_entries
        self._parsed: dict[str, tuple[str, Tweet]] = {}

    def decode(self, tweet_id: str, text: str) -> Tweet:
        """The tweet ``text`` (the cache's value for ``tweet_id``) holds."""
        known = self._parsed.get(tweet_id)
        if known is not None and known[0] == text:
            return known[1]
        tweet = Tweet.model_validate_json(text)
        # The head only when the string is exactly what this process would render (a value
        # written by another version of Murmur may differ): checked once per string.
        rendered = tweet.model_dump_json()
        if rendered == text:
            with_head(tweet, rendered)
        self._parsed.pop(tweet_id, None)
        self._parsed[tweet_id] = (text, tweet)
        if len(self._parsed) > self.max_entries:
            del self._parsed[next(iter(self._parsed))]
        return tweet
