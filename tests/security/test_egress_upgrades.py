"""An HTTP request can ask to switch protocols (`Upgrade: websocket`, or any name), and after the
server's 101 answer the proxy relays bytes it no longer judges request by request. Under a
read-only allowlist that was a way to write (websocket messages), and any unknown protocol a raw
channel to an allowed host — what a CONNECT tunnel may not carry (test_egress_tunnels.py). Now,
under an allowlist, only a websocket may switch, and only where POST is allowed; a server that
answers 101 on its own is judged the same way. Real proxy (mitmdump + our addon) over its unix
socket; the upstream is a small server that switches whenever it can and records what arrives.
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from tests.support.egress_client import (
    ALLOWED,
    LOOPBACK,
    REFUSED,
    connect,
    read_all,
    read_head,
    receive_until_closed,
    start_tcp_server,
)

ALL_WRITES = ("GET", "HEAD", "OPTIONS", "POST")
WRITE = b"POST /admin HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nWRITE"


@dataclass
class Switcher:
    """Answers every request with 101 (the protocol asked for, else websocket) and records the
    request heads and every byte after them."""

    port: int = 0
    heads: list[bytes] = field(default_factory=list)
    after: list[bytes] = field(default_factory=list)


@pytest.fixture(scope="module")
def switcher() -> Iterator[Switcher]:
    found = Switcher()

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            self.request.settimeout(10)
            head = b""
            while b"\r\n\r\n" not in head and len(head) < 65536:
                chunk = self.request.recv(65536)
                if not chunk:
                    return
                head += chunk
            found.heads.append(head)
            asked = [line.split(b":", 1)[1].strip() for line in head.split(b"\r\n")
                     if line.lower().startswith(b"upgrade:")]
            protocol = asked[0] if asked else b"websocket"
            self.request.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: " + protocol
                                 + b"\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: x\r\n\r\n")
            receive_until_closed(self.request, found.after.append)

    server = start_tcp_server(Handler)
    found.port = server.server_address[1]
    yield found
    server.shutdown()
    server.server_close()


def proxy_for(egress_proxy, switcher: Switcher, methods: tuple[str, ...]):  # noqa: ANN001, ANN201
    return egress_proxy(mode="allowlist", domains=(ALLOWED,), methods=methods,
                        allow_private=LOOPBACK, resolve={ALLOWED: f"127.0.0.1:{switcher.port}"})


def switch(proxy, upgrade: str | None) -> tuple[str, socket.socket]:  # noqa: ANN001
    """A GET through the proxy (asking for `upgrade` when given), then bytes that would be a
    write; (the proxy's answer head, the open socket)."""
    sock = connect(proxy)
    asks = f"Connection: Upgrade\r\nUpgrade: {upgrade}\r\n" if upgrade else ""
    sock.sendall(f"GET http://{ALLOWED}/live HTTP/1.1\r\nHost: {ALLOWED}\r\n{asks}"
                 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
                 .encode())
    head = read_head(sock)
    with contextlib.suppress(OSError):  # the proxy may have closed it already
        sock.sendall(WRITE)
    return head.decode(errors="replace"), sock


def settled(switcher: Switcher, before: int) -> list[bytes]:
    time.sleep(1)  # what the proxy relays arrives within it; nothing is expected to
    return switcher.after[before:]


@pytest.mark.parametrize("protocol", ["websocket", "tcp", "websocket, tcp"])
def test_a_read_only_allowlist_refuses_any_switch(egress_proxy, switcher, protocol):
    proxy = proxy_for(egress_proxy, switcher, ("GET", "HEAD", "OPTIONS"))
    heads, after = len(switcher.heads), len(switcher.after)
    head, sock = switch(proxy, protocol)
    with sock:
        rest = read_all(sock).decode(errors="replace")
    assert head.startswith("HTTP/1.1 403"), head
    assert f"{REFUSED} GET http://{ALLOWED}/live: switching to {protocol}" in rest
    assert switcher.heads[heads:] == []
    assert settled(switcher, after) == []


def test_an_unknown_protocol_is_refused_even_where_writing_is_allowed(egress_proxy, switcher):
    proxy = proxy_for(egress_proxy, switcher, ALL_WRITES)
    after = len(switcher.after)
    head, sock = switch(proxy, "tcp")
    sock.close()
    assert head.startswith("HTTP/1.1 403"), head
    assert settled(switcher, after) == []


def test_a_server_switching_on_its_own_is_judged_alike(egress_proxy, switcher):
    proxy = proxy_for(egress_proxy, switcher, ("GET", "HEAD", "OPTIONS"))
    after = len(switcher.after)
    head, sock = switch(proxy, None)
    with sock:
        rest = read_all(sock).decode(errors="replace")
    assert head.startswith("HTTP/1.1 403"), head
    assert "switching to websocket opens a two-way channel" in rest
    assert settled(switcher, after) == []


def test_a_websocket_where_post_is_allowed_still_works(egress_proxy, switcher):
    proxy = proxy_for(egress_proxy, switcher, ALL_WRITES)
    head, sock = switch(proxy, "websocket")
    sock.close()
    assert head.startswith("HTTP/1.1 101"), head
