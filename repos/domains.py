"""Domain patterns for internet allowlists: pure validation, no Django.

A pattern is a host name (`pypi.org`) or a leading wildcard (`*.githubusercontent.com`, which
matches any subdomain but not the bare domain). International names are stored as punycode.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from tasks.sandbox.egress.policy import HTTP_METHODS

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_IPV4 = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
MAX_DOMAINS = 500


class DomainError(ValueError):
    """A domain pattern is unusable; the message names it and says why."""


def normalize_domain(raw: str) -> str:
    """The canonical form of one pattern, or DomainError."""
    text = raw.strip().lower().rstrip(".")
    if not text:
        raise DomainError("Empty domain.")
    if "://" in text or "/" in text or ":" in text or "@" in text:
        raise DomainError(f"{raw!r}: enter a domain name only, without scheme, port or path.")
    wildcard = text.startswith("*.")
    host = text[2:] if wildcard else text
    if "*" in host:
        raise DomainError(
            f"{raw!r}: a wildcard is allowed only as the first label, as in *.example.com."
        )
    if _IPV4.match(host):
        raise DomainError(f"{raw!r}: enter a domain name, not an IP address.")
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise DomainError(f"{raw!r} is not a valid domain name.") from exc
    labels = host.split(".")
    if wildcard and len(labels) < 2:
        raise DomainError(f"{raw!r}: the wildcard would match a whole top-level domain.")
    if len(labels) < 2:
        raise DomainError(f"{raw!r}: use a full domain name such as example.com.")
    if len(host) > 253 or not all(_LABEL.match(label) for label in labels):
        raise DomainError(f"{raw!r} is not a valid domain name.")
    if labels[-1].isdigit():
        raise DomainError(f"{raw!r} is not a valid domain name.")
    return f"*.{host}" if wildcard else host


def parse_domains(text: str | Iterable[str]) -> list[str]:
    """Patterns from text (one per line, or separated by commas/spaces), validated, deduplicated,
    in the order given. Raises DomainError listing every bad entry."""
    if isinstance(text, str):
        lines = (line.split("#", 1)[0] for line in text.splitlines())
        items = [item for line in lines for item in re.split(r"[\s,]+", line)]
    else:
        items = list(text)
    seen: dict[str, None] = {}
    problems = []
    for item in items:
        if not item.strip() or item.strip().startswith("#"):
            continue
        try:
            seen.setdefault(normalize_domain(item), None)
        except DomainError as exc:
            problems.append(str(exc))
    if problems:
        raise DomainError(" ".join(problems))
    if len(seen) > MAX_DOMAINS:
        raise DomainError(f"At most {MAX_DOMAINS} domains per list.")
    return list(seen)


def domain_matches(pattern: str, host: str) -> bool:
    """Whether `host` is allowed by `pattern` (for the proxy and for tests)."""
    host = host.lower().rstrip(".")
    if pattern.startswith("*."):
        return host.endswith(pattern[1:])
    return host == pattern


def parse_methods(methods: Iterable[str]) -> list[str]:
    """The chosen methods, upper-cased, in `HTTP_METHODS` order; DomainError for unknown ones."""
    chosen = {m.strip().upper() for m in methods if m.strip()}
    unknown = chosen - set(HTTP_METHODS)
    if unknown:
        raise DomainError(f"Unknown HTTP method(s): {', '.join(sorted(unknown))}.")
    return [m for m in HTTP_METHODS if m in chosen]
