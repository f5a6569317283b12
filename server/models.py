"""Pydantic models: one per shape, shared by REST responses, events and the OpenAPI document."""

from __future__ import annotations

import re
from collections.abc import Mapping
from copy import copy
from datetime import datetime
from typing import Annotated, Any, Generic, Literal, Self, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    PlainSerializer,
    PrivateAttr,
)

# Shared literal types: one definition each.
Role = Literal["user", "moderator", "admin"]
NotificationKind = Literal["follow", "like", "reply", "mention", "repost", "quote"]
# Who may start a conversation with a user or message them: anyone, or only people they follow.
DmPolicy = Literal["everyone", "following"]

USER_NAME_RE = re.compile(r"^[A-Za-z0-9_]{3,30}$")


def _utc_iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


# Every time leaves the API as ISO-8601 UTC with a trailing Z.
UtcTime = Annotated[datetime, PlainSerializer(_utc_iso, return_type=str, when_used="json")]


def user_name_problem(name: str) -> str | None:
    """Why a user name is not allowed, or None when its shape is fine."""
    if not 3 <= len(name) <= 30:
        return "User names are 3 to 30 characters long."
    if not USER_NAME_RE.match(name):
        return "User names may contain only letters, digits and underscores."
    return None


def _check_user_name(name: str) -> str:
    problem = user_name_problem(name)
    if problem:
        raise ValueError(problem)
    return name


UserName = Annotated[str, AfterValidator(_check_user_name)]


class Strict(BaseModel):
    """Request bodies: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class UserMetadata(Strict):
    display_name: str | None = Field(default=None, max_length=50)
    bio: str | None = Field(default=None, max_length=160)
    location: str | None = Field(default=None, max_length=30)
    website: str | None = Field(default=None, max_length=100, pattern=r"^https?://\S+$")


class ProfileChanges(UserMetadata):
    """``PATCH /users/me``: profile fields (null clears one) and who may message you."""

    dm_policy: DmPolicy | None = Field(
        default=None, description="'everyone', or 'following': only people you follow"
    )


class PublicUser(BaseModel):
    user_id: str
    user_name: str
    user_metadata: UserMetadata
    created_at: UtcTime
    follower_count: int = 0
    following_count: int = 0
    tweet_count: int = 0
    role: Role = "user"
    suspended: bool = False


class Suggestion(PublicUser):
    """Someone to follow, and how many of the people you follow follow them."""

    followed_by: int


class Me(PublicUser):
    email: str
    email_verified: bool
    two_factor_enabled: bool = False
    dm_policy: DmPolicy = "everyone"


# --- auth -----------------------------------------------------------------


class SignupRequest(Strict):
    user_name: UserName
    email: EmailStr = Field(max_length=254)
    password: str = Field(min_length=8, max_length=128)
    user_metadata: UserMetadata = Field(default_factory=UserMetadata)


class VerifyOtpRequest(Strict):
    user_name: str = Field(min_length=1, max_length=254)
    otp: str = Field(pattern=r"^\d{6}$")


class ResendOtpRequest(Strict):
    user_name: str = Field(min_length=1, max_length=254)


class LoginRequest(Strict):
    user_name: str | None = Field(default=None, max_length=254)
    email: str | None = Field(default=None, max_length=254)
    password: str = Field(min_length=1, max_length=128)


class RefreshRequest(Strict):
    refresh_token: str = Field(min_length=1, max_length=512)


class LogoutRequest(Strict):
    refresh_token: str | None = Field(default=None, max_length=512)


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    user: Me


class UsernameAvailability(BaseModel):
    username: str
    available: bool
    reason: str | None = None


# --- tweets ---------------------------------------------------------------


class TweetContent(Strict):
    content: str = Field(min_length=1)


# Images a tweet may carry (POST /tweets media_ids).
MAX_TWEET_MEDIA = 4
MAX_ALT_CHARS = 1000


class NewTweet(TweetContent):
    """``POST /tweets``: the text, the id of the tweet it quotes, if any, and up to four of
    one's own uploaded images (``POST /media``) to attach."""

    quote_of: str | None = Field(default=None, min_length=1, max_length=64)
    media_ids: list[str] = Field(default_factory=list, max_length=MAX_TWEET_MEDIA)


class TweetMedia(BaseModel):
    """An image as a tweet carries it (copied into the tweet when it is posted)."""

    media_id: str
    url: str
    preview_url: str
    width: int
    height: int
    alt: str = ""


class Media(TweetMedia):
    """An uploaded image (``POST /media``). Animated GIFs keep their first frame only."""

    content_type: str
    preview_width: int
    preview_height: int
    size: int  # bytes of the stored original
    state: Literal["uploaded", "claimed", "attached"] = "uploaded"


class MediaUpload(BaseModel):
    """``POST /media`` as multipart/form-data: the image in ``file``, optional ``alt``."""

    file: bytes = Field(description="a JPEG, PNG, WebP or GIF image (MEDIA_MAX_BYTES)")
    alt: str | None = Field(default=None, max_length=MAX_ALT_CHARS)


class MediaAlt(Strict):
    """``PATCH /media/{id}``: the image's description for people who cannot see it."""

    alt: str = Field(max_length=MAX_ALT_CHARS)


class QuotedTweet(BaseModel):
    """The tweet a quote embeds, as the reader may see it now. The quote stores a compact
    copy of its author and id; the rest is filled in at read time, and ``unavailable`` is
    true (the author left out) when it was deleted or hidden or a block stands between."""

    tweet_id: str
    user_id: str | None = None
    user_name: str | None = None
    unavailable: bool = False
    content: str | None = None
    html: str | None = None
    created_at: UtcTime | None = None


class TweetEdit(BaseModel):
    content: str
    edited_at: UtcTime


class RepostedBy(BaseModel):
    """Who put a tweet into the reader's home timeline by reposting it."""

    user_id: str
    user_name: str
    display_name: str | None = None


class Tweet(BaseModel):
    tweet_id: str
    user_id: str
    user_name: str
    content: str
    html: str
    tags: list[str]
    mentions: list[str]
    # The http(s) links in the text, in order (bare URLs are linked in ``html`` too).
    urls: list[str] = Field(default_factory=list)
    created_at: UtcTime
    edited: bool = False
    edited_at: UtcTime | None = None
    original_content: str | None = None
    like_count: int = 0
    reply_count: int = 0
    repost_count: int = 0
    quote_count: int = 0
    quote_of: QuotedTweet | None = None
    media: list[TweetMedia] = Field(default_factory=list)
    in_reply_to: str | None = None
    parent_deleted: bool = False
    liked_by_me: bool | None = None
    reposted_by_me: bool | None = None
    bookmarked_by_me: bool | None = None
    # Home timeline only: set when the tweet is there because someone the reader follows
    # reposted it (null for an ordinary entry).
    reposted_by: RepostedBy | None = None
    # The tweet's JSON up to its per-reader fields (``READER_FIELDS``, which come last), when
    # known to equal what ``model_dump_json`` renders (server/tweetjson.py): a response
    # splices the reader's fields onto it instead of serialising the tweet again. Any change
    # to another field drops it.
    _head: str | None = PrivateAttr(default=None)
    # This tweet as a reader with none of the three marks sees it, made by the first such
    # read and shared by the next ones (``marked``).
    _unmarked: Tweet | None = PrivateAttr(default=None)

    def marked(self, liked: bool, reposted: bool, bookmarked: bool) -> Tweet:
        """A copy with a reader's marks. Most tweets carry none for most readers: that copy
        is made once per tweet and shared (read paths copy tweets, never change them), which
        took a copy per tweet off every signed-in read."""
        marks = {"liked_by_me": liked, "reposted_by_me": reposted, "bookmarked_by_me": bookmarked}
        private = self.__pydantic_private__
        if liked or reposted or bookmarked or private is None:
            return self.model_copy(update=marks)
        unmarked = private.get("_unmarked")
        if unmarked is None:
            unmarked = private["_unmarked"] = self.model_copy(update=marks)
        return unmarked

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy; it keeps the rendered head only while the update is per-reader fields."""
        if update and not deep and READER_FIELDS.issuperset(update):
            # Every tweet of every signed-in read is copied with the reader's marks: what
            # pydantic's copy does for an update (no validation), in a third of its time.
            copied = self.__class__.__new__(self.__class__)
            _set(copied, "__dict__", {**self.__dict__, **update})
            _set(copied, "__pydantic_fields_set__", self.__pydantic_fields_set__ | update.keys())
            _set(copied, "__pydantic_extra__", None)
            private = copy(self.__pydantic_private__)
            if private:  # the copy's own unmarked copy is its own to make
                private["_unmarked"] = None
            _set(copied, "__pydantic_private__", private)
            return copied
        copied = super().model_copy(update=update, deep=deep)
        copied._unmarked = None
        if update and not READER_FIELDS.issuperset(update):
            copied._head = None
        return copied

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in READER_FIELDS and not name.startswith("_"):
            self._head = None
        super().__setattr__(name, value)

    def __eq__(self, other: object) -> bool:
        # The same tweet whether or not its rendered head is known.
        if type(other) is not type(self):
            return NotImplemented
        return self.__dict__ == other.__dict__


_set = object.__setattr__  # pydantic's own way past its ``__setattr__``

# What differs per reader of the same tweet; the last fields of ``Tweet``, in this order.
READER_FIELDS = frozenset({"liked_by_me", "reposted_by_me", "bookmarked_by_me", "reposted_by"})


class TweetContext(BaseModel):
    """``GET /tweets/{id}/context``: the conversation around a tweet. ``ancestors``: the
    chain of parents up to the root, oldest first; ``descendants``: the replies below, depth
    first (each one's ``in_reply_to`` names its parent), continued by ``next_cursor``."""

    ancestors: list[Tweet]
    descendants: list[Tweet]
    next_cursor: str | None = None


class TweetHistory(BaseModel):
    tweet_id: str
    original_content: str
    edits: list[TweetEdit]


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


class Health(BaseModel):
    status: Literal["ok"]
    database: str | None = None


# --- social graph and notifications ---------------------------------------


class Relationship(BaseModel):
    """How the signed-in user and ``user_id`` are related, from the signed-in user's side."""

    user_id: str
    following: bool
    followed_by: bool
    blocking: bool
    blocked_by: bool
    muting: bool


class Notification(BaseModel):
    notification_id: str
    kind: NotificationKind
    actor_id: str
    actor_name: str
    tweet_id: str | None = None
    created_at: UtcTime
    read: bool = False


class MarkRead(Strict):
    up_to_id: str = Field(min_length=1, max_length=64)


class UnreadCount(BaseModel):
    unread_count: int


# --- direct messages ---------------------------------------------------------


class NewConversation(Strict):
    """``POST /conversations``: the other people (the caller may be listed too)."""

    participant_ids: list[str] = Field(min_length=1, max_length=20)


class MessageContent(Strict):
    content: str = Field(min_length=1)


class ConversationMember(BaseModel):
    user_id: str
    user_name: str


class Message(BaseModel):
    """One direct message; ``html`` is its Markdown rendered and sanitized like a tweet's."""

    message_id: str
    conversation_id: str
    sender_id: str
    sender_name: str
    content: str
    html: str
    created_at: UtcTime


class Conversation(BaseModel):
    """A conversation as one participant sees it: ``read`` maps each participant to the id
    of the newest message they have read (read receipts), ``unread_count`` is the caller's
    (capped at 99)."""

    conversation_id: str
    participants: list[ConversationMember]
    created_at: UtcTime
    last_message: Message | None = None
    unread_count: int = 0
    read: dict[str, str] = Field(default_factory=dict)


class ReadReceipt(BaseModel):
    """``conversation.read``: ``reader_id`` has read the conversation up to ``up_to_id``."""

    conversation_id: str
    reader_id: str
    up_to_id: str


class Typing(BaseModel):
    """``conversation.typing``: ``sender_id`` is writing in the conversation (ephemeral)."""

    conversation_id: str
    sender_id: str
    sender_name: str


# --- operators ---


class ProcessStats(BaseModel):
    """One app process's live connections, as it last reported them."""

    model_config = ConfigDict(extra="allow")

    process: str
    connections: int
    users: int
    channels: int
    subscriptions: dict[str, int] = Field(description="open subscriptions by stream kind")
    events_per_second: float = Field(description="events delivered to sockets per second")


class ClusterSummary(BaseModel):
    """Totals over every live process."""

    processes: int
    roles: dict[str, int] = Field(
        description="processes by role: web, worker (the outbox worker alone), web+worker"
    )
    connections: int
    users: int
    subscriptions: dict[str, int]
    events_per_second: float


class AdminStats(BaseModel):
    """``GET /admin/stats``: this process, the cluster's totals, and every live process."""

    process: ProcessStats
    cluster: ClusterSummary
    processes: list[ProcessStats]
