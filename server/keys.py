"""One key per job, derived from the one ``JWT_SECRET`` with HKDF-SHA256 (RFC 5869).

Signing access tokens, keying the stored HMACs of e-mail codes, of refresh tokens, of
OAuth states, of WebSocket tickets and of the account's own secrets (reset links, e-mail
change codes, two-factor challenges and recovery codes) each use their own key, so a value
made for one job is worthless in another (a leaked code digest says nothing about token
signatures) and each derivation can change alone. Changing the derivation ends every
session once (tokens and stored digests no longer match), which is what rotating
``JWT_SECRET`` does anyway.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

_SALT = b"murmur/keys/v1"


def hkdf(secret: str, purpose: str, length: int = 32) -> bytes:
    """HKDF-SHA256: extract with a fixed salt, expand with ``purpose`` as the info."""
    prk = hmac.new(_SALT, secret.encode(), hashlib.sha256).digest()
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + purpose.encode() + bytes([counter]), hashlib.sha256).digest()
        out += block
        counter += 1
    return out[:length]


def _text(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode().rstrip("=")


@dataclass(frozen=True)
class Keys:
    """The derived keys, as text (what PyJWT and ``security.keyed_hash`` take)."""

    jwt: str
    codes: str
    refresh: str
    oauth: str
    tickets: str
    account: str  # password-reset tokens, e-mail-change codes, 2FA challenges and codes

    @classmethod
    def derive(cls, secret: str) -> Keys:
        return cls(
            jwt=_text(hkdf(secret, "access-token-signing")),
            codes=_text(hkdf(secret, "e-mail-code-hmac")),
            refresh=_text(hkdf(secret, "refresh-token-hmac")),
            oauth=_text(hkdf(secret, "oauth-state-hmac")),
            tickets=_text(hkdf(secret, "ws-ticket-hmac")),
            account=_text(hkdf(secret, "account-secret-hmac")),
        )
