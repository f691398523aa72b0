"""The egress decision and domain patterns (pure; no Docker, no proxy)."""

from __future__ import annotations

import pytest

from repos import domains
from tasks.sandbox.egress.policy import (
    ALL_METHODS,
    HTTP_METHODS,
    METHOD_OVERRIDE_HEADERS,
    EgressRules,
    decide,
    domain_matches,
    expand_domains,
    method_overrides,
    needs_tls_interception,
    raw_tunnel_decision,
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
        allow_private=("10.20.0.0/16", "fd00::/8"),
        ports=(443, 8443),
        intercept_tls=True,
    )
    assert EgressRules.from_json(rules.to_json()) == rules


def test_rules_default_to_no_private_networks_and_web_ports():
    rules = EgressRules(mode="on")
    assert rules.allow_private == ()
    assert rules.ports == (80, 443)
    with pytest.raises(ValueError):
        EgressRules(mode="on", allow_private=("intranet",))
    with pytest.raises(ValueError, match="port 0"):
        EgressRules(mode="on", ports=(0,))


def test_allowlist_reaches_only_the_allowed_ports():
    rules = EgressRules(mode="allowlist", domains=("pkgs.example",), methods=("GET",))
    assert decide(rules, "pkgs.example", "CONNECT", port=443).allowed
    assert decide(rules, "pkgs.example", "GET", port=80).allowed
    for port in (22, 8443, 6379):
        refused = decide(rules, "pkgs.example", "CONNECT", port=port)
        assert not refused.allowed
        assert refused.reason == f"port {port} is not allowed (allowed: 80, 443)"
    assert not decide(rules, "pkgs.example", "GET", port=8080).allowed
    wider = EgressRules(mode="allowlist", domains=("pkgs.example",), ports=(443, 8443))
    assert decide(wider, "pkgs.example", "CONNECT", port=8443).allowed
    assert decide(EgressRules(mode="on"), "anything.example", "CONNECT", port=22).allowed


def test_method_override_headers_are_judged_like_the_method_they_name():
    rules = EgressRules(mode="allowlist", domains=("pkgs.example",), methods=("GET", "HEAD"))
    for name in METHOD_OVERRIDE_HEADERS:
        refused = decide(rules, "pkgs.example", "GET", overrides=[(name, "POST")])
        assert not refused.allowed
        assert refused.reason == (
            f"the {name} header asks for method POST, which is not allowed (allowed: GET, HEAD)"
        )
    assert not decide(
        rules, "pkgs.example", "GET", overrides=[("X-HTTP-Method", " delete")]
    ).allowed
    assert not decide(
        rules, "pkgs.example", "GET", overrides=[("X-HTTP-Method", "GET, PUT")]
    ).allowed
    assert decide(rules, "pkgs.example", "GET", overrides=[("X-HTTP-Method", "head")]).allowed
    assert decide(rules, "pkgs.example", "GET", overrides=[("X-HTTP-Method", "")]).allowed
    everything = EgressRules(mode="on")
    assert decide(everything, "x.example", "GET", overrides=[("X-HTTP-Method", "DELETE")]).allowed


def test_method_overrides_are_found_in_any_spelling():
    headers = [
        ("Host", "pkgs.example"),
        ("x-http-method-override", "POST"),
        ("X-METHOD-OVERRIDE", "PUT"),
        ("X-Http-Method", "DELETE"),
        ("X-HTTP-Method-Overrides", "PATCH"),  # not one of them
    ]
    assert method_overrides(headers) == [
        ("X-HTTP-Method-Override", "POST"),
        ("X-Method-Override", "PUT"),
        ("X-HTTP-Method", "DELETE"),
    ]


def test_raw_tcp_in_a_tunnel_passes_only_under_on_to_the_allowed_ports():
    allowlist = EgressRules(mode="allowlist", domains=("pkgs.example",), methods=tuple(ALL_METHODS))
    refused = raw_tunnel_decision(allowlist, 443)
    assert not refused.allowed
    assert "neither TLS nor HTTP; only HTTP and TLS may pass under an allowlist" in refused.reason
    on = EgressRules(mode="on")
    assert raw_tunnel_decision(on, 443).allowed
    assert raw_tunnel_decision(on, 80).allowed
    assert "raw TCP may only reach ports 80, 443" in raw_tunnel_decision(on, 22).reason


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
    # Forms and environments offer the proxy's own list, so "all ticked" is never "restricted".
    assert domains.HTTP_METHODS is HTTP_METHODS
    assert domains.parse_methods([m.lower() for m in reversed(HTTP_METHODS)]) == list(HTTP_METHODS)
    assert not needs_tls_interception("allowlist", domains.parse_methods(HTTP_METHODS))
    assert needs_tls_interception("allowlist", HTTP_METHODS[:-1])
    assert set(HTTP_METHODS) == ALL_METHODS
