"""Search tests run against the embedded SecantusDB (keyword back-end) by default, or against
the server ``MONGODB_URL`` names: on a MongoDB with text indexes the same cases exercise the
``$text`` back-end (the app probes and picks it)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session")
def mongo_url(mongo_url: str) -> Iterator[str]:
    # Overrides the suite-wide fixture of the same name; the argument is that one.
    yield os.environ.get("MONGODB_URL") or mongo_url
