"""Clients of an attempt's live log that reconnect the way the page (static/js/live/socket.js)
and the CLI do: a minimal websocket client, `AttemptFollower` (the websocket,
`?after=<last seq>`) and `SseFollower` (the Server-Sent Events stream, `Last-Event-ID`), each
recording every seq."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import struct
import threading
import time

import requests

from codexweb.client.http import parse_sse

CONNECT_SECONDS = 30.0


class MiniWebSocket:
    """A minimal RFC 6455 client over asyncio streams (text frames only: enough for the
    bench and the fault tests).

    autobahn's asyncio flavour can't load once Django has (daphne selects twisted for txaio),
    and neither the bench nor the tests should add a dependency."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, port: int, path: str, headers: dict[str, str]) -> MiniWebSocket:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            f"GET {path} HTTP/1.1",
            f"Host: 127.0.0.1:{port}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
        ]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await writer.drain()
        response = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), CONNECT_SECONDS)
        if not response.startswith(b"HTTP/1.1 101"):
            raise RuntimeError(f"websocket refused: {response.splitlines()[0]!r}")
        return cls(reader, writer)

    async def receive(self) -> str | None:
        """The next text message, or None when the server closes."""
        while True:
            head = await self.reader.readexactly(2)
            opcode, length = head[0] & 0x0F, head[1] & 0x7F
            if length == 126:
                length = struct.unpack("!H", await self.reader.readexactly(2))[0]
            elif length == 127:
                length = struct.unpack("!Q", await self.reader.readexactly(8))[0]
            data = await self.reader.readexactly(length)
            if opcode == 1:
                return data.decode()
            if opcode == 8:
                return None
            if opcode == 9:
                self._send(10, data)

    def _send(self, opcode: int, data: bytes) -> None:
        mask = os.urandom(4)
        header = bytes([0x80 | opcode])
        if len(data) < 126:
            header += bytes([0x80 | len(data)])
        else:
            header += bytes([0x80 | 126]) + struct.pack("!H", len(data))
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
        self.writer.write(header + mask + masked)

    def close(self) -> None:
        self._send(8, struct.pack("!H", 1000))
        self.writer.close()


class AttemptFollower:
    """Follows `/ws/attempts/<id>/` in a thread like the page: records every event's seq, and
    when the connection drops (daphne or Redis restarting) reconnects with `?after=` the last
    seq it saw, retrying every `retry_seconds`. `seqs` must end up 1..N, each once."""

    def __init__(self, port: int, attempt_id: int, cookie: str, *, retry_seconds: float = 0.2):
        self.port, self.attempt_id, self.cookie = port, attempt_id, cookie
        self.retry_seconds = retry_seconds
        self.seqs: list[int] = []
        self.kinds: list[str] = []
        self.connections = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    def start(self) -> AttemptFollower:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def last_seq(self) -> int:
        with self._lock:
            return self.seqs[-1] if self.seqs else 0

    async def _run(self) -> None:
        while not self._stop.is_set():
            try:
                ws = await MiniWebSocket.open(
                    self.port,
                    f"/ws/attempts/{self.attempt_id}/?after={self.last_seq()}",
                    {"Origin": f"http://127.0.0.1:{self.port}",
                     "Cookie": f"sessionid={self.cookie}"},
                )
            except (TimeoutError, OSError, RuntimeError, asyncio.IncompleteReadError):
                await asyncio.sleep(self.retry_seconds)
                continue
            self.connections += 1
            try:
                while not self._stop.is_set():
                    try:
                        text = await asyncio.wait_for(ws.receive(), 0.2)
                    except TimeoutError:
                        continue
                    if text is None:
                        break
                    event = json.loads(text).get("event", {})
                    with self._lock:
                        self.seqs.append(int(event["seq"]))
                        self.kinds.append(str(event["kind"]))
            except (OSError, asyncio.IncompleteReadError):
                pass
            finally:
                with contextlib.suppress(OSError):
                    ws.close()
            await asyncio.sleep(self.retry_seconds)


class SseFollower(threading.Thread):
    """Follows `/api/v1/attempts/<id>/events/stream` with a bearer token until its `end` event,
    reconnecting with `Last-Event-ID` whenever the connection drops."""

    def __init__(self, base_url: str, attempt_id: int, token: str, *, retry_seconds: float = 0.2):
        super().__init__(daemon=True)
        self.url = f"{base_url}/api/v1/attempts/{attempt_id}/events/stream"
        self.token = token
        self.retry_seconds = retry_seconds
        self.seqs: list[int] = []
        self.end: dict | None = None
        self.connections = 0
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set() and self.end is None:
            headers = {"Authorization": f"Bearer {self.token}"}
            if self.seqs:
                headers["Last-Event-ID"] = str(self.seqs[-1])
            try:
                with requests.get(self.url, headers=headers, stream=True,
                                  timeout=(5, 30)) as response:
                    if response.status_code == 200:
                        self.connections += 1
                        for sse in parse_sse(response.iter_lines(decode_unicode=True)):
                            if sse.event == "end":
                                self.end = sse.data
                            elif sse.id is not None:
                                self.seqs.append(int(sse.id))
                            if self.stopped.is_set():
                                return
            except requests.RequestException:
                pass
            time.sleep(self.retry_seconds)
