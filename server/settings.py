"""The one settings object. Nothing else in Murmur reads the environment."""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .readpref import ReadKind

log = logging.getLogger("murmur.settings")

# HS256 keys shorter than the hash (32 bytes) can be brute-forced offline from one token.
MIN_SECRET_BYTES = 32


class Settings(BaseSettings):
    """Murmur's configuration, read from environment variables (see the README)."""

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    host: str = "127.0.0.1"
    port: int = 8000
    # Listen backlog: uvicorn's 2048 overflowed when 2,000 sockets connected at once (the
    # kernel caps it at net.core.somaxconn, 4096 here).
    backlog: int = 4096
    public_base_url: str = "http://127.0.0.1:8000"
    # Proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (uvicorn's setting):
    # comma-separated addresses or networks, "*" for any. Per-address limits depend on it.
    forwarded_allow_ips: str = "127.0.0.1,::1"
    # Slowloris: a request's headers must arrive within this; idle keep-alive ends after that.
    http_header_timeout_seconds: float = 10.0
    http_keep_alive_seconds: int = 5
    data_dir: Path = Path("data")

    mongodb_url: str | None = None
    mongodb_db: str = "murmur"
    # Kinds of read a replica set's secondary may answer (server/readpref.py): a JSON list of
    # "timeline", "search", "trending", "profile". Empty (the default): every read on the
    # primary. A secondary more than MONGODB_MAX_STALENESS_SECONDS behind is never chosen
    # (MongoDB's floor is 90).
    mongodb_secondary_reads: list[ReadKind] = Field(default_factory=list)
    mongodb_max_staleness_seconds: int = Field(default=90, ge=90)
    redis_url: str | None = None
    # REDIS_URL names any node of a Redis Cluster (sharded pub/sub, hash-tagged keys).
    redis_cluster: bool = False

    jwt_secret: str | None = None
    jwt_issuer: str = "murmur"
    jwt_audience: str = "murmur-api"
    access_token_ttl_seconds: int = 15 * 60
    refresh_token_ttl_seconds: int = 30 * 24 * 3600

    # argon2id cost; tests lower these to keep the suite fast.
    argon2_time_cost: int = 3
    argon2_memory_cost_kib: int = 64 * 1024
    # Hashes computed at once (each in a worker thread): half the cores, so the event loop
    # keeps one during a storm of sign-ins.
    password_hash_concurrency: int = Field(
        default_factory=lambda: max(1, (os.cpu_count() or 2) // 2), ge=1
    )

    smtp_url: str | None = None
    mail_from: str = "Murmur <no-reply@murmur.local>"
    mail_outbox_dir: Path | None = None

    otp_ttl_seconds: int = 600
    otp_max_attempts: int = 5
    # An account whose e-mail is not confirmed by then is deleted (no squatting addresses).
    unverified_account_ttl_seconds: int = 24 * 3600

    # Account lifecycle (issue 13): reset links, e-mail changes, two-factor sign-in.
    password_reset_ttl_seconds: int = 30 * 60
    email_change_ttl_seconds: int = 3600
    login_challenge_ttl_seconds: int = 5 * 60  # the 2FA step must follow the password within
    login_challenge_max_attempts: int = 5  # codes tried per challenge
    totp_issuer: str = "Murmur"

    max_body_bytes: int = 64 * 1024
    tweet_max_chars: int = 280

    # Image attachments (POST /media): the upload's own body cap (the JSON routes keep
    # MAX_BODY_BYTES), the pixels an image may claim before it is decoded, images decoded at
    # once (each in a worker thread), each user's stored bytes, and images per tweet.
    media_max_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    media_max_pixels: int = Field(default=40_000_000, ge=1)
    media_decode_concurrency: int = Field(
        default_factory=lambda: max(1, (os.cpu_count() or 2) // 2), ge=1
    )
    media_quota_bytes: int = Field(default=200 * 1024 * 1024, ge=0)
    # Uploads never attached to a tweet are removed after this (the sweep, server/media.py).
    media_orphan_seconds: int = Field(default=24 * 3600, ge=60)

    rate_limit_signup: str = "20/hour"
    # Sign-in: per (name, client address), so a stranger cannot lock the owner out; a higher
    # ceiling per name across addresses; and per address, whatever the names.
    rate_limit_login: str = "10/minute"
    rate_limit_login_account: str = "100/hour"
    rate_limit_login_address: str = "60/minute"
    rate_limit_otp_resend: str = "5/hour"  # per account name or address given
    rate_limit_otp_resend_address: str = "20/hour"  # per client address
    # Code guesses: per client address, and per account per day across resends.
    rate_limit_otp_verify_address: str = "30/hour"
    rate_limit_otp_verify_account: str = "20/day"
    # Per client address: anonymous reads (tweets, timelines, trending), searches by anyone,
    # and user-name checks (which tell whether an account exists).
    # Password reset: asking, per account and per client address; redeeming, per address.
    rate_limit_password_forgot: str = "5/hour"
    rate_limit_password_forgot_address: str = "20/hour"
    rate_limit_password_reset_address: str = "30/hour"
    # Per account: password and e-mail changes (each checks the current password), the 2FA
    # step of sign-in (per client address too) and data exports.
    rate_limit_credentials: str = "10/hour"
    rate_limit_second_factor_address: str = "30/hour"
    rate_limit_second_factor_account: str = "20/hour"
    rate_limit_export: str = "3/hour"
    rate_limit_anonymous_read: str = "300/minute"
    rate_limit_search: str = "60/minute"
    # People and tag search (the composer's @/# autocomplete asks once per keystroke): per
    # signed-in user, else per client address.
    rate_limit_people_search: str = "300/minute"
    rate_limit_username_check: str = "60/minute"
    rate_limit_tweet: str = "100/hour"
    rate_limit_reply: str = "200/hour"
    rate_limit_like: str = "300/hour"
    rate_limit_follow: str = "200/hour"
    rate_limit_media: str = "30/hour"
    rate_limit_message: str = "120/minute"  # direct messages, per sender
    # Typing indicators over REST, per user and conversation (the socket frame has its own).
    rate_limit_typing: str = "1/2 seconds"
    message_max_chars: int = 1000
    conversation_max_participants: int = 20
    rate_limits_enabled: bool = True

    fanout_max_followers: int = 10_000
    # Whether this process runs the outbox worker (server/outbox.py); `murmur worker` runs
    # only that. One worker is active at a time; the others wait for its lease to end.
    run_worker: bool = True
    # With REDIS_URL set, `murmur serve` runs its worker as a child process (`murmur worker`,
    # restarted if it dies) instead of in the web process: a core and an event loop of its
    # own (server/workerprocess.py). Without Redis it always runs in the web process.
    worker_process: bool = True
    outbox_lease_seconds: float = Field(default=10.0, gt=0)
    # How often an idle outbox worker looks for writes it was not told of (writes wake it:
    # in its own process directly, from another through the hub's control channel).
    outbox_poll_seconds: float = Field(default=0.5, gt=0)
    # A new tweet's outbox entry whose tweet never appeared (its process died in between) is
    # dropped after this long; a request still storing the tweet then fails instead
    # (server/store/intents.py). Longer than a POST can take.
    outbox_intent_grace_seconds: float = Field(default=30.0, gt=0)
    timeline_max_entries: int = 800
    # A push trims about one in this many of the receiving timelines (1: every one), so a
    # stored timeline stays within about this many entries of its cap without a read.
    timeline_trim_every: int = Field(default=16, ge=1)
    # Where stored home timelines live: "auto" is Redis sorted sets when REDIS_URL is set,
    # else MongoDB (server/store/timelines.py).
    timeline_store: Literal["auto", "mongodb", "redis"] = "auto"

    # Search: "auto" probes the server for text indexes at start-up.
    search_backend: Literal["auto", "keyword", "text"] = "auto"

    # Sign in with GitHub (OAuth 2.0 + PKCE); unset id/secret turns it off.
    github_client_id: str | None = None
    github_client_secret: str | None = None
    github_authorize_url: str = "https://github.com/login/oauth/authorize"
    github_token_url: str = "https://github.com/login/oauth/access_token"
    github_api_url: str = "https://api.github.com"

    admin_token: str | None = None

    # The realtime hub (/ws); see docs/realtime.md.
    ws_max_frame_bytes: int = 16 * 1024
    ws_max_subscriptions: int = 50
    ws_max_sockets_per_user: int = 20
    ws_ticket_ttl_seconds: int = 30  # a POST /ws/ticket ticket works once, within this
    ws_max_anonymous_per_address: int = 50  # sockets without a valid token per client address
    ws_frame_rate: float = 20.0  # client frames of any kind per second per socket, after...
    ws_frame_burst: int = 100  # ...this burst; a socket that keeps going past it is closed
    ws_subscribe_rate: float = 5.0  # subscribe frames per second per socket, after the burst
    ws_subscribe_burst: int = 50
    ws_send_backlog: int = 256  # frames queued for a socket that is behind, then resync
    ws_heartbeat_seconds: float = 20.0  # server ping interval; no pong within it closes
    ws_sweep_seconds: float = 5.0  # how often token expiry is re-checked
    ws_gc_freeze: bool = True  # gc.freeze() after connect bursts (realtime/gcfreeze.py)
    ws_log_max_entries: int = 1000  # per-stream replay log length (home, notifications, ...)
    ws_replay_max: int = 500  # more missed events than this on resume: resync instead
    # A Redis replay log nobody appended to for this long expires (refreshed on append); a
    # `since` older than that on a missing log answers resync (docs/realtime.md).
    ws_log_ttl_seconds: int = Field(default=3 * 86400, ge=60)
    # A `home` merging logs of different Redis Cluster shards holds each live event this
    # long, so it is sent in id order across shards (docs/realtime.md, "Redis Cluster").
    ws_merge_hold_ms: int = Field(default=150, ge=0, le=5000)
    # Typing frames passed on per conversation and socket: at most one per this many seconds.
    ws_typing_interval_seconds: float = 2.0
    # Connect-storm admission control (realtime/gates.py): how many handshakes, token checks
    # and resuming subscriptions (replays) run at once, and how many may wait (and how
    # long); past that a socket is closed with 1013 and told to retry in
    # WS_RETRY_AFTER_SECONDS to twice that.
    ws_handshake_concurrency: int = Field(default=64, ge=1)
    ws_handshake_queue: int = Field(default=2000, ge=0)
    ws_auth_concurrency: int = Field(default=16, ge=1)
    ws_auth_queue: int = Field(default=2000, ge=0)
    ws_replay_concurrency: int = Field(default=32, ge=1)
    ws_replay_queue: int = Field(default=2000, ge=0)
    ws_retry_after_seconds: float = Field(default=2.0, gt=0)
    ws_admission_max_wait_seconds: float = Field(default=5.0, gt=0)  # queued longer: 1013
    # Verified e-mail addresses that get the admin role (at verification or GitHub sign-in).
    admin_emails: list[str] = Field(default_factory=list)
    # Removed: it promoted whoever registered a listed name first. Refused when set.
    admin_user_names: list[str] = Field(default_factory=list)

    log_level: str = "INFO"

    @model_validator(mode="after")
    def _refuse_unsafe_settings(self) -> Settings:
        if self.environment == "production" and not self.jwt_secret:
            raise ValueError("JWT_SECRET must be set when ENVIRONMENT=production")
        secret = (self.jwt_secret or "").encode()
        if self.environment == "production" and len(secret) < MIN_SECRET_BYTES:
            raise ValueError(
                f"JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes when ENVIRONMENT=production "
                "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`)"
            )
        if self.admin_user_names:
            raise ValueError(
                "ADMIN_USER_NAMES is no longer supported (whoever registered a listed name "
                "first became admin): list verified addresses in ADMIN_EMAILS, or run "
                "`murmur make-admin NAME`"
            )
        return self

    @property
    def outbox_dir(self) -> Path:
        return self.mail_outbox_dir or self.data_dir / "outbox"

    def resolved_jwt_secret(self) -> str:
        """The JWT secret; in development one is generated once and kept in the data dir."""
        if self.jwt_secret:
            return self.jwt_secret
        path = self.data_dir / "jwt_secret"
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        secret = secrets.token_urlsafe(48)
        # Created owner-only (0600), never world-readable even for an instant.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secret)
        log.warning("JWT_SECRET not set: generated one and stored it in %s", path)
        return secret
