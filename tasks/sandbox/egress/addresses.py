"""Which destination addresses a sandbox may reach: the classification is pure; collecting the
worker host's own addresses reads `/proc` once, when a proxy starts.

Stdlib only: loaded by the worker and by the mitmproxy addon (`.venv-proxy`).

Python's `ipaddress.is_global` is not enough on its own: on 3.11 it calls multicast, NAT64
(`64:ff9b::/96`), 6to4 (`2002::/16`) and IPv4-compatible addresses global, although the last
three carry an IPv4 address a translator or relay delivers to — `64:ff9b::a00:1` is 10.0.0.1.
So embedded IPv4 addresses are unwrapped and judged themselves, and every special-purpose block
(RFC 6890 registries) is named, so a refusal can say what the address is.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Collection, Iterable
from pathlib import Path

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_N = ipaddress.ip_network

# Non-public blocks and what to call them; the first match wins (more specific first).
_SPECIAL: tuple[tuple[IPNetwork, str], ...] = (
    (_N("0.0.0.0/8"), "an unspecified ('this network') address"),
    (_N("10.0.0.0/8"), "a private address"),
    (_N("100.64.0.0/10"), "a carrier-grade NAT (shared) address"),
    (_N("127.0.0.0/8"), "a loopback address"),
    (_N("169.254.0.0/16"), "a link-local address"),
    (_N("172.16.0.0/12"), "a private address"),
    (_N("192.0.0.0/24"), "an IETF protocol address"),
    (_N("192.0.2.0/24"), "a documentation address"),
    (_N("192.88.99.0/24"), "a 6to4 relay address"),
    (_N("192.168.0.0/16"), "a private address"),
    (_N("198.18.0.0/15"), "a benchmarking address"),
    (_N("198.51.100.0/24"), "a documentation address"),
    (_N("203.0.113.0/24"), "a documentation address"),
    (_N("224.0.0.0/4"), "a multicast address"),
    (_N("240.0.0.0/4"), "a reserved address"),
    (_N("::/128"), "the unspecified address"),
    (_N("::1/128"), "a loopback address"),
    (_N("64:ff9b:1::/48"), "a local-use NAT64 address"),
    (_N("100::/64"), "a discard-only address"),
    (_N("2001::/32"), "a Teredo address"),
    (_N("2001:db8::/32"), "a documentation address"),
    (_N("fc00::/7"), "a unique local (private) address"),
    (_N("fe80::/10"), "a link-local address"),
    (_N("fec0::/10"), "a site-local address"),
    (_N("ff00::/8"), "a multicast address"),
)
_NAT64 = _N("64:ff9b::/96")
_COMPATIBLE = _N("::/96")  # deprecated IPv4-compatible addresses (::a.b.c.d)


def embedded_ipv4(ip: IPAddress) -> tuple[str, ipaddress.IPv4Address] | None:
    """(what kind of embedding, the IPv4 address) for an IPv6 address that carries one a host,
    translator or relay delivers to: IPv4-mapped, IPv4-compatible, NAT64 (well-known prefix)
    and 6to4. None for everything else, IPv4 addresses included."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return "an IPv4-mapped address", ip.ipv4_mapped
    if ip.sixtofour is not None:
        return "a 6to4 address", ip.sixtofour
    low32 = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in _NAT64:
        return "a NAT64 address", low32
    if ip in _COMPATIBLE and int(ip) > 1:
        return "an IPv4-compatible address", low32
    return None


def _kind(ip: IPAddress) -> str | None:
    for network, name in _SPECIAL:
        if ip.version == network.version and ip in network:
            return name
    if not ip.is_global:  # whatever the standard library knows that the table does not
        return "a non-public address"
    return None


def classify(address: str | IPAddress, own: Collection[IPAddress] = ()) -> str | None:
    """None when `address` is a public unicast address of another host; otherwise what it is,
    as a phrase for a refusal ("a loopback address", "a NAT64 address embedding 10.0.0.1, a
    private address", "an address of this worker host"). `own` holds the worker host's own
    addresses (`host_addresses()`); they are never public, whatever block they are in.
    Raises ValueError when `address` is not an IP address."""
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    embedded = embedded_ipv4(ip)
    if embedded is not None:
        how, inner = embedded
        inner_kind = classify(inner, own)
        return f"{how} embedding {inner}, {inner_kind}" if inner_kind else None
    if ip in own and not ip.is_loopback:
        return "an address of this worker host"
    return _kind(ip)


def refusal(
    address: str | IPAddress,
    *,
    allowed: Iterable[IPNetwork] = (),
    own: Collection[IPAddress] = (),
) -> str | None:
    """Why a sandbox may not reach `address` (see `classify`), or None when it may. A non-public
    address is let through when it, or the IPv4 address it embeds, is in one of the `allowed`
    networks (SANDBOX_EGRESS_ALLOW_PRIVATE) — except the worker host's own non-loopback
    addresses, which no listed network opens (its database, Redis, Docker API listen there)."""
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    why = classify(ip, own)
    if why is None:
        return None
    embedded = embedded_ipv4(ip)
    candidates: list[IPAddress] = [ip] if embedded is None else [ip, embedded[1]]
    if any(c in own and not c.is_loopback for c in candidates):
        return why
    networks = tuple(allowed)
    if any(c.version == n.version and c in n for c in candidates for n in networks):
        return None
    return why


def parse_networks(entries: Iterable[str]) -> tuple[IPNetwork, ...]:
    """Networks from text ("10.20.0.0/16", "fd00::/8", a bare address for one host); raises
    ValueError naming the entry that is not one."""
    out: list[IPNetwork] = []
    for entry in entries:
        text = entry.strip()
        if not text:
            continue
        try:
            out.append(ipaddress.ip_network(text, strict=False))
        except ValueError as exc:
            raise ValueError(
                f"{text!r} is not a network (write it like 10.20.0.0/16 or fd00::/8)"
            ) from exc
    return tuple(out)


def host_addresses(proc: Path = Path("/proc/net")) -> frozenset[IPAddress]:
    """Every address of this host's interfaces (Linux: IPv4 from `fib_trie`'s local /32 routes,
    IPv6 from `if_inet6`), plus what its own name resolves to. Read once per proxy start."""
    found: set[IPAddress] = set()
    try:
        last = ""
        for line in (proc / "fib_trie").read_text().splitlines():
            text = line.strip()
            if text.startswith("|--"):
                last = text[3:].strip()
            elif text.startswith("/32 host LOCAL") and last:
                found.add(ipaddress.ip_address(last))
    except (OSError, ValueError):
        pass
    try:
        for line in (proc / "if_inet6").read_text().splitlines():
            raw = line.split()[0] if line.split() else ""
            if len(raw) == 32:
                found.add(ipaddress.IPv6Address(int(raw, 16)))
    except (OSError, ValueError):
        pass
    try:
        for info in socket.getaddrinfo(socket.gethostname(), None, type=socket.SOCK_STREAM):
            found.add(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]))
    except (OSError, ValueError):
        pass
    return frozenset(found)
