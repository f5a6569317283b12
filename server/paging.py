"""What a page of a list asks for: a plain type shared by the HTTP layer and ``store/``."""

from __future__ import annotations

from dataclasses import dataclass

from bson import ObjectId


@dataclass(frozen=True)
class PageQuery:
    """``limit`` plus an opaque ``cursor`` (an id to continue after) or a 1-based ``page``."""

    limit: int
    after: ObjectId | None
    skip: int
