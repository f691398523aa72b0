"""Where a webhook may point: http(s) URLs whose host resolves only to public addresses, or to
networks the operator lists in WEBHOOK_ALLOW_PRIVATE (an internal chat bridge: 10.20.0.0/16).

A team admin chooses the URL, and the worker host sits next to the database, Redis and the
Docker API, so a webhook must not become a way to reach them (SSRF). The address rules are the
sandbox egress proxy's (`tasks/sandbox/egress/addresses.py`); the host is resolved when the URL
is added and again for each delivery, and the delivery connects to the address that was checked
(a name that resolves elsewhere a moment later changes nothing). Redirects are never followed.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from tasks.sandbox.egress.addresses import IPNetwork, host_addresses, parse_networks, refusal

MAX_URL_LENGTH = 2000


class DestinationRefused(ValueError):
    """The URL may not receive webhooks; the message says why, for a person."""


@dataclass(frozen=True)
class Destination:
    """A checked URL: connect to `address`:`port`, send `host` (TLS name and Host header)."""

    scheme: str
    host: str
    port: int
    address: str
    target: str  # path and query


def url_check(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path+query) of an http(s) URL; DestinationRefused otherwise."""
    if len(url) > MAX_URL_LENGTH:
        raise DestinationRefused(f"The URL is longer than {MAX_URL_LENGTH} characters.")
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise DestinationRefused(f"That is not a valid URL ({exc}).") from exc
    if parts.scheme not in ("http", "https"):
        raise DestinationRefused("Webhook URLs must start with http:// or https://.")
    if not parts.hostname:
        raise DestinationRefused("The URL names no host.")
    if parts.username or parts.password:
        raise DestinationRefused(
            "Put no user name or password in the URL; receivers check the signature instead."
        )
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), target


def resolve(url: str, *, allowed: Iterable[str] = ()) -> Destination:
    """Check `url` and pick the address to connect to. Every address the host resolves to must
    be public or in `allowed` (networks as text); DestinationRefused says which one is not."""
    scheme, host, port, target = url_check(url)
    networks: tuple[IPNetwork, ...] = parse_networks(allowed)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise DestinationRefused(f"The host {host} could not be resolved.") from exc
    addresses = list(dict.fromkeys(str(info[4][0]).split("%", 1)[0] for info in infos))
    if not addresses:
        raise DestinationRefused(f"The host {host} could not be resolved.")
    own = host_addresses()
    for address in addresses:
        why = refusal(ipaddress.ip_address(address), allowed=networks, own=own)
        if why is not None:
            raise DestinationRefused(
                f"{host} resolves to {address}, {why}; webhooks may reach only public "
                "addresses unless the operator lists the network in WEBHOOK_ALLOW_PRIVATE."
            )
    return Destination(scheme=scheme, host=host, port=port, address=addresses[0], target=target)
