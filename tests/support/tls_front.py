"""A TLS front for a plain loopback server: HTTPS on https://localhost:PORT with a certificate
a made-up company CA issued, each connection relayed byte for byte to the plain server. So a
test double speaking plain HTTP (the scripted model) can be reached as a real HTTPS endpoint,
and a client that closes its TLS connection is seen by the double as a closed connection."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from pathlib import Path

from tests.support.egress_target import company_ca, issued_certificate


class TLSFront:
    """`with TLSFront(upstream_port, folder) as front:` then `front.port`; `front.ca_file` is
    the CA's certificate to trust (e.g. SSL_CERT_FILE)."""

    def __init__(self, upstream_port: int, folder: Path) -> None:
        self.upstream_port = upstream_port
        ca = company_ca()
        certificate, key = issued_certificate("localhost", ca)
        self.ca_file = folder / "company-ca.pem"
        self.ca_file.write_bytes(ca[0])
        (folder / "front.pem").write_bytes(certificate + key)
        self._context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._context.load_cert_chain(folder / "front.pem")
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def __enter__(self) -> TLSFront:
        self._spawn(self._accept)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        with contextlib.suppress(OSError):
            self._listener.close()

    def _spawn(self, target, *args) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                raw, _ = self._listener.accept()
            except OSError:
                return
            self._spawn(self._serve, raw)

    def _serve(self, raw: socket.socket) -> None:
        try:
            client = self._context.wrap_socket(raw, server_side=True)
        except (OSError, ssl.SSLError):
            raw.close()
            return
        upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=10)
        upstream.settimeout(None)
        self._spawn(self._pump, upstream, client)
        self._pump(client, upstream)

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        """Copy until `source` ends, then end both: the other side sees the end too. Shut
        down, not only closed: the other pump's thread is blocked reading the same sockets,
        and a close alone sends nothing while a read still holds the socket."""
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except (OSError, ssl.SSLError):
            pass
        finally:
            for sock in (target, source):
                with contextlib.suppress(OSError):
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)  # the TCP socket's own
                with contextlib.suppress(OSError):
                    sock.close()
