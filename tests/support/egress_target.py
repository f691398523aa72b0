"""A real HTTP server on the host's loopback that sandbox tests reach through the egress proxy
under a made-up name ("allowed.test"), recording every request it gets."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BODY = b"hello from the allowed test domain\n"


@dataclass
class EgressTarget:
    host: str
    port: int
    requests: list[tuple[str, str, str]] = field(default_factory=list)  # (method, Host, path)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


def start_egress_target() -> tuple[EgressTarget, ThreadingHTTPServer]:
    """Serve: GET/HEAD/POST/... on any path -> 200 BODY; /redirect -> 302 to http://refused.test/."""
    target = EgressTarget(host="127.0.0.1", port=0)

    class Handler(BaseHTTPRequestHandler):
        def _any(self) -> None:
            target.requests.append((self.command, self.headers.get("Host", ""), self.path))
            if self.path.startswith("/redirect"):
                self.send_response(302)
                self.send_header("Location", "http://refused.test/stolen")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(BODY)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(BODY)

        do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_OPTIONS = _any

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    target.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return target, server
