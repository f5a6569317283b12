"""Pre-rendered tweet JSON (server/tweetjson.py) is byte for byte what pydantic renders."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from server.models import Page, QuotedTweet, RepostedBy, Tweet, TweetMedia
from server.tweetjson import Decoder, page_json, tweet_json, with_head

WHEN = datetime(2026, 12, 7, 4, 5, 6, 789_000, tzinfo=UTC)


def _tweet(n: int, **extra: Any) -> Tweet:
    return Tweet(
        tweet_id=f"{n:024x}",
        user_id="u1",
        user_name="ann",
        content=f'tweet {n} "quoted" \\ ünïcödé ✓ 🎉 </script>',
        html="<p>tweet</p>",
        tags=["a", "b"],
        mentions=[],
        created_at=WHEN,
        **extra,
    )


def _variants() -> list[Tweet]:
    media = [TweetMedia(media_id="m", url="/m", preview_url="/p", width=1, height=2, alt="x")]
    quoted = QuotedTweet(tweet_id="q" * 24, user_id="u2", user_name="bo", created_at=WHEN)
    return [
        _tweet(1),
        _tweet(2, edited=True, edited_at=WHEN, original_content="was", like_count=3),
        _tweet(3, media=media, quote_of=quoted, in_reply_to="p" * 24, parent_deleted=True),
    ]


def test_heads_render_exactly_what_pydantic_renders() -> None:
    by = RepostedBy(user_id="u3", user_name="cy", display_name='C "y"')
    for base in _variants():
        with_head(base)
        assert base._head is not None
        assert tweet_json(base) == base.model_dump_json()
        for marks in (
            {"liked_by_me": True, "reposted_by_me": False, "bookmarked_by_me": True},
            {"liked_by_me": False, "reposted_by_me": True, "bookmarked_by_me": None},
            {"reposted_by": by, "liked_by_me": True},
            {"reposted_by": RepostedBy(user_id="u3", user_name="cy")},
        ):
            seen = base.model_copy(update=marks)
            assert seen._head == base._head  # per-reader fields keep the head
            assert tweet_json(seen) == seen.model_dump_json()
        items = [base.model_copy(update={"liked_by_me": True}), base]
        for cursor in (None, "abc_-"):
            expected = Page[Any](items=items, next_cursor=cursor).model_dump_json().encode()
            assert page_json(items, cursor) == expected


def test_changing_any_other_field_drops_the_head() -> None:
    base = with_head(_tweet(4))
    changed = base.model_copy(update={"like_count": 9, "liked_by_me": True})
    assert changed._head is None
    assert tweet_json(changed) == changed.model_dump_json()
    assert '"like_count":9' in tweet_json(changed)
    quoted = base.model_copy(update={"quote_of": QuotedTweet(tweet_id="x", unavailable=True)})
    assert quoted._head is None and '"unavailable":true' in tweet_json(quoted)
    base.content = "edited in place"
    assert base._head is None and '"edited in place"' in tweet_json(base)
    marked = with_head(_tweet(5))
    marked.liked_by_me = True  # a per-reader field: the head stays, the mark is spliced
    assert marked._head is not None and tweet_json(marked) == marked.model_dump_json()


def test_decoder_parses_each_distinct_value_once() -> None:
    decoder = Decoder(max_entries=2)
    base = _tweet(6)
    text = base.model_dump_json()
    first = decoder.decode(base.tweet_id, text)
    assert decoder.decode(base.tweet_id, text) is first  # the same string: the same model
    assert first._head is not None and tweet_json(first) == text
    edited = base.model_copy(update={"content": "new"}).model_dump_json()
    second = decoder.decode(base.tweet_id, edited)
    assert second is not first and second.content == "new" and tweet_json(second) == edited
    for n in (7, 8):  # bounded: the oldest entry goes
        decoder.decode(f"{n:024x}", _tweet(n).model_dump_json())
    assert decoder.decode(base.tweet_id, edited) is not second
    # A value another version wrote (fields in another order, one missing) is parsed and
    # rendered in full: no head that would answer with the stored string's shape.
    odd = (
        '{"user_id":"u1","tweet_id":"%s","user_name":"ann","content":"c","html":"h",' % ("9" * 24)
        + '"tags":[],"mentions":[],"created_at":"2026-12-07T04:05:06.789Z"}'
    )
    parsed = decoder.decode("9" * 24, odd)
    assert parsed._head is None and tweet_json(parsed) == parsed.model_dump_json()


def test_pages_of_other_models_are_left_to_pydantic() -> None:
    assert page_json([RepostedBy(user_id="u", user_name="n")], None) is None


def test_a_known_head_does_not_change_equality() -> None:
    assert with_head(_tweet(10)) == _tweet(10) != _tweet(11)


def test_a_copy_with_reader_fields_is_pydantics_copy() -> None:
    base = with_head(_tweet(12))
    marks = {"liked_by_me": True, "reposted_by": RepostedBy(user_id="u", user_name="n")}
    ours = base.model_copy(update=marks)
    theirs = BaseModel.model_copy(base, update=marks)
    assert ours == theirs and ours.model_fields_set == theirs.model_fields_set
    assert ours.model_dump() == theirs.model_dump() and base.liked_by_me is None
    ours.content = "changed"  # a copy of its own: the original is untouched
    assert base.content != "changed" and base._head is not None


def test_the_copy_without_marks_is_made_once_and_never_inherited() -> None:
    base = with_head(_tweet(1))
    plain = base.marked(False, False, False)
    assert plain is base.marked(False, False, False)  # shared by the next readers
    assert (plain.liked_by_me, plain.reposted_by_me, plain.bookmarked_by_me) == (False,) * 3
    assert base.liked_by_me is None  # the cached tweet itself is unchanged
    assert tweet_json(plain) == plain.model_dump_json()
    liked = base.marked(True, False, False)
    assert liked is not plain and liked.liked_by_me and liked is not base.marked(True, False, False)
    # A copy (a repost entry here) makes its own: it differs from the tweet it was copied from.
    by = RepostedBy(user_id="u3", user_name="cy")
    entry = base.model_copy(update={"reposted_by": by})
    assert entry.marked(False, False, False).reposted_by == by
    assert base.marked(False, False, False).reposted_by is None
    edited = base.model_copy(update={"content": "changed"})
    assert edited.marked(False, False, False).content == "changed"
