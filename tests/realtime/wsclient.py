"""A WebSocket test client that validates every server frame against the published contract."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from realtime.protocol import server_frame
from tests.contract import check_server_frame


async def until(condition: Any, wait: float = 2.0) -> None:
    """Wait (``wait`` seconds at most) until ``condition()`` holds; other tasks run meanwhile."""
    async with asyncio.timeout(wait):
        while not condition():  # noqa: ASYNC110 - polling plain attributes, no event to wait on
            await asyncio.sleep(0.001)


class WsClient:
    """Wraps a ``websockets`` connection; every frame received is checked against
    ``realtime.protocol.ServerFrame``, the AsyncAPI document and, for events, the server's
    event models (Zulip's idea: each event kind the server emits is validated)."""

    def __init__(self, conn: ClientConnection) -> None:
        self.conn = conn

    @classmethod
    async def open(cls, url: str, token: str | None = None, **kwargs: Any) -> WsClient:
        headers = {"Authorization": f"Bearer {token}"} if token else None
        conn = await connect(url, additional_headers=headers, open_timeout=5, **kwargs)
        return cls(conn)

    async def send(self, frame: dict[str, Any] | str) -> None:
        await self.conn.send(frame if isinstance(frame, str) else json.dumps(frame))

    async def recv(self, wait: float = 5) -> dict[str, Any]:
        raw = await asyncio.wait_for(self.conn.recv(), wait)
        frame: dict[str, Any] = json.loads(raw)
        server_frame.validate_python(frame)
        check_server_frame(frame)
        return frame

    async def expect(self, type_: str, wait: float = 5, **fields: Any) -> dict[str, Any]:
        """The next frame, which must be of ``type_`` and carry ``fields``."""
        frame = await self.recv(wait)
        assert frame["type"] == type_, frame
        for key, value in fields.items():
            assert frame.get(key) == value, (key, frame)
        return frame

    async def subscribe(self, stream: str, since: str | None = None) -> None:
        body: dict[str, Any] = {"type": "subscribe", "stream": stream}
        if since is not None:
            body["since"] = since
        await self.send(body)
        await self.expect("subscribed", stream=stream)

    async def events(self, count: int, wait: float = 5) -> list[dict[str, Any]]:
        frames = [await self.expect("event", wait) for _ in range(count)]
        return frames

    async def quiet(self, wait: float = 0.3) -> None:
        """Nothing more arrives within ``wait`` seconds (a short poll, not a fixed sleep)."""
        try:
            frame = await asyncio.wait_for(self.conn.recv(), wait)
        except TimeoutError:
            return
        raise AssertionError(f"unexpected frame {frame}")

    async def closed(self, wait: float = 5) -> tuple[int | None, str | None]:
        """Wait until the server closes; returns (code, reason)."""
        with contextlib.suppress(ConnectionClosed):
            async with asyncio.timeout(wait):
                while True:
                    await self.conn.recv()
        received = self.conn.protocol.close_rcvd
        return (received.code, received.reason) if received else (None, None)

    async def close(self) -> None:
        await self.conn.close()


class RawSocket:
    """A minimal WebSocket client with a tiny receive buffer that reads only when told."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> RawSocket:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
        reader, writer = await asyncio.open_connection(sock=sock, limit=1 << 16)
        writer.write(
            b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        head = await reader.readuntil(b"\r\n\r\n")
        assert b" 101 " in head, head
        return cls(reader, writer)

    def send_json(self, text: str) -> None:
        data = text.encode()
        mask = b"\x01\x02\x03\x04"
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
        self.writer.write(bytes([0x81, 0x80 | len(data)]) + mask + masked)

    async def read_all(self, idle: float = 1.0) -> str:
        chunks = []
        while True:
            try:
                chunk = await asyncio.wait_for(self.reader.read(1 << 20), idle)
            except TimeoutError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks).decode("utf-8", "replace")

    def close(self) -> None:
        self.writer.close()
