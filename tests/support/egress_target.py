"""A real HTTP and HTTPS server on the host's loopback that sandbox tests reach through the
egress proxy under a made-up name ("allowed.test"), recording every request it gets.

The HTTPS listener serves a self-signed certificate for that name, made here with
`cryptography`; tests make the proxy trust it (`DockerConfig.egress_upstream_ca`) and, to see
passthrough, the client too. Corporate-network tests instead give it a certificate issued by a
made-up company CA (`company_ca`, `issued_certificate`), as a TLS-intercepting proxy would.
"""

from __future__ import annotations

import datetime
import ssl
import tempfile
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

BODY = b"hello from the allowed test domain\n"
CERT_NAME = "codexweb egress test target"  # the certificate's subject and issuer CN


@dataclass
class EgressTarget:
    host: str
    port: int
    tls_port: int = 0
    cert_pem: bytes = b""  # the HTTPS listener's self-signed certificate
    cert_file: str = ""  # ...and a file holding it
    # (method, Host, path) of every request, over HTTP and over HTTPS
    requests: list[tuple[str, str, str]] = field(default_factory=list)
    tls_requests: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def tls_address(self) -> str:
        return f"{self.host}:{self.tls_port}"


@dataclass
class RunningTarget:
    target: EgressTarget
    servers: list[ThreadingHTTPServer]
    folder: tempfile.TemporaryDirectory[str]

    def shutdown(self) -> None:
        for server in self.servers:
            server.shutdown()
            server.server_close()
        self.folder.cleanup()


COMPANY_CA_NAME = "Acme Corp TLS Inspection CA"  # the made-up company CA's CN


def self_signed_certificate(name: str) -> tuple[bytes, bytes]:
    """(certificate PEM, private key PEM) for `name`, valid for a day."""
    return _certificate(CERT_NAME, dns_name=name, ca=True)


def company_ca() -> tuple[bytes, bytes]:
    """(certificate PEM, private key PEM) of a company CA, like the one a TLS-intercepting
    proxy signs every server's certificate with."""
    return _certificate(COMPANY_CA_NAME, ca=True)


def issued_certificate(name: str, ca: tuple[bytes, bytes]) -> tuple[bytes, bytes]:
    """(certificate PEM, private key PEM) for `name`, issued by `ca` (from `company_ca`)."""
    return _certificate(f"{name} (inspected)", dns_name=name, issuer=ca)


def _certificate(
    common_name: str,
    *,
    dns_name: str = "",
    ca: bool = False,
    issuer: tuple[bytes, bytes] | None = None,
) -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    signer_name, signer_key = subject, key
    if issuer is not None:
        signer_name = x509.load_pem_x509_certificate(issuer[0]).subject
        loaded = serialization.load_pem_private_key(issuer[1], password=None)
        assert isinstance(loaded, ec.EllipticCurvePrivateKey)
        signer_key = loaded
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(signer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if dns_name:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(dns_name)]), critical=False
        )
    if ca and not dns_name:  # a pure CA (the self-signed server certificate stays as it was)
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    cert = builder.sign(signer_key, hashes.SHA256())
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


class _TLSServer(ThreadingHTTPServer):
    """TLS per connection, in the connection's own thread (a stalled handshake blocks no one)."""

    context: ssl.SSLContext

    def finish_request(self, request, client_address) -> None:  # noqa: ANN001
        request.settimeout(10)
        try:
            wrapped = self.context.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError):
            return
        super().finish_request(wrapped, client_address)

    def handle_error(self, request, client_address) -> None:  # noqa: ANN001
        pass  # a client that gave up mid-request is not the test's business


def start_egress_target(
    name: str = "allowed.test", *, certificate: tuple[bytes, bytes] | None = None
) -> RunningTarget:
    """Serve, over HTTP and over HTTPS (certificate for `name`: self-signed, or `certificate`'s
    (PEM, key PEM)): any method on any path -> 200 BODY; /redirect -> 302 to
    http://refused.test/stolen."""
    target = EgressTarget(host="127.0.0.1", port=0)

    def handler(log: list[tuple[str, str, str]]) -> type[BaseHTTPRequestHandler]:
        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                log.append((self.command, self.headers.get("Host", ""), self.path))
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

            do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_OPTIONS = do_PATCH = _any

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        return Handler

    folder = tempfile.TemporaryDirectory(prefix="egress-target-")
    cert_pem, key_pem = certificate or self_signed_certificate(name)
    cert_file, key_file = Path(folder.name) / "cert.pem", Path(folder.name) / "key.pem"
    cert_file.write_bytes(cert_pem)
    key_file.write_bytes(key_pem)
    target.cert_pem, target.cert_file = cert_pem, str(cert_file)

    plain = ThreadingHTTPServer(("127.0.0.1", 0), handler(target.requests))
    target.port = plain.server_address[1]
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    secure = _TLSServer(("127.0.0.1", 0), handler(target.tls_requests))
    secure.context = context
    target.tls_port = secure.server_address[1]
    for server in (plain, secure):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    return RunningTarget(target=target, servers=[plain, secure], folder=folder)
