"""Shared fixtures: one real SecantusDB per session, one database per test, real HTTP."""

from __future__ import annotations

import email
import re
import socket
import traceback
import uuid
from collections.abc import AsyncIterator, Generator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pymongo
import pytest
from pymongo import AsyncMongoClient

from server.app import create_app
from server.embedded import EmbeddedMongo
from server.settings import Settings

# Why a test ran again (``--reruns``): the summary names it only, so the failure of the
# first attempt is kept here and printed at the end (a flake is diagnosable from CI's log).
_RERUNS: list[str] = []
# Where each open file descriptor's socket was made: a socket left unclosed is reported by
# the garbage collector in whichever test happens to run then ("unclosed <socket.socket
# fd=N ...>"), seen once in a few whole runs; its fd is still its own then, so this names
# the code that opened it (``_socket_origin``).
_SOCKET_STACKS: dict[int, str] = {}
_UNCLOSED = re.compile(r"unclosed <socket\.socket fd=(\d+)")
_socket_init = socket.socket.__init__


def _recording_socket_init(self: socket.socket, *args: Any, **kwargs: Any) -> None:
    _socket_init(self, *args, **kwargs)
    _SOCKET_STACKS[self.fileno()] = "".join(traceback.format_stack(limit=24)[:-1])


socket.socket.__init__ = _recording_socket_init  # type: ignore[method-assign]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: Any, call: Any) -> Generator[None, Any, None]:
    outcome = yield
    report = outcome.get_result()
    if report.longrepr is not None and (found := _UNCLOSED.search(report.longreprtext)):
        origin = _SOCKET_STACKS.get(int(found.group(1)), "(not recorded)")
        report.sections.append(("unclosed socket opened at", origin))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.outcome == "rerun":
        origin = "".join(
            f"\n--- {name} ---\n{text}" for name, text in report.sections if "socket" in name
        )
        _RERUNS.append(f"{report.nodeid} ({report.when}):\n{report.longreprtext[-5000:]}{origin}")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _RERUNS:
        terminalreporter.section("why tests ran again")
        for text in _RERUNS:
            terminalreporter.write_line(text[-8000:])


@pytest.fixture(scope="session")
def mongo_url() -> Iterator[str]:
    """A real secantusd-py on a free port, ephemeral storage, shared by the whole session."""
    server = EmbeddedMongo(":memory:")
    url = server.start()
    yield url
    server.stop()


class FakeClock:
    """A controllable clock handed to the app; starts at the real time, moves only when told."""

    def __init__(self) -> None:
        now = datetime.now(UTC)
        self.now = now.replace(microsecond=now.microsecond // 1000 * 1000)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def db_name() -> str:
    return f"t_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def settings(mongo_url: str, db_name: str, tmp_path: Path) -> Settings:
    return Settings(
        environment="test",
        mongodb_url=mongo_url,
        mongodb_db=db_name,
        data_dir=tmp_path,
        mail_outbox_dir=tmp_path / "outbox",
        jwt_secret="test-secret-" + "x" * 32,
        argon2_time_cost=1,
        argon2_memory_cost_kib=64,
    )


@pytest.fixture
async def app(settings: Settings, clock: FakeClock, mongo_url: str) -> AsyncIterator[Any]:
    application = create_app(settings, clock=clock)
    async with application.router.lifespan_context(application):
        yield application
    cleaner: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url)
    await cleaner.drop_database(settings.mongodb_db)
    await cleaner.close()


class SettledTransport(httpx.ASGITransport):
    """The ASGI transport, which after every write also waits until the outbox worker has
    applied it (as a client sees it a moment later), so a test reads what a write caused
    without polling. Tests of the outbox itself use a plain ``httpx.ASGITransport``."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await super().handle_async_request(request)
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            outbox = self.app.state.services.outbox  # type: ignore[attr-defined]
            if outbox is not None:
                await outbox.settle()
        return response


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = SettledTransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://murmur.test") as c:
        yield c


@pytest.fixture
async def raw(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A client that does not wait for the worker after a write (tests of the outbox, and
    of what a batch of writes costs while the worker is held)."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://murmur.test"
    ) as c:
        yield c


def mails_to(outbox: Path, to: str) -> list[tuple[str, str]]:
    """(subject, body) of every message e-mailed to ``to``, newest first."""
    found = []
    for path in sorted(outbox.glob("*.eml"), reverse=True):
        msg = email.message_from_bytes(path.read_bytes())
        if msg["To"] == to:
            body = msg.get_payload(decode=True)
            assert isinstance(body, bytes)
            found.append((str(msg["Subject"]), body.decode()))
    return found


def read_otp(outbox: Path, to: str) -> str:
    """The newest code e-mailed to ``to``, read from the outbox folder like a person would."""
    for _, body in mails_to(outbox, to) if outbox.exists() else []:
        found = re.search(r"\b(\d{6})\b", body)
        if found:
            return found.group(1)
    raise AssertionError(f"no mail with a code to {to} in {outbox}")


@dataclass
class TestUser:
    __test__ = False
    id: str
    user_name: str
    email: str
    password: str
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


@pytest.fixture
def make_user(client: httpx.AsyncClient, settings: Settings) -> Any:
    """Sign up and verify a user through the API; returns a TestUser with tokens."""
    counter = iter(range(1, 10_000))

    async def make(user_name: str | None = None, password: str = "correct horse") -> TestUser:
        name = user_name or f"user{next(counter)}_{uuid.uuid4().hex[:6]}"
        mail = f"{name.lower()}@example.com"
        r = await client.post(
            "/auth/user/signup", json={"user_name": name, "email": mail, "password": password}
        )
        assert r.status_code == 201, r.text
        code = read_otp(settings.outbox_dir, mail)
        r = await client.post("/auth/verify-otp", json={"user_name": name, "otp": code})
        assert r.status_code == 200, r.text
        body = r.json()
        return TestUser(
            id=body["user"]["user_id"],
            user_name=name,
            email=mail,
            password=password,
            access_token=body["access_token"],
            refresh_token=body["refresh_token"],
        )

    return make


@pytest.fixture
def make_tweet(client: httpx.AsyncClient) -> Any:
    async def make(user: TestUser, content: str = "hello #murmur") -> dict[str, Any]:
        r = await client.post("/tweets", json={"content": content}, headers=user.headers)
        assert r.status_code == 201, r.text
        body: dict[str, Any] = r.json()
        return body

    return make


@pytest.fixture(scope="session")
def redis_server() -> Iterator[Any]:
    """A real redis-server on a free port for the whole session (tests may kill/restart it)."""
    from tests.servers import RedisServer

    server = RedisServer().start()
    yield server
    server.kill()


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A real 6-node Redis Cluster (3 masters, 1 replica each, node timeout 1 s) for the whole
    session, started on first use: ``.url`` names a node; tests may kill a master
    (``.master_of(key).kill()``) and wait for its replica (``.wait_ok()``)."""
    from server.cluster import RedisCluster

    cluster = RedisCluster(tmp_path_factory.mktemp("redis-cluster")).start()
    yield cluster
    cluster.stop()


@pytest.fixture
def live_app(mongo_url: str, db_name: str, tmp_path: Path) -> Iterator[Any]:
    """Factory for real `murmur serve` processes sharing this test's database.

    ``live_app(redis_url=..., port=...)`` starts one (on ``port``, or a free one; extra keyword
    arguments become environment variables) and returns a ``tests.servers.AppProcess``; every
    process started is stopped after the test, and the database dropped.
    """
    from pymongo import MongoClient

    from tests.servers import AppProcess, live_env

    started: list[Any] = []

    def start(redis_url: str | None = None, port: int | None = None, **extra_env: str) -> Any:
        env = {**live_env(mongo_url, db_name, tmp_path, redis_url), **extra_env}
        proc = AppProcess(env, tmp_path / f"app{len(started)}.log", port=port).start()
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.stop()
    sync: MongoClient[dict[str, Any]] = MongoClient(mongo_url)
    try:
        # Bounded: this runs on the session's event loop, and a drop that waits on something
        # a killed process left behind must not hold up every later test. The database name
        # is unique; leaving it behind is harmless.
        with pymongo.timeout(10):
            sync.drop_database(db_name)
    except pymongo.errors.PyMongoError:
        pass
    finally:
        sync.close()
