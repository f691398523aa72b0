"""Corporate networks: the operator's extra CA and upstream proxy, checked before use.

Behind a TLS-intercepting company proxy every HTTPS server shows a certificate signed by the
company's CA; sandboxes (and the egress proxy, when it verifies upstream servers) must trust that
CA or `pip install` fails. Read at the edge (`tasks/worker/sandbox_settings.spec_from_settings`)
and passed down as plain text, so a bad file fails the attempt with a sentence, not a stack
trace deep inside.
"""

from __future__ import annotations

import re
import stat
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import unquote, urlsplit

from cryptography import x509

from tasks.sandbox.base import SandboxError

_PEM_CERT = re.compile(r"-----BEGIN CERTIFICATE-----\s.*?-----END CERTIFICATE-----", re.DOTALL)


def read_extra_ca(path: str) -> str:
    """The certificates (PEM) in the file SANDBOX_EXTRA_CA_FILE names; "" when `path` is "".

    Raises SandboxError naming the file when it cannot be read, holds no certificate, holds a
    private key (which must never be copied into sandboxes) or a certificate does not parse."""
    if not path:
        return ""
    try:
        text = Path(path).read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise SandboxError(
            f"SANDBOX_EXTRA_CA_FILE={path} cannot be read ({exc}); it must be a PEM file "
            "holding your company's CA certificate"
        ) from exc
    if "PRIVATE KEY" in text:
        raise SandboxError(
            f"SANDBOX_EXTRA_CA_FILE={path} holds a private key; give the CA's certificate only"
        )
    certs = split_certificates(text)
    if not certs:
        raise SandboxError(
            f"SANDBOX_EXTRA_CA_FILE={path} holds no PEM certificate "
            "(-----BEGIN CERTIFICATE-----); convert a DER file with "
            "`openssl x509 -inform der -in ca.cer -out ca.pem`"
        )
    for number, cert in enumerate(certs, 1):
        try:
            x509.load_pem_x509_certificate(cert.encode())
        except ValueError as exc:
            raise SandboxError(
                f"certificate {number} in SANDBOX_EXTRA_CA_FILE={path} is not valid: {exc}"
            ) from exc
    return "".join(cert + "\n" for cert in certs)


# Where Debian and Ubuntu keep the CAs an administrator added (`update-ca-certificates`).
HOST_ADDED_CAS = Path("/usr/local/share/ca-certificates")


# Per process, per folder: the listing `host_added_cas` last read (each file's path, inode,
# size, mtime and ctime) and the certificates it found there. Checking the listing costs a stat
# per file; reading and parsing every certificate again for each attempt cost far more.
_host_cas_read: dict[Path, tuple[tuple[tuple[str, int, int, int, int], ...], str]] = {}


def host_added_cas(folder: Path | None = None) -> str:
    """The certificates (PEM) of the CAs this host's administrator added (SANDBOX_TRUST_HOST_CAS):
    behind a company's TLS-intercepting proxy that is where its CA is, and the host trusts it
    for everything already. Files that are unreadable, hold a private key or no valid
    certificate are skipped: an automatic default must not fail an attempt.

    Read again only when a file is added, removed or changed (kept per process otherwise), so
    a CA added while the worker runs is trusted from the next attempt on."""
    folder = folder or HOST_ADDED_CAS
    try:
        candidates = sorted(folder.rglob("*.crt"))
    except OSError:
        return ""
    listing = []
    for path in candidates:
        try:
            info = path.stat()
        except OSError:
            continue
        if stat.S_ISREG(info.st_mode):
            listing.append(
                (str(path), info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns))
    seen = tuple(listing)
    kept = _host_cas_read.get(folder)
    if kept is not None and kept[0] == seen:
        return kept[1]
    pem = _valid_certificates(Path(entry[0]) for entry in seen)
    _host_cas_read[folder] = (seen, pem)
    return pem


def _valid_certificates(files: Iterable[Path]) -> str:
    """The valid certificates in `files`, each once; bad files skipped (see host_added_cas)."""
    certs: list[str] = []
    for path in files:
        try:
            text = path.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError):
            continue
        if "PRIVATE KEY" in text:
            continue
        for cert in split_certificates(text):
            try:
                x509.load_pem_x509_certificate(cert.encode())
            except ValueError:
                continue
            if cert not in certs:
                certs.append(cert)
    return "".join(cert + "\n" for cert in certs)


def merge_certificates(*pems: str) -> str:
    """The certificates of every PEM text in `pems`, each once, in order."""
    merged: list[str] = []
    for pem in pems:
        for cert in split_certificates(pem):
            if cert not in merged:
                merged.append(cert)
    return "".join(cert + "\n" for cert in merged)


def split_certificates(pem: str) -> list[str]:
    """Each PEM certificate in `pem`, in order (tools such as keytool take one per file)."""
    return [m.group(0) for m in _PEM_CERT.finditer(pem)]


def check_upstream_proxy(url: str) -> str:
    """`url` (SANDBOX_UPSTREAM_PROXY) when it is `http(s)://[user:password@]host:port`; "" stays
    "". Raises SandboxError otherwise."""
    if not url:
        return ""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise SandboxError(f"SANDBOX_UPSTREAM_PROXY is not a URL: {exc}") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname or port is None:
        raise SandboxError(
            "SANDBOX_UPSTREAM_PROXY must look like http://proxy.example.com:3128 "
            "(optionally http://user:password@proxy.example.com:3128)"
        )
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise SandboxError("SANDBOX_UPSTREAM_PROXY must be only scheme, credentials, host and port")
    return url.rstrip("/")


def upstream_parts(url: str) -> tuple[str, str]:
    """(`scheme://host:port`, `user:password` or "") of a checked upstream proxy URL: mitmproxy
    takes the credentials as a separate option, kept out of its command line."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    auth = ""
    if parts.username is not None:
        auth = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
    return f"{parts.scheme}://{netloc}:{parts.port}", auth
