"""An "httpbin-like" HTTPS (and HTTP) server on loopback for the credential tests: it records
the headers of every request and echoes them back in every way a server might — as a JSON
body, in response headers, base64-encoded, in a redirect's Location — so a test can check that
the proxy added the credential upstream and that none of it comes back to the sandbox.

Two names are served, each with its own certificate issued by one test CA (`API` holds the
credential, `OTHER` must never see it); `bundle_file` holds that CA for the proxy (and a
client of a passed-through tunnel) to trust.
"""

from __future__ import annotations

import base64
import json
import ssl
import tempfile
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from tests.support.egress_target import _TLSServer, company_ca, issued_certificate

API = "api.cred.test"
OTHER = "other.cred.test"


@dataclass
class Seen:
    """One request as the server saw it."""

    server: str  # which name's listener (API or OTHER), "http" for the plain one
    method: str
    path: str
    headers: list[tuple[str, str]]

    def values(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]


@dataclass
class CredentialTarget:
    tls_ports: dict[str, int] = field(default_factory=dict)  # name -> port
    http_port: int = 0
    bundle_file: str = ""
    seen: list[Seen] = field(default_factory=list)
    servers: list[ThreadingHTTPServer] = field(default_factory=list)
    folder: tempfile.TemporaryDirectory[str] | None = None

    def resolve(self) -> dict[str, str]:
        """EgressRules.resolve: each name's HTTPS on 443, the plain listener otherwise."""
        mapping = {f"{name}:443": f"127.0.0.1:{port}" for name, port in self.tls_ports.items()}
        mapping.update({name: f"127.0.0.1:{self.http_port}" for name in self.tls_ports})
        return mapping

    def shutdown(self) -> None:
        for server in self.servers:
            server.shutdown()
            server.server_close()
        if self.folder is not None:
            self.folder.cleanup()


def _handler(target: CredentialTarget, server_name: str) -> type[BaseHTTPRequestHandler]:
    class Echo(BaseHTTPRequestHandler):
        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(min(length, 1_000_000)).decode(errors="replace")
            headers = list(self.headers.items())
            target.seen.append(Seen(server_name, self.command, self.path, headers))
            url = urlsplit(self.path)
            if url.path == "/redirect":
                self.send_response(302)
                self.send_header("Location", parse_qs(url.query)["to"][0])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            auth = self.headers.get("Authorization", "")
            key = self.headers.get("X-Api-Key", "")
            reply = json.dumps(
                {
                    "headers": dict(headers),
                    "body": body,
                    "authorization_b64": base64.b64encode(auth.encode()).decode(),
                    "key_b64": base64.b64encode(key.encode()).decode(),
                }
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("X-Echo-Authorization", auth)
            self.send_header("X-Echo-Key", key)
            self.send_header("Set-Cookie", f"session={key or auth}")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _any

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    return Echo


def start_credential_target() -> CredentialTarget:
    target = CredentialTarget(folder=tempfile.TemporaryDirectory(prefix="cred-target-"))
    assert target.folder is not None
    folder = Path(target.folder.name)
    ca = company_ca()
    for name in (API, OTHER):
        cert_pem, key_pem = issued_certificate(name, ca)
        cert, key = folder / f"{name}.pem", folder / f"{name}.key"
        cert.write_bytes(cert_pem)
        key.write_bytes(key_pem)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        server = _TLSServer(("127.0.0.1", 0), _handler(target, name))
        server.context = context
        target.tls_ports[name] = server.server_address[1]
        target.servers.append(server)
    plain = ThreadingHTTPServer(("127.0.0.1", 0), _handler(target, "http"))
    target.http_port = plain.server_address[1]
    target.servers.append(plain)
    (folder / "bundle.pem").write_bytes(ca[0])
    target.bundle_file = str(folder / "bundle.pem")
    for server in target.servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    return target
