"""A network that sends all traffic through an intercepting gateway: public names resolve to a
non-public address here (a company proxy, or this lab's documentation-range one), and a sandbox
allowed to reach PyPI must reach that address, or every `pip install` is refused.

The addresses well-known public registry names resolve to on this host
(SANDBOX_EGRESS_GATEWAY_NAMES) are that gateway: the host's resolver is trusted, an attempt
cannot change what it answers for `pypi.org`. Only private-kind blocks qualify; loopback,
link-local (cloud metadata), multicast, unspecified and this host's own addresses never do,
whatever a name resolves to.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Callable, Collection, Iterable

from tasks.sandbox.egress.addresses import IPAddress, classify

# The kinds of non-public address a gateway may have (the phrases `classify` gives).
GATEWAY_KINDS = frozenset({
    "a private address",
    "a documentation address",
    "a carrier-grade NAT (shared) address",
    "a benchmarking address",
    "a unique local (private) address",
})

Resolve = Callable[[str], list[str]]


def _resolve(name: str) -> list[str]:
    infos = socket.getaddrinfo(name, 443, proto=socket.IPPROTO_TCP)
    return [str(info[4][0]) for info in infos]


def gateway_networks(
    names: Iterable[str],
    *,
    own: Collection[IPAddress] = (),
    resolve: Resolve = _resolve,
    timeout: float = 3.0,
) -> tuple[str, ...]:
    """Single-address networks ("203.0.113.80/32") of the gateway the public `names` resolve to
    on this host; () on a normal network (public answers), when nothing resolves, or when the
    resolver does not answer within `timeout` seconds (the lookups run in parallel threads that
    are left behind, never waited on longer)."""
    found: dict[str, list[str]] = {}

    def look_up(name: str) -> None:
        try:
            found[name] = resolve(name)
        except (OSError, UnicodeError):
            found[name] = []

    threads = [threading.Thread(target=look_up, args=(name,), daemon=True) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)  # bounded in total by the slowest: they run at the same time
    networks: list[str] = []
    for addresses in list(found.values()):
        for address in addresses:
            try:
                ip = ipaddress.ip_address(address.split("%", 1)[0])
            except ValueError:
                continue
            if classify(ip, own) in GATEWAY_KINDS:
                network = f"{ip}/{ip.max_prefixlen}"
                if network not in networks:
                    networks.append(network)
    return tuple(networks)
