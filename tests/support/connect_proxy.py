"""A company's HTTP proxy on the host's loopback, for SANDBOX_UPSTREAM_PROXY tests.

CONNECT host:port is tunnelled to the address `routes` maps "host:port" (or "host") to — the
names the sandbox uses are made up, and the company proxy resolves them, not ours — and
refused with 502 otherwise. A plain (absolute-form) request is answered by the proxy itself
with PLAIN_BODY. Every request line is recorded, so a test can tell what passed through.
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field

PLAIN_BODY = b"answered by the company proxy\n"


@dataclass
class CompanyProxy:
    port: int
    server: socketserver.ThreadingTCPServer
    # ("CONNECT", "host:port") or (method, absolute URL) of every request, in arrival order
    requests: list[tuple[str, str]] = field(default_factory=list)
    # the Proxy-Authorization header of each request ("" when absent)
    authorizations: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def shutdown(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _relay(a: socket.socket, b: socket.socket) -> None:
    def pump(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)

    other = threading.Thread(target=pump, args=(b, a), daemon=True)
    other.start()
    pump(a, b)
    other.join(timeout=60)


def start_company_proxy(routes: Mapping[str, str]) -> CompanyProxy:
    """Listen on 127.0.0.1 (a free port) in a background thread; `shutdown()` stops it."""
    proxy: CompanyProxy

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            self.connection.settimeout(30)
            line = self.rfile.readline(8192).decode("latin-1").strip()
            headers: dict[str, str] = {}
            for _ in range(100):
                raw = self.rfile.readline(8192).decode("latin-1")
                if raw in ("\r\n", "\n", ""):
                    break
                name, _, value = raw.partition(":")
                headers[name.strip().lower()] = value.strip()
            method, _, rest = line.partition(" ")
            target = rest.rpartition(" ")[0] or rest
            proxy.requests.append((method, target))
            proxy.authorizations.append(headers.get("proxy-authorization", ""))
            if method != "CONNECT":
                self.wfile.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n"
                    + f"Content-Length: {len(PLAIN_BODY)}\r\n\r\n".encode()
                    + PLAIN_BODY
                )
                return
            host = target.rpartition(":")[0]
            route = routes.get(target) or routes.get(host)
            if route is None:
                self.wfile.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                return
            address, _, port = route.rpartition(":")
            try:
                upstream = socket.create_connection((address, int(port)), timeout=10)
            except OSError:
                self.wfile.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                return
            with upstream:
                self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                self.wfile.flush()
                upstream.settimeout(30)
                _relay(self.connection, upstream)

    class Server(socketserver.ThreadingTCPServer):
        daemon_threads = True
        allow_reuse_address = True

    server = Server(("127.0.0.1", 0), Handler)
    proxy = CompanyProxy(port=server.server_address[1], server=server)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return proxy
