"""Every event the server can push, as one discriminated pydantic union, and the publisher seam.

The tweet an event carries is the same ``Tweet`` model a REST call returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Literal, Protocol, get_args

from pydantic import BaseModel, ConfigDict, Field

from .models import Message, Notification, ReadReceipt, Tweet, Typing


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TweetDeletedData(_Event):
    tweet_id: str
    user_id: str


class TweetCountsData(_Event):
    tweet_id: str
    # The tweet's author: the hub filters the event by it, as it does every tweet event, so a
    # block keeps the blocker's counts from the blocked (issue 10).
    user_id: str
    like_count: int
    reply_count: int
    repost_count: int = 0
    quote_count: int = 0


class TweetCreated(_Event):
    event: Literal["tweet.created"] = "tweet.created"
    data: Tweet


class TweetUpdated(_Event):
    event: Literal["tweet.updated"] = "tweet.updated"
    data: Tweet


class TweetDeleted(_Event):
    event: Literal["tweet.deleted"] = "tweet.deleted"
    data: TweetDeletedData


class TweetCounts(_Event):
    event: Literal["tweet.counts"] = "tweet.counts"
    data: TweetCountsData


class ReplyCreated(_Event):
    event: Literal["reply.created"] = "reply.created"
    data: Tweet


class NotificationCreated(_Event):
    event: Literal["notification.created"] = "notification.created"
    data: Notification


# Direct messages, on each participant's ``messages`` stream. Their data names people
# ``sender_id``/``reader_id``, not ``user_id``: the publisher takes ``user_id`` as the author
# the hub filters for mutes, and muting someone does not hide their messages to you (a
# block stops them being sent at all).
class MessageCreated(_Event):
    event: Literal["message.created"] = "message.created"
    data: Message


class ConversationRead(_Event):
    event: Literal["conversation.read"] = "conversation.read"
    data: ReadReceipt


class ConversationTyping(_Event):
    """Ephemeral: not logged, not replayed; its id is not a position to resume from."""

    event: Literal["conversation.typing"] = "conversation.typing"
    data: Typing


Event = Annotated[
    TweetCreated
    | TweetUpdated
    | TweetDeleted
    | TweetCounts
    | ReplyCreated
    | NotificationCreated
    | MessageCreated
    | ConversationRead
    | ConversationTyping,
    Field(discriminator="event"),
]


def event_models() -> tuple[type[_Event], ...]:
    """Every kind of event, in the union's order: the one list of event names.

    ``realtime.protocol.EventName`` must name the same events (a test proves it).
    """
    return get_args(get_args(Event)[0])


def event_name(model: type[_Event]) -> str:
    """The ``event`` name an event model carries (``tweet.created``...)."""
    return str(model.model_fields["event"].default)


class Publisher(Protocol):
    """Where domain code hands events: the realtime hub implements it."""

    async def publish(
        self, streams: Sequence[str], event: _Event, once: str | None = None
    ) -> None: ...

    async def publish_many(self, events: Sequence[Announcement]) -> None: ...


# (streams, event, once): one ``Publisher.publish``'s arguments.
Announcement = tuple[Sequence[str], _Event, str | None]
