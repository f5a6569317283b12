"""Keep bearer tokens out of the logs.

Browsers cannot set headers on a WebSocket, so they send ``/ws?access_token=…``; uvicorn logs
every request and WebSocket line with its query string. This filter masks such tokens in any
record it sees before a handler writes it.
"""

from __future__ import annotations

import copy
import logging
import re
from typing import Any

_TOKEN_IN_QUERY = re.compile(r"((?:access_token|refresh_token|ticket)=)[^&\s\"']+")


def redact(text: str) -> str:
    return _TOKEN_IN_QUERY.sub(r"\1[redacted]", text)


class RedactTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's own logging configuration with the redacting filter on its handlers."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_tokens"] = {"()": RedactTokens}
    for handler in config["handlers"].values():
        handler.setdefault("filters", []).append("redact_tokens")
    return config
