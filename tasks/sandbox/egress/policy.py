"""The egress decision, as a pure function of the policy and one request.

Stdlib only: this module is loaded both by the worker and by the mitmproxy addon, which runs in
its own virtual environment (`.venv-proxy`).

Domain patterns: `example.org` matches that host only; `*.example.org` matches any subdomain of
it (not `example.org` itself). Matching is case-insensitive and ignores a trailing dot. A pattern
that is an IP address matches that literal address only. Named lists (`@name`) are expanded by
the caller before a policy is written (see `expand_domains`).
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

MODES = ("off", "allowlist", "on")
# The methods a repository can allow (repos/domains.HTTP_METHODS). An allowlist allowing all of
# them is "method-unrestricted": its HTTPS is passed through, checked by host only.
ALL_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str


@dataclass(frozen=True)
class EgressRules:
    """What the proxy enforces for one phase of one attempt."""

    mode: str
    domains: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()
    # name -> "ip:port": tests map an allowed test name to a loopback server this way.
    resolve: Mapping[str, str] = field(default_factory=dict)
    # Whether names may resolve to loopback, private or link-local addresses. Off by default:
    # otherwise "on" would open the host's own services (database, Redis, Docker) to the sandbox.
    allow_private: bool = False
    # Whether HTTPS to allowed hosts is decrypted with the proxy's per-attempt CA so each
    # request's method and host can be checked (`needs_tls_interception`); else passed through.
    intercept_tls: bool = False

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"egress mode must be one of {', '.join(MODES)}, not {self.mode!r}")
        for pattern in self.domains:
            check_pattern(pattern)

    def to_json(self) -> str:
        return json.dumps(
            {
                "mode": self.mode,
                "domains": list(self.domains),
                "methods": [m.upper() for m in self.methods],
                "resolve": dict(self.resolve),
                "allow_private": self.allow_private,
                "intercept_tls": self.intercept_tls,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> EgressRules:
        raw = json.loads(text)
        return cls(
            mode=raw["mode"],
            domains=tuple(raw.get("domains", ())),
            methods=tuple(m.upper() for m in raw.get("methods", ())),
            resolve=dict(raw.get("resolve", {})),
            allow_private=bool(raw.get("allow_private", False)),
            intercept_tls=bool(raw.get("intercept_tls", False)),
        )

    @classmethod
    def from_file(cls, path: str | Path) -> EgressRules:
        return cls.from_json(Path(path).read_text())


def needs_tls_interception(mode: str, methods: Iterable[str]) -> bool:
    """Whether a phase with this mode and these allowed methods must intercept TLS to enforce
    its methods: an allowlist that does not allow every method. `on` and method-unrestricted
    allowlists are enforced by host alone, so their HTTPS is passed through untouched."""
    return mode == "allowlist" and not {m.upper() for m in methods} >= ALL_METHODS


def resolve_target(resolve: Mapping[str, str], host: str, port: int) -> str | None:
    """The "ip:port" a name is mapped to (tests only): `name:port` first, then `name`."""
    name = normalize_host(host)
    return resolve.get(f"{name}:{port}") or resolve.get(name)


def same_host(a: str, b: str) -> bool:
    """Whether two host names (or a Host header, with an optional port) name the same host."""
    return normalize_host(_strip_port(a)) == normalize_host(_strip_port(b))


def _strip_port(host: str) -> str:
    host = host.strip()
    if host.startswith("["):
        return host[: host.find("]") + 1] if "]" in host else host
    if host.count(":") == 1:
        return host.split(":", 1)[0]
    return host


def normalize_host(host: str) -> str:
    host = host.strip().lower().rstrip(".")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host


def check_pattern(pattern: str) -> None:
    """Raise ValueError when `pattern` is not an exact host, `*.suffix` or an IP address."""
    p = normalize_host(pattern)
    if not p:
        raise ValueError("an empty domain pattern is not allowed")
    body = p[2:] if p.startswith("*.") else p
    bad = "*" in body or "/" in body or " " in body or (":" in body and not is_ip(body))
    if bad:
        raise ValueError(
            f"domain pattern {pattern!r} must be a host name, '*.' followed by one, "
            "or an IP address"
        )
    if p.startswith("*.") and "." not in body:
        raise ValueError(f"domain pattern {pattern!r} is too broad: name at least two labels")


def is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def domain_matches(pattern: str, host: str) -> bool:
    p, h = normalize_host(pattern), normalize_host(host)
    if p.startswith("*."):
        suffix = p[1:]  # ".example.org"
        return h.endswith(suffix) and len(h) > len(suffix) and not is_ip(h)
    return p == h


def decide(rules: EgressRules, host: str, method: str) -> Decision:
    """Whether one request may leave. `method` is "CONNECT" for a tunnel, decided by host only;
    the requests inside it are decided again one by one when the proxy can see them (plain HTTP,
    or HTTPS when the rules intercept TLS)."""
    method = method.upper()
    h = normalize_host(host)
    if rules.mode == "off":
        return Decision(False, "internet access is off for this sandbox")
    if rules.mode == "on":
        return Decision(True, "internet access is on")
    if not any(domain_matches(p, h) for p in rules.domains):
        return Decision(False, f"domain {h!r} is not on this repository's allowlist")
    if method != "CONNECT" and method not in rules.methods:
        allowed = ", ".join(rules.methods) or "none"
        return Decision(False, f"method {method} is not allowed (allowed: {allowed})")
    return Decision(True, "domain is on the allowlist")


def address_is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global


def expand_domains(
    entries: Iterable[str], named_lists: Mapping[str, Iterable[str]]
) -> tuple[str, ...]:
    """Replace `@name` entries with the named list's domains; raise ValueError for unknown names."""
    out: list[str] = []
    for entry in entries:
        entry = entry.strip()
        if not entry:
            continue
        if entry.startswith("@"):
            name = entry[1:]
            if name not in named_lists:
                raise ValueError(f"unknown domain list {name!r}")
            out.extend(d.strip() for d in named_lists[name] if d.strip())
        else:
            out.append(entry)
    for pattern in out:
        check_pattern(pattern)
    return tuple(dict.fromkeys(out))
