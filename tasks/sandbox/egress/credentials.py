"""Credentials the egress proxy adds to matching requests, so the sandbox never holds them.

Stdlib only: the worker imports it (to write the proxy's credentials file) and the mitmproxy
addon loads it by path in `.venv-proxy` (`_load("credentials")`).

A credential is one header (`Authorization: Bearer …`, `X-Api-Key: …`, `Authorization: Basic
base64(user:password)`) for one domain pattern (`api.example.org` exact, `*.example.org` any
subdomain), optionally only under a path prefix, over HTTPS only unless `allow_http`. The proxy:

- replaces any header of that name the client sent (never appends, so the client can neither
  override the value nor learn it by comparison), and only when the request really goes to a
  matching host: the tunnel's own host, with a Host header (when present) naming that host too;
- strips every form of every credential (`redact`: the value, the token alone, base64 of
  user:password... computed by the worker, `tasks/sandbox/masking.secret_forms`) from every
  response header and body it can see, so an echoing server cannot hand the value back.

Requests to other hosts never get it: redirects are followed by the client, as new requests,
each matched again. The file the worker writes holds the values; its `repr` never does.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

KINDS = ("header", "bearer", "basic")
REDACTED = "[credential removed by codexweb]"
# Header names a credential may not set: they steer the proxy or the connection itself.
FORBIDDEN_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "upgrade",
        "te",
        "trailer",
        "keep-alive",
        "proxy-connection",
        "proxy-authorization",
        "x-http-method-override",
        "x-http-method",
        "x-method-override",
    }
)
_TOKEN_CHARS = set("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


class CredentialError(ValueError):
    """A credential that cannot be used; the message is for a person."""


@dataclass(frozen=True)
class EgressCredential:
    """One header the proxy adds for one domain. `redact`: every string to strip from responses
    (filled by the worker; at least `value` and the secret parts it was made from)."""

    id: int
    domain: str
    header: str
    value: str = field(repr=False)
    path_prefix: str = "/"
    allow_http: bool = False
    redact: tuple[str, ...] = field(default=(), repr=False)

    def __post_init__(self) -> None:
        check_header_name(self.header)
        check_header_value(self.value)
        if not self.path_prefix.startswith("/"):
            raise CredentialError("A path prefix starts with '/'.")

    def secret_parts(self) -> tuple[str, ...]:
        """The strings whose every form must never reach the sandbox: the header value and,
        for the usual schemes, the token or the decoded user:password inside it."""
        parts = [self.value]
        scheme, _, rest = self.value.partition(" ")
        if rest and scheme.lower() == "bearer":
            parts.append(rest.strip())
        elif rest and scheme.lower() == "basic":
            parts.append(rest.strip())
            try:
                decoded = base64.b64decode(rest.strip(), validate=True).decode()
            except ValueError:
                decoded = ""
            user, sep, password = decoded.partition(":")
            if sep and password:
                parts += [decoded, password]
        return tuple(dict.fromkeys(p for p in parts if p))

    def to_json(self) -> dict[str, object]:
        """Every field, as `from_json` reads them back."""
        return dict(dataclasses.asdict(self), redact=list(self.redact))

    @classmethod
    def from_json(cls, raw: dict[str, object]) -> EgressCredential:
        return cls(
            id=int(str(raw["id"])),
            domain=str(raw["domain"]),
            header=str(raw["header"]),
            value=str(raw["value"]),
            path_prefix=str(raw.get("path_prefix") or "/"),
            allow_http=bool(raw.get("allow_http", False)),
            redact=tuple(str(r) for r in raw.get("redact") or ()),  # type: ignore[attr-defined]
        )


def header_for(kind: str, *, name: str = "", value: str = "", user: str = "",
               password: str = "") -> tuple[str, str]:
    """(header name, header value) for a credential of `kind`: "header" (name and value as
    given), "bearer" (`Authorization: Bearer value`) or "basic" (`Authorization: Basic
    base64(user:password)`). CredentialError with a sentence when a part is missing or unusable."""
    if kind == "header":
        if not name.strip() or not value:
            raise CredentialError("A header credential needs a header name and a value.")
        header, text = name.strip(), value
    elif kind == "bearer":
        if not value.strip():
            raise CredentialError("Enter the bearer token.")
        header, text = "Authorization", f"Bearer {value.strip()}"
    elif kind == "basic":
        if not user or not password:
            raise CredentialError("Basic auth needs a user name and a password.")
        if ":" in user:
            raise CredentialError("A basic-auth user name cannot contain ':'.")
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        header, text = "Authorization", f"Basic {token}"
    else:
        raise CredentialError(f"Unknown credential kind {kind!r} (one of {', '.join(KINDS)}).")
    check_header_name(header)
    check_header_value(text)
    return header, text


def check_header_name(name: str) -> None:
    if not name or any(c not in _TOKEN_CHARS for c in name):
        raise CredentialError(f"{name!r} is not a usable header name (letters, digits and -).")
    if name.lower() in FORBIDDEN_HEADERS:
        raise CredentialError(f"The {name} header cannot carry a credential.")


def check_header_value(value: str) -> None:
    if not value or any(c in value for c in "\r\n\0"):
        raise CredentialError("A header value cannot be empty or hold line breaks.")


def write_file(path: Path, credentials: Iterable[EgressCredential]) -> None:
    """Write `credentials` for the proxy, readable by this user only (created 0600, never
    replaced in place, so no other mode is ever seen)."""
    data = json.dumps([c.to_json() for c in credentials]).encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def read_file(path: str | Path) -> tuple[EgressCredential, ...]:
    raw = json.loads(Path(path).read_text())
    return tuple(EgressCredential.from_json(item) for item in raw)


Matcher = Callable[[str, str], bool]  # (pattern, host) -> whether the pattern matches


def for_domain(
    credentials: Iterable[EgressCredential], host: str, matches: Matcher
) -> list[EgressCredential]:
    """The credentials whose domain pattern matches `host`."""
    return [c for c in credentials if matches(c.domain, host)]


def for_request(
    credentials: Iterable[EgressCredential],
    *,
    host: str,
    host_header: str | None,
    https: bool,
    path: str,
    matches: Matcher,
    same_host: Matcher,
) -> list[EgressCredential]:
    """The credentials to add to one request going to `host` (the host the proxy connects to:
    a tunnel's host, or a plain request's): the domain matches, HTTPS (or the credential
    allows HTTP), the path is under its prefix, and the Host header — which a server hosting
    several names routes by — names the same host. One per header name: the most specific
    (exact domain before wildcard, then the longest path prefix)."""
    if host_header and not same_host(host_header, host):
        return []
    chosen: dict[str, EgressCredential] = {}
    path_only = path.split("?", 1)[0]
    for credential in credentials:
        if not matches(credential.domain, host) or not (https or credential.allow_http):
            continue
        if not _under(path_only, credential.path_prefix):
            continue
        key = credential.header.lower()
        if key not in chosen or _rank(credential) > _rank(chosen[key]):
            chosen[key] = credential
    return list(chosen.values())


def _under(path: str, prefix: str) -> bool:
    if prefix in ("", "/"):
        return True
    return path == prefix.rstrip("/") or path.startswith(prefix.rstrip("/") + "/")


def _rank(credential: EgressCredential) -> tuple[bool, int]:
    return (not credential.domain.startswith("*."), len(credential.path_prefix))


def redact_forms(credentials: Iterable[EgressCredential]) -> tuple[bytes, ...]:
    """Every string to strip from responses, as bytes, longest first."""
    forms = {r for c in credentials for r in (*c.redact, *c.secret_parts()) if r}
    return tuple(sorted((f.encode() for f in forms), key=len, reverse=True))


def redact(data: bytes, forms: Iterable[bytes]) -> tuple[bytes, bool]:
    """`data` with every form replaced; and whether anything was."""
    found = False
    for form in forms:
        if form in data:
            found = True
            data = data.replace(form, REDACTED.encode())
    return data, found



class Injector:
    """The proxy's side, on mitmproxy's flow objects (duck-typed: this module imports nothing
    of mitmproxy). `matches`/`same_host` are the policy's own host rules."""

    def __init__(
        self, credentials: Iterable[EgressCredential], *, matches: Matcher, same_host: Matcher
    ) -> None:
        self.credentials = tuple(credentials)
        self.matches = matches
        self.same_host = same_host
        self.forms = redact_forms(self.credentials)

    def intercepts(self, host: str) -> bool:
        """Whether TLS to `host` must be decrypted: some credential may be added there."""
        return bool(for_domain(self.credentials, host, self.matches))

    def add_to(self, flow: object, tunnel: tuple[str, int] | None) -> list[EgressCredential]:
        """Put the matching credentials into an allowed request (replacing any header of the
        same name the client sent); returns those added."""
        request = flow.request  # type: ignore[attr-defined]
        if tunnel is not None:
            host, https = tunnel[0], bool(flow.client_conn.tls)  # type: ignore[attr-defined]
        else:
            host, https = request.host, request.scheme == "https"
        chosen = for_request(
            self.credentials,
            host=host,
            host_header=request.host_header,
            https=https,
            path=request.path,
            matches=self.matches,
            same_host=self.same_host,
        )
        for credential in chosen:
            request.headers.pop(credential.header, None)  # every spelling, every copy
            request.headers[credential.header] = credential.value
        return chosen

    def strip(self, response: object) -> bool:
        """Remove every form of every credential from a response's headers and body; whether
        anything was removed."""
        if not self.forms or response is None:
            return False
        found = False
        fields = []
        for name, value in response.headers.fields:  # type: ignore[attr-defined]
            new_name, hit_name = redact(name, self.forms)
            new_value, hit_value = redact(value, self.forms)
            found = found or hit_name or hit_value
            fields.append((new_name, new_value))
        if found:
            response.headers.fields = tuple(fields)  # type: ignore[attr-defined]
        body = response.get_content(strict=False)  # type: ignore[attr-defined]
        if body:
            new_body, hit = redact(body, self.forms)
            if hit:
                response.content = new_body  # type: ignore[attr-defined]
                found = True
        return found

    def strip_message(self, message: object) -> bool:
        """The same for a WebSocket message from the server (an upgraded echo)."""
        if not self.forms or getattr(message, "from_client", True):
            return False
        content, hit = redact(message.content, self.forms)  # type: ignore[attr-defined]
        if hit:
            message.content = content  # type: ignore[attr-defined]
        return hit
