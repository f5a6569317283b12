"""Log configuration: bearer tokens kept out of the logs, request ids put in.

Browsers cannot set headers on a WebSocket, so they send ``/ws?access_token=…``; uvicorn logs
every request and WebSocket line with its query string. This filter masks such tokens in any
record it sees before a handler writes it.
"""

from __future__ import annotations

import copy
import logging
import re
from typing import Any

from .requestid import RequestIdFilter

_TOKEN_IN_QUERY = re.compile(r"((?:access|refresh)_token=)[^&\s\"']+")


def redact(text: str) -> str:
    return _TOKEN_IN_QUERY.sub(r"\1[redacted]", text)


class RedactTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


ROOT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"


def configure_root_logging() -> None:
    """Murmur's own log lines: tokens masked, each stamped with its request's id."""
    logging.basicConfig(level=logging.INFO, format=ROOT_FORMAT)
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactTokens())
        handler.addFilter(RequestIdFilter())


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's own logging configuration with the same two filters on its handlers."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    filters = config.setdefault("filters", {})
    filters["redact_tokens"] = {"()": RedactTokens}
    filters["request_id"] = {"()": RequestIdFilter}
    for handler in config["handlers"].values():
        handler.setdefault("filters", []).extend(["redact_tokens", "request_id"])
    for formatter in config["formatters"].values():
        formatter["fmt"] = formatter["fmt"].replace(
            "%(levelprefix)s ", "%(levelprefix)s [%(request_id)s] "
        )
    return config
