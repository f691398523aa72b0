"""Sandboxes reach public addresses only: the egress proxy refuses a name that resolves (here:
through the proxy's test-only name mapping, which is checked like DNS) or a literal address
that is loopback, private, a NAT64/6to4/IPv4-mapped form of one, or an address of the worker
host itself — even under "on" — and says which. SANDBOX_EGRESS_ALLOW_PRIVATE lists exceptions."""

from __future__ import annotations

import pytest

from tasks.sandbox.egress.addresses import host_addresses
from tests.support.egress_client import ALLOWED, LOOPBACK, REFUSED, send_request, tunnel_reply

PUBLIC_ONLY = "sandboxes reach public addresses only"


def get(host: str, path: str = "/") -> bytes:
    return f"GET http://{host}{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode()


@pytest.fixture(scope="module")
def unlisted(egress_proxy, web_target):
    """`on`, SANDBOX_EGRESS_ALLOW_PRIVATE unset; the allowed name maps to the loopback server,
    other names to embedded private addresses."""
    return egress_proxy(
        mode="on",
        resolve={
            ALLOWED: web_target.address,
            "nat64.test": "64:ff9b::a00:1:80",
            "nat64-loopback.test": "64:ff9b::7f00:1:80",
            "sixtofour.test": "2002:a00:1::1:80",
            "mapped.test": f"::ffff:127.0.0.1:{web_target.port}",
        },
    )


@pytest.fixture(scope="module")
def loopback_listed(egress_proxy, web_target):
    return egress_proxy(mode="on", allow_private=LOOPBACK, resolve={ALLOWED: web_target.address})


def test_loopback_is_refused_when_nothing_is_listed(unlisted, web_target):
    before = len(web_target.requests)
    reply = send_request(unlisted, get(ALLOWED, "/db"))
    assert reply.startswith("HTTP/1.1 403"), reply
    assert (
        f"{REFUSED} GET http://{ALLOWED}/db: {ALLOWED} resolves to 127.0.0.1, a loopback "
        f"address; {PUBLIC_ONLY}." in reply
    )
    literal = send_request(unlisted, get(f"127.0.0.1:{web_target.port}"))
    assert f"127.0.0.1 is a loopback address; {PUBLIC_ONLY}" in literal
    tunnel = tunnel_reply(unlisted, "127.0.0.1", web_target.port)
    assert tunnel.startswith("HTTP/1.1 403"), tunnel
    assert "127.0.0.1 is a loopback address" in tunnel
    assert web_target.requests[before:] == []
    assert any(
        r.host == ALLOWED and not r.allowed and "loopback" in r.reason for r in unlisted.records()
    )


def test_loopback_is_reached_when_listed(loopback_listed, web_target):
    reply = send_request(loopback_listed, get(ALLOWED, "/listed"))
    assert "hello from the allowed test domain" in reply, reply
    assert ("GET", ALLOWED, "/listed") in web_target.requests


@pytest.mark.parametrize(
    ("name", "said"),
    [
        ("nat64.test", "resolves to 64:ff9b::a00:1, a NAT64 address embedding 10.0.0.1, a private"),
        ("nat64-loopback.test", "resolves to 64:ff9b::7f00:1, a NAT64 address embedding 127.0.0.1"),
        ("sixtofour.test", "resolves to 2002:a00:1::1, a 6to4 address embedding 10.0.0.1"),
        ("mapped.test", "resolves to ::ffff:127.0.0.1, an IPv4-mapped address embedding 127.0"),
    ],
)
def test_names_resolving_to_embedded_private_addresses_are_refused(
    unlisted,
    web_target,
    name,
    said,
):
    before = len(web_target.requests)
    reply = send_request(unlisted, get(name))
    assert reply.startswith("HTTP/1.1 403"), reply
    assert f"{REFUSED} GET http://{name}/: {name} {said}" in reply
    assert web_target.requests[before:] == []


@pytest.mark.parametrize(
    ("literal", "said"),
    [
        ("[64:ff9b::a9fe:a9fe]", "a NAT64 address embedding 169.254.169.254, a link-local"),
        ("[2002:c0a8:101::1]", "a 6to4 address embedding 192.168.1.1, a private address"),
        ("[fd00::1]", "a unique local (private) address"),
        ("[::ffff:10.0.0.1]", "an IPv4-mapped address embedding 10.0.0.1"),
        ("100.64.0.1", "a carrier-grade NAT (shared) address"),
        ("169.254.169.254", "a link-local address"),
    ],
)
def test_literal_non_public_addresses_are_refused(unlisted, literal, said):
    reply = send_request(unlisted, get(literal))
    assert reply.startswith("HTTP/1.1 403"), reply
    assert f"{literal.strip('[]')} is {said}" in reply


def test_the_worker_hosts_own_address_is_refused_even_when_its_network_is_listed(
    egress_proxy,
    tcp_recorder,
):
    own = sorted((a for a in host_addresses() if a.version == 4 and not a.is_loopback), key=str)
    if not own:
        pytest.skip("this host has no IPv4 address besides loopback to aim at")
    address = str(own[0])
    service = tcp_recorder(host=address)  # a service of the worker host on that address
    everything = egress_proxy(mode="on", allow_private=("0.0.0.0/0", "::/0"))
    reply = send_request(everything, get(f"{address}:{service.port}", "/internal"))
    assert reply.startswith("HTTP/1.1 403"), reply
    assert f"{address} is an address of this worker host; {PUBLIC_ONLY}" in reply
    assert service.connections == 0
