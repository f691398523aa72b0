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

import dataclasses
import ipaddress
import logging
import socket
import threading
import time
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

logger = logging.getLogger(__name__)


def _resolve(name: str) -> list[str]:
    infos = socket.getaddrinfo(name, 443, proto=socket.IPPROTO_TCP)
    return [str(info[4][0]) for info in infos]


@dataclasses.dataclass(frozen=True)
class GatewayDetection:
    """What one detection found: the gateway's `networks`, and whether the resolver `answered`
    for any name at all (if not, () says nothing about this network: ask again later)."""

    networks: tuple[str, ...]
    answered: bool


def detect_gateway(
    names: Iterable[str],
    *,
    own: Collection[IPAddress] = (),
    resolve: Resolve = _resolve,
    timeout: float = 3.0,
) -> GatewayDetection:
    """Single-address networks ("203.0.113.80/32") of the gateway the public `names` resolve to
    on this host: none on a normal network (public answers), when nothing resolves, or when the
    resolver does not answer within `timeout` seconds (the lookups run in parallel threads that
    are left behind, never waited on longer); and whether any name was answered."""
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
    answers = list(found.values())
    networks: list[str] = []
    for addresses in answers:
        for address in addresses:
            try:
                ip = ipaddress.ip_address(address.split("%", 1)[0])
            except ValueError:
                continue
            if classify(ip, own) in GATEWAY_KINDS:
                network = f"{ip}/{ip.max_prefixlen}"
                if network not in networks:
                    networks.append(network)
    return GatewayDetection(tuple(networks), answered=any(answers))


class DetectedGateway:
    """The gateway for a tuple of names, detected once per process and kept while it holds: an
    answer (a gateway, or public addresses: no gateway) is kept for good, but a detection no
    name answered (the resolver down or stuck when the worker started) is tried again after
    `retry_seconds`, so a worker does not go without its gateway for its whole life."""

    def __init__(
        self,
        *,
        own: Callable[[], Collection[IPAddress]] = tuple,
        resolve: Resolve = _resolve,
        retry_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._own = own
        self._resolve = resolve
        self._retry_seconds = retry_seconds
        self._clock = clock
        self._lock = threading.Lock()
        # names -> (detection, when it was made)
        self._detections: dict[tuple[str, ...], tuple[GatewayDetection, float]] = {}

    def networks(self, names: tuple[str, ...]) -> tuple[str, ...]:
        """The gateway's networks for `names` (() when none is known yet)."""
        if not names:
            return ()
        with self._lock:  # one lookup at a time; others wait for it rather than repeat it
            kept = self._detections.get(names)
            if kept is not None:
                detection, at = kept
                if detection.answered or self._clock() - at < self._retry_seconds:
                    return detection.networks
            detection = detect_gateway(names, own=self._own(), resolve=self._resolve)
            self._detections[names] = (detection, self._clock())
        if detection.networks:
            logger.info("public names resolve to %s here: sandboxes may reach it",
                        ", ".join(detection.networks))
        elif not detection.answered:
            logger.warning("none of %s resolved here; looking for a gateway again in %.0f s",
                           ", ".join(names), self._retry_seconds)
        return detection.networks
