"""Which addresses a sandbox may reach through the egress proxy (pure; no proxy, no Docker)."""

from __future__ import annotations

import ipaddress
import subprocess

import pytest

from tasks.sandbox.egress.addresses import (
    classify,
    embedded_ipv4,
    host_addresses,
    parse_networks,
    refusal,
)

OWN = frozenset({ipaddress.ip_address("8.8.4.4"), ipaddress.ip_address("2001:4860::8844")})


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "a loopback address"),
        ("127.1.2.3", "a loopback address"),
        ("::1", "a loopback address"),
        ("10.1.2.3", "a private address"),
        ("172.16.0.1", "a private address"),
        ("192.168.1.1", "a private address"),
        ("fd00::1", "a unique local (private) address"),
        ("169.254.169.254", "a link-local address"),  # cloud metadata
        ("fe80::1", "a link-local address"),
        ("100.64.0.1", "a carrier-grade NAT (shared) address"),
        ("100.127.255.254", "a carrier-grade NAT (shared) address"),
        ("0.0.0.0", "an unspecified ('this network') address"),
        ("::", "the unspecified address"),
        ("224.0.0.1", "a multicast address"),
        ("239.255.255.250", "a multicast address"),
        ("ff02::1", "a multicast address"),
        ("ff0e::1", "a multicast address"),
        ("255.255.255.255", "a reserved address"),
        ("240.0.0.1", "a reserved address"),
        ("192.0.2.10", "a documentation address"),
        ("198.51.100.7", "a documentation address"),
        ("203.0.113.80", "a documentation address"),
        ("2001:db8::1", "a documentation address"),
        ("198.18.0.1", "a benchmarking address"),
        ("2001::1", "a Teredo address"),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "a Teredo address"),
        ("64:ff9b:1::a00:1", "a local-use NAT64 address"),
        ("64:ff9b:1:ffff::8.8.8.8", "a local-use NAT64 address"),
        ("fec0::1", "a site-local address"),
        ("100::1", "a discard-only address"),
    ],
)
def test_non_public_addresses_are_named(address, kind):
    assert classify(address) == kind


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("::ffff:127.0.0.1", "an IPv4-mapped address embedding 127.0.0.1, a loopback address"),
        ("::ffff:10.0.0.1", "an IPv4-mapped address embedding 10.0.0.1, a private address"),
        ("64:ff9b::7f00:1", "a NAT64 address embedding 127.0.0.1, a loopback address"),
        ("64:ff9b::10.0.0.1", "a NAT64 address embedding 10.0.0.1, a private address"),
        ("64:ff9b::a9fe:a9fe", "a NAT64 address embedding 169.254.169.254, a link-local address"),
        ("2002:a00:1::", "a 6to4 address embedding 10.0.0.1, a private address"),
        ("2002:7f00:1::1", "a 6to4 address embedding 127.0.0.1, a loopback address"),
        ("2002:c0a8:101:1::1", "a 6to4 address embedding 192.168.1.1, a private address"),
        ("::10.0.0.1", "an IPv4-compatible address embedding 10.0.0.1, a private address"),
        ("::127.0.0.1", "an IPv4-compatible address embedding 127.0.0.1, a loopback address"),
    ],
)
def test_ipv4_embedded_in_ipv6_is_judged_by_the_ipv4_address(address, kind):
    assert classify(address) == kind


@pytest.mark.parametrize(
    "address",
    [
        "1.1.1.1",
        "8.8.8.8",
        "2606:4700:4700::1111",
        "::ffff:1.1.1.1",
        "64:ff9b::1.1.1.1",
        "2002:808:808::1",
        "100.63.255.255",
        "100.128.0.0",
    ],
)
def test_public_addresses_pass(address):
    assert classify(address) is None
    assert refusal(address) is None


def test_embedded_ipv4_unwraps_only_the_translated_forms():
    assert embedded_ipv4(ipaddress.ip_address("64:ff9b::a00:1")) == (
        "a NAT64 address",
        ipaddress.IPv4Address("10.0.0.1"),
    )
    assert embedded_ipv4(ipaddress.ip_address("2606:4700:4700::1111")) is None
    assert embedded_ipv4(ipaddress.ip_address("10.0.0.1")) is None
    assert embedded_ipv4(ipaddress.ip_address("::1")) is None  # loopback, not ::0.0.0.1


def test_the_hosts_own_addresses_are_never_public():
    assert classify("8.8.4.4", OWN) == "an address of this worker host"
    assert classify("2001:4860::8844", OWN) == "an address of this worker host"
    assert classify("::ffff:8.8.4.4", OWN) == (
        "an IPv4-mapped address embedding 8.8.4.4, an address of this worker host"
    )
    assert classify("8.8.8.8", OWN) is None


def test_listed_networks_open_non_public_addresses_and_nothing_else():
    mirror = parse_networks(["10.20.0.0/16"])
    assert refusal("10.20.3.4", allowed=mirror) is None
    assert refusal("::ffff:10.20.3.4", allowed=mirror) is None
    assert refusal("64:ff9b::10.20.3.4", allowed=mirror) is None
    assert refusal("10.21.0.1", allowed=mirror) == "a private address"
    assert refusal("127.0.0.1", allowed=mirror) == "a loopback address"


def test_loopback_is_refused_unless_listed():
    assert refusal("127.0.0.1") == "a loopback address"
    assert refusal("::1") == "a loopback address"
    loopback = parse_networks(["127.0.0.0/8", "::1/128"])
    assert refusal("127.0.0.1", allowed=loopback) is None
    assert refusal("::1", allowed=loopback) is None
    # Loopback addresses are the host's own too, but listing loopback is how tests reach theirs.
    own_loopback = OWN | {ipaddress.ip_address("127.0.0.1")}
    assert refusal("127.0.0.1", allowed=loopback, own=own_loopback) is None


def test_no_listed_network_opens_the_hosts_own_addresses():
    own = frozenset({ipaddress.ip_address("10.20.0.5")})
    everything = parse_networks(["0.0.0.0/0", "::/0"])
    assert refusal("10.20.0.5", allowed=everything, own=own) == "an address of this worker host"
    assert refusal("::ffff:10.20.0.5", allowed=everything, own=own) is not None
    assert refusal("10.20.0.6", allowed=everything, own=own) is None


def test_parse_networks_accepts_networks_and_hosts_and_names_a_bad_entry():
    assert [str(n) for n in parse_networks([" 10.20.0.0/16", "", "fd00::/8", "192.0.2.7"])] == [
        "10.20.0.0/16",
        "fd00::/8",
        "192.0.2.7/32",
    ]
    with pytest.raises(ValueError, match="'intranet' is not a network"):
        parse_networks(["intranet"])


def test_host_addresses_match_what_ip_reports():
    """The addresses collected at proxy start are the ones `ip` lists for this host."""
    try:
        shown = subprocess.run(
            ["ip", "-o", "addr", "show"], capture_output=True, text=True, timeout=10, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        pytest.skip(f"iproute2's `ip` is needed to compare with: {exc}")
    listed = {
        ipaddress.ip_interface(fields[fields.index(family) + 1]).ip
        for fields in (line.split() for line in shown.splitlines())
        for family in ("inet", "inet6")
        if family in fields
    }
    assert listed
    assert listed <= host_addresses()
