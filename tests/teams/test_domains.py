"""Domain patterns for allowlists (repos/domains.py): pure validation."""

from __future__ import annotations

import pytest

from repos.domains import (
    DomainError,
    domain_matches,
    normalize_domain,
    parse_domains,
    parse_methods,
)


@pytest.mark.parametrize(
    "raw,clean",
    [
        ("PyPI.org", "pypi.org"),
        ("  files.pythonhosted.org. ", "files.pythonhosted.org"),
        ("*.githubusercontent.com", "*.githubusercontent.com"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("registry-1.docker.io", "registry-1.docker.io"),
    ],
)
def test_good_patterns(raw, clean):
    assert normalize_domain(raw) == clean


@pytest.mark.parametrize(
    "raw,reason",
    [
        ("https://pypi.org", "without scheme"),
        ("pypi.org/simple", "without scheme"),
        ("pypi.org:443", "without scheme"),
        ("*", "wildcard"),
        ("*.com", "top-level domain"),
        ("foo.*.com", "first label"),
        ("**.example.com", "first label"),
        ("localhost", "full domain"),
        ("10.0.0.1", "IP address"),
        ("-bad.example.com", "not a valid"),
        ("bad_.example.com", "not a valid"),
        ("a" * 64 + ".com", "not a valid"),
    ],
)
def test_bad_patterns_say_why(raw, reason):
    with pytest.raises(DomainError, match=reason):
        normalize_domain(raw)


def test_parse_lists_every_bad_entry_and_dedupes():
    assert parse_domains("pypi.org\n# comment\nPYPI.org, *.npmjs.org") == [
        "pypi.org",
        "*.npmjs.org",
    ]
    with pytest.raises(DomainError) as exc:
        parse_domains("ok.example.com\nhttp://x.com\n*")
    assert "http://x.com" in str(exc.value) and "'*'" in str(exc.value)


def test_wildcards_match_subdomains_only():
    assert domain_matches("*.example.com", "a.b.example.com")
    assert not domain_matches("*.example.com", "example.com")
    assert not domain_matches("*.example.com", "badexample.com")
    assert domain_matches("example.com", "EXAMPLE.com.")


def test_methods():
    assert parse_methods(["post", "GET", "get"]) == ["GET", "POST"]
    with pytest.raises(DomainError, match="TRACE"):
        parse_methods(["TRACE"])
