"""The egress decision, as a pure function of the policy and one request.

Stdlib only: this module is loaded both by the worker and by the mitmproxy addon, which runs in
its own virtual environment (`.venv-proxy`).

Domain patterns: `example.org` matches that host only; `*.example.org` matches any subdomain of
it (not `example.org` itself). Matching is case-insensitive and ignores a trailing dot. A pattern
that is an IP address matches that literal address only. Named lists (`@name`) are expanded by
the caller before a policy is written (see `expand_domains`).

Ports: an allowlist lets tunnels and plain HTTP reach only `EgressRules.ports` (80 and 443
unless SANDBOX_EGRESS_PORTS says otherwise). Method-override headers (`X-HTTP-Method-Override`
and its cousins) are judged like the method they name. A request that asks to switch protocols
(`Upgrade`) would leave the proxy a channel it no longer judges request by request: under an
allowlist only a websocket may, and only where POST is allowed (its messages carry what a POST
body would); any other protocol is refused. Which addresses may be reached is decided in
`addresses.py`.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

MODES = ("off", "allowlist", "on")
# The one list of HTTP methods a repository can allow, in the order forms show them (repos
# imports it from here: this module must stay stdlib-only). An allowlist allowing all of them is
# "method-unrestricted": its HTTPS is passed through, checked by host only.
HTTP_METHODS = ("GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE")
ALL_METHODS = frozenset(HTTP_METHODS)
DEFAULT_PORTS = (80, 443)
# Headers many frameworks (Rails, Laravel, Symfony, ASP.NET, Express's method-override...) read
# as "treat this request as METHOD": a GET carrying one is a POST to them.
METHOD_OVERRIDE_HEADERS = ("X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override")


class Decision(NamedTuple):
    """One request's verdict and the reason the log shows for it."""

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
    # Non-public networks names may still resolve to ("10.20.0.0/16"; SANDBOX_EGRESS_ALLOW_PRIVATE).
    # None by default: otherwise "on" would open the host's own services (database, Redis,
    # Docker) to the sandbox. Tests list 127.0.0.0/8 to reach their loopback servers.
    allow_private: tuple[str, ...] = ()
    # The destination ports an allowlist lets tunnels and plain HTTP reach; under "on", the ports
    # a tunnel carrying neither TLS nor HTTP (raw TCP) may reach.
    ports: tuple[int, ...] = DEFAULT_PORTS
    # Whether HTTPS to allowed hosts is decrypted with the proxy's per-attempt CA so each
    # request's method and host can be checked (`needs_tls_interception`); else passed through.
    intercept_tls: bool = False

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"egress mode must be one of {', '.join(MODES)}, not {self.mode!r}")
        for pattern in self.domains:
            check_pattern(pattern)
        for network in self.allow_private:
            ipaddress.ip_network(network, strict=False)  # ValueError when it is not one
        for port in self.ports:
            if not 0 < port < 65536:
                raise ValueError(f"port {port} is not between 1 and 65535")

    def to_json(self) -> str:
        return json.dumps(
            {
                "mode": self.mode,
                "domains": list(self.domains),
                "methods": [m.upper() for m in self.methods],
                "resolve": dict(self.resolve),
                "allow_private": list(self.allow_private),
                "ports": list(self.ports),
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
            allow_private=tuple(raw.get("allow_private", ())),
            ports=tuple(int(p) for p in raw.get("ports", DEFAULT_PORTS)),
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


def decide(
    rules: EgressRules,
    host: str,
    method: str,
    *,
    port: int | None = None,
    overrides: Iterable[tuple[str, str]] = (),
    upgrade: str = "",
) -> Decision:
    """Whether one request may leave. `method` is "CONNECT" for a tunnel, decided by host and
    port only; the requests inside it are decided again one by one when the proxy can see them
    (plain HTTP, or HTTPS when the rules intercept TLS). `port` None skips the port check (the
    tunnel's port was checked at CONNECT). `overrides`: (header name, value) of the request's
    method-override headers (`method_overrides`); each named method must be allowed too.
    `upgrade`: the request's `Upgrade` header ("" without one)."""
    method = method.upper()
    h = normalize_host(host)
    if rules.mode == "off":
        return Decision(False, "internet access is off for this sandbox")
    if rules.mode == "on":
        return Decision(True, "internet access is on")
    if not any(domain_matches(p, h) for p in rules.domains):
        return Decision(False, f"domain {h!r} is not on this repository's allowlist")
    if port is not None and port not in rules.ports:
        return Decision(False, f"port {port} is not allowed (allowed: {_listed(rules.ports)})")
    if method != "CONNECT" and method not in rules.methods:
        return Decision(
            False, f"method {method} is not allowed (allowed: {_listed(rules.methods)})"
        )
    for name, value in overrides:
        for named in (v.strip().upper() for v in value.split(",")):
            if named and named not in rules.methods:
                return Decision(
                    False,
                    f"the {name} header asks for method {named}, which is not allowed "
                    f"(allowed: {_listed(rules.methods)})",
                )
    refused = upgrade_refusal(rules, upgrade)
    if refused is not None:
        return refused
    return Decision(True, "domain is on the allowlist")


def upgrade_refusal(rules: EgressRules, upgrade: str) -> Decision | None:
    """The refusal of a switch to the protocols `upgrade` names (an `Upgrade` header, of the
    request or of a server's 101 answer), or None when it may happen: always under "on"; under
    an allowlist only a websocket, where POST is allowed."""
    protocols = [p.strip().lower() for p in upgrade.split(",") if p.strip()]
    if rules.mode != "allowlist" or not protocols:
        return None
    if protocols == ["websocket"] and "POST" in rules.methods:
        return None
    return Decision(
        False,
        f"switching to {', '.join(protocols)} opens a two-way channel the proxy cannot judge; "
        "under an allowlist only a websocket may, where POST is allowed",
    )


def method_overrides(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The method-override headers among `headers` (name, value pairs, any case), each under
    its usual spelling, in the order they came."""
    spelled = {name.lower(): name for name in METHOD_OVERRIDE_HEADERS}
    return [(spelled[k.lower()], v) for k, v in headers if k.lower() in spelled]


def raw_tunnel_decision(rules: EgressRules, port: int) -> Decision:
    """Whether an allowed tunnel may carry bytes that are neither TLS nor HTTP (ssh, smtp, a
    database protocol...). Under an allowlist never: only requests the proxy can check leave.
    Under "on", only to the allowed ports (80 and 443 by default), so "on" means the web, not
    every TCP service on the internet."""
    if rules.mode == "on" and port in rules.ports:
        return Decision(True, "internet access is on")
    why = (
        "only HTTP and TLS may pass under an allowlist"
        if rules.mode != "on"
        else f"raw TCP may only reach ports {_listed(rules.ports)}"
    )
    return Decision(False, f"the tunnel carries neither TLS nor HTTP; {why}")


def _listed(items: Iterable[object]) -> str:
    return ", ".join(str(i) for i in items) or "none"


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
