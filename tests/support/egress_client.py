"""Drive the real egress proxy (mitmdump from `.venv-proxy` with our addon, behind its unix
socket) straight from the test process, the way a sandbox's socat bridge does — no container,
so an attack can be written byte by byte — plus a raw TCP server that records what reaches it.

Use `egress_proxy` (a factory fixture: `egress_proxy(mode=..., domains=..., ...)` returns a
started `EgressProxy`) from a test module with `from tests.support.egress_client import
egress_proxy  # noqa: F401`.
"""

from __future__ import annotations

import shutil
import socket
import socketserver
import ssl
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tasks.sandbox.egress.credentials import EgressCredential
from tasks.sandbox.egress.policy import EgressRules
from tasks.sandbox.egress.proxy import EgressProxy
from tests.support.egress_target import EgressTarget, start_egress_target
from tests.support.services import ROOT

MITMDUMP = ROOT / ".venv-proxy" / "bin" / "mitmdump"
ALLOWED = "allowed.test"
LOOPBACK = ("127.0.0.0/8", "::1/128")  # what tests list to reach their own loopback servers
REFUSED = "codexweb egress proxy: refused"
READ_LIMIT = 1_000_000

ProxyFactory = Callable[..., EgressProxy]


@pytest.fixture(scope="module")
def egress_proxy() -> Iterator[ProxyFactory]:
    """Start proxies for EgressRules fields (`upstream_ca=` for the TLS target's certificate);
    each is stopped and its folder removed after the test module (a proxy takes seconds to
    start on a loaded machine, so a module's tests share the ones they configure alike)."""
    if not MITMDUMP.exists():
        pytest.skip("the egress proxy (.venv-proxy/bin/mitmdump) is missing: make proxy-venv")
    started: list[tuple[EgressProxy, Path]] = []

    def start(
        *, upstream_ca: str = "", credentials: tuple[EgressCredential, ...] = (), **fields: object
    ) -> EgressProxy:
        # A short folder: unix socket paths hold ~108 bytes, pytest's tmp_path can be longer.
        workdir = Path(tempfile.mkdtemp(prefix="cxeg-"))
        proxy = EgressProxy(
            rules=EgressRules(**fields),  # type: ignore[arg-type]
            workdir=workdir,
            mitmdump=str(MITMDUMP),
            upstream_ca=upstream_ca,
            credentials=credentials,
        )
        started.append((proxy, workdir))
        proxy.start()
        return proxy

    yield start
    for proxy, workdir in started:
        proxy.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def connect(proxy: EgressProxy) -> socket.socket:
    """A connection to the proxy's unix socket, as the sandbox's bridge makes it."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(10)
    sock.connect(str(proxy.socket_path))
    return sock


def read_all(sock: socket.socket | ssl.SSLSocket) -> bytes:
    """Everything until the other side closes (bounded by READ_LIMIT and the timeout)."""
    out = b""
    while len(out) < READ_LIMIT:
        try:
            chunk = sock.recv(65536)
        except (TimeoutError, ConnectionResetError, ssl.SSLError):
            break
        if not chunk:
            break
        out += chunk
    return out


def send_request(proxy: EgressProxy, request: bytes) -> str:
    """One plain proxied HTTP request (absolute URL in the request line); the whole reply."""
    with connect(proxy) as sock:
        sock.sendall(request)
        return read_all(sock).decode(errors="replace")


def open_tunnel(proxy: EgressProxy, host: str, port: int) -> tuple[socket.socket, str]:
    """CONNECT host:port; (the socket, the proxy's reply head). The socket is the tunnel when
    the reply is 200."""
    sock = connect(proxy)
    sock.sendall(f"CONNECT {host}:{port} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
    return sock, read_head(sock).decode(errors="replace")


def read_head(sock: socket.socket) -> bytes:
    """An HTTP reply's head, read a byte at a time so that nothing after it (a tunnel's or a
    switched protocol's first bytes) is taken from the socket; less if it closes first."""
    head = b""
    while b"\r\n\r\n" not in head and len(head) < 65536:
        chunk = sock.recv(1)
        if not chunk:
            break
        head += chunk
    return head


def tunnel_reply(proxy: EgressProxy, host: str, port: int) -> str:
    """The proxy's whole answer to CONNECT host:port when it refuses (head and body)."""
    sock, head = open_tunnel(proxy, host, port)
    with sock:
        return head + read_all(sock).decode(errors="replace")


def receive_until_closed(sock: socket.socket, on_data: Callable[[bytes], object]) -> None:
    """Hand each chunk `sock` receives to `on_data` until the other side closes it or it fails
    (a test server's loop: what arrived is what the test asserts on)."""
    while True:
        try:
            data = sock.recv(65536)
        except OSError:
            return
        if not data:
            return
        on_data(data)


def start_tcp_server(
    handler: type[socketserver.BaseRequestHandler], host: str = "127.0.0.1"
) -> socketserver.ThreadingTCPServer:
    """A TCP server on a free port of `host`, each connection handled by `handler` in a thread
    of its own; the caller shuts it down and closes it."""
    server = socketserver.ThreadingTCPServer((host, 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@dataclass
class TcpRecorder:
    """A raw TCP server on loopback: records every byte it receives; sends `banner` first when
    set (a server-first protocol such as SSH or SMTP)."""

    host: str = "127.0.0.1"
    port: int = 0
    banner: bytes = b""
    received: list[bytes] = field(default_factory=list)
    connections: int = 0

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


@pytest.fixture(scope="module")
def tcp_recorder() -> Iterator[Callable[..., TcpRecorder]]:
    servers: list[socketserver.ThreadingTCPServer] = []

    def start(banner: bytes = b"", host: str = "127.0.0.1") -> TcpRecorder:
        recorder = TcpRecorder(banner=banner, host=host)

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                recorder.connections += 1
                self.request.settimeout(10)
                if recorder.banner:
                    self.request.sendall(recorder.banner)

                def echo(data: bytes) -> None:
                    recorder.received.append(data)
                    self.request.sendall(b"echo:" + data)

                receive_until_closed(self.request, echo)

        server = start_tcp_server(Handler, host)
        recorder.port = server.server_address[1]
        servers.append(server)
        return recorder

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def web_target() -> Iterator[EgressTarget]:
    """The HTTP and HTTPS test server (`tests/support/egress_target.py`) for ALLOWED."""
    running = start_egress_target(ALLOWED)
    yield running.target
    running.shutdown()
