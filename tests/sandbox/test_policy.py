"""The egress decision and domain patterns (pure; no Docker, no proxy)."""

from __future__ import annotations

import pytest

from repos.domains import HTTP_METHODS
from tasks.sandbox.egress.policy import (
    ALL_METHODS,
    EgressRules,
    address_is_public,
    decide,
    domain_matches,
    expand_domains,
    needs_tls_interception,
    resolve_target,
    same_host,
)


@pytest.mark.parametrize(
    ("pattern", "host", "expected"),
    [
        ("pkgs.example", "pkgs.example", True),
        ("pkgs.example", "PKGS.Example.", True),
        ("pkgs.example", "files.pkgs.example", False),
        ("pkgs.example", "pkgs.example.evil.test", False),
        ("pkgs.example", "evilpkgs.example", False),
        ("*.pkgs.example", "files.pkgs.example", True),
        ("*.pkgs.example", "a.b.pkgs.example", True),
        ("*.pkgs.example", "pkgs.example", False),
        ("*.pkgs.example", "evilpkgs.example", False),
        ("*.pkgs.example", "files.pkgs.example.evil.test", False),
        ("10.0.0.1", "10.0.0.1", True),
    ],
)
def test_domain_matches(pattern, host, expected):
    assert domain_matches(pattern, host) is expected


@pytest.mark.parametrize("pattern", ["", "*", "*.org", "ex*ample.org", "a/b", "host:80", "a b"])
def test_bad_patterns_are_refused(pattern):
    with pytest.raises(ValueError):
        EgressRules(mode="allowlist", domains=(pattern,))


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="egress mode"):
        EgressRules(mode="sometimes")


def test_allowlist_decides_domain_then_method():
    rules = EgressRules(mode="allowlist", domains=("pkgs.example",), methods=("GET", "HEAD"))
    assert decide(rules, "pkgs.example", "get").allowed
    assert not decide(rules, "pkgs.example", "POST").allowed
    assert (
        "method POST is not allowed (allowed: GET, HEAD)"
        in decide(rules, "pkgs.example", "POST").reason
    )
    assert decide(rules, "pkgs.example", "CONNECT").allowed  # tunnels: host only
    assert "not on this repository's allowlist" in decide(rules, "other.example", "GET").reason


def test_on_and_off():
    assert decide(EgressRules(mode="on"), "anything.example", "DELETE").allowed
    assert not decide(EgressRules(mode="off"), "anything.example", "GET").allowed


def test_rules_round_trip_through_json():
    rules = EgressRules(
        mode="allowlist",
        domains=("*.example.org",),
        methods=("GET",),
        resolve={"a.test": "127.0.0.1:1"},
        allow_private=True,
        intercept_tls=True,
    )
    assert EgressRules.from_json(rules.to_json()) == rules


@pytest.mark.parametrize(
    ("mode", "methods", "expected"),
    [
        ("allowlist", ("GET", "HEAD", "OPTIONS"), True),
        ("allowlist", ("get",), True),
        ("allowlist", ("GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH"), True),
        ("allowlist", ("GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"), False),
        ("allowlist", ("delete", "patch", "put", "post", "options", "head", "get"), False),
        ("on", ("GET",), False),
        ("off", ("GET",), False),
    ],
)
def test_tls_is_intercepted_only_for_method_restricted_allowlists(mode, methods, expected):
    assert needs_tls_interception(mode, methods) is expected


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("pkgs.example", "PKGS.example.", True),
        ("pkgs.example:443", "pkgs.example", True),
        ("[::1]:443", "::1", True),
        ("pkgs.example.evil", "pkgs.example", False),
        ("evilpkgs.example", "pkgs.example", False),
    ],
)
def test_same_host(a, b, expected):
    assert same_host(a, b) is expected


def test_resolve_prefers_name_and_port():
    resolve = {"a.test": "127.0.0.1:80", "a.test:443": "127.0.0.1:8443"}
    assert resolve_target(resolve, "A.test.", 443) == "127.0.0.1:8443"
    assert resolve_target(resolve, "a.test", 8080) == "127.0.0.1:80"
    assert resolve_target(resolve, "b.test", 443) is None


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("192.168.0.1", False),
        ("169.254.169.254", False),  # cloud metadata
        ("::1", False),
        ("::ffff:127.0.0.1", False),
        ("fd00::1", False),
        ("1.1.1.1", True),
        ("2606:4700:4700::1111", True),
    ],
)
def test_private_addresses_are_not_public(address, public):
    assert address_is_public(address) is public


def test_named_lists_expand_and_unknown_names_fail():
    lists = {"python": ["pkgs.example", "*.files.example"]}
    assert expand_domains(["@python", "code.example", "pkgs.example"], lists) == (
        "pkgs.example",
        "*.files.example",
        "code.example",
    )
    with pytest.raises(ValueError, match="unknown domain list 'node'"):
        expand_domains(["@node"], lists)


def test_unrestricted_means_every_method_a_repository_can_allow():
    assert set(HTTP_METHODS) == ALL_METHODS
