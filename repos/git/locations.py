"""Where a plain git repository may be fetched from: the operator's rules for typed locations.

A team admin types a location on the Register page; the worker later fetches it with its own
file-system rights and network position. So a location is only usable when:
- it is an `https://`, `http://` or `git://` URL whose host GIT_ALLOWED_HOSTS allows (the
  configured GitHub/GHES hosts always are), without credentials, and whose addresses are all
  public unless the host is listed by name (the bare `*` never opens loopback/private ranges);
- or it is an absolute path that, with every symlink resolved (its git directory too), lies under
  a folder of GIT_LOCAL_ROOTS and outside the mirror root and the app's own folders.
`file://` and SSH (`ssh://`, `user@host:path`) are refused: both would act with the server's own
rights (its files, its SSH identity). Checks run at registration, for a clear form error, and
again before every fetch, because files and DNS change; a fetch uses the checked address.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import SplitResult, urlsplit

from django.conf import settings

from tasks.sandbox.egress.addresses import classify
from tasks.sandbox.egress.policy import domain_matches, is_ip

URL_SCHEMES = {"https": 443, "http": 80, "git": 9418}
SSH_REFUSED = "SSH locations need a deploy key, which codexweb does not support; use an https URL."
_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
_SCP_LIKE = re.compile(r"^(?:[^/@:]+@)?[^/:]+:")  # git's `[user@]host:path`
_NETLOC_RE = re.compile(r"^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$")

Resolver = Callable[[str, int], Sequence[str]]


class LocationError(ValueError):
    """The location may not be used; the message says why, in words for a team admin."""


@dataclass(frozen=True)
class LocationRules:
    """The operator's settings that decide which locations are usable."""

    local_roots: tuple[Path, ...]  # GIT_LOCAL_ROOTS
    forbidden: tuple[Path, ...]  # the mirror root and the app's own folders
    allowed_hosts: tuple[str, ...]  # GIT_ALLOWED_HOSTS patterns: "*", "*.corp.example", "git.x"
    provider_hosts: tuple[str, ...]  # hosts of GITHUB_URL / GHES_URL, always allowed


@dataclass(frozen=True)
class LocalSource:
    path: Path  # fully resolved; fetch from this, not from what was typed


@dataclass(frozen=True)
class RemoteSource:
    url: str
    host: str
    port: int
    addresses: tuple[str, ...]  # the checked addresses the fetch may connect to

    def git_options(self) -> list[str]:
        """Options for the fetch: no redirects (they would skip the host check), and for HTTP the
        host pinned to the checked addresses, so DNS cannot change between check and connect.
        (git:// has no such pin; the check just before the fetch is all it gets.)"""
        options = ["-c", "http.followRedirects=false"]
        if not is_ip(self.host) and self.url.startswith(("http://", "https://")):
            pinned = ",".join(f"[{a}]" if ":" in a else a for a in self.addresses)
            options += ["-c", f"http.curloptResolve={self.host}:{self.port}:{pinned}"]
        return options


Source = LocalSource | RemoteSource


def parse_git_location(location: str) -> tuple[str, str]:
    """(owner, name) from a git URL or an absolute path; no I/O, so forms can call it.

    Raises LocationError for forms the server never fetches (file://, SSH, relative paths,
    credentials in the URL, unusable names).
    """
    location = location.strip()
    if not location:
        raise LocationError("Enter a git URL or a path on the server.")
    if location.startswith("-"):
        raise LocationError("A repository location cannot start with '-'.")
    if location.startswith("/"):
        path = location
    elif "://" in location:
        path = _split_url(location).path
    elif _SCP_LIKE.match(location):
        raise LocationError(SSH_REFUSED)
    else:
        raise LocationError("Use a full URL (https://…) or an absolute path on the server.")
    parts = [p for p in path.rstrip("/").split("/") if p]
    if not parts:
        raise LocationError("The location names no repository.")
    name = parts[-1].removesuffix(".git")
    owner = parts[-2] if len(parts) > 1 else "local"
    for part in (owner, name):
        if not _NAME_RE.match(part) or part in {".", ".."}:
            raise LocationError(f"{part!r} is not a usable repository or owner name.")
    return owner, name


def _split_url(location: str) -> SplitResult:
    try:
        parsed = urlsplit(location)
    except ValueError as exc:  # e.g. an unclosed "[" of an IPv6 address
        raise LocationError(f"{location} is not a URL codexweb can read.") from exc
    scheme = parsed.scheme.lower()
    if scheme == "file":
        raise LocationError(
            "file:// locations are not accepted; give a path under a folder the operator allows."
        )
    if scheme in {"ssh", "git+ssh", "ssh+git"}:
        raise LocationError(SSH_REFUSED)
    if scheme not in URL_SCHEMES:
        raise LocationError(f"Unsupported URL scheme {parsed.scheme!r}; use https://.")
    if "@" in parsed.netloc:
        raise LocationError(
            "Do not put credentials in the URL; codexweb fetches plain URLs without them."
        )
    if not _NETLOC_RE.match(parsed.netloc):
        raise LocationError(f"{parsed.netloc!r} is not a host name codexweb can fetch from.")
    return parsed


def check_location(location: str, rules: LocationRules, *,
                   resolve: Resolver | None = None) -> Source:
    """Where to fetch `location` from, if the operator's rules allow it; LocationError if not."""
    parse_git_location(location)
    location = location.strip()
    if location.startswith("/"):
        return _check_path(location, rules)
    return _check_url(location, rules, resolve or resolve_host)


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _check_path(location: str, rules: LocationRules) -> LocalSource:
    if not rules.local_roots:
        raise LocationError(
            "Paths on the server are not accepted here; use a git URL. (The operator can allow "
            "folders with GIT_LOCAL_ROOTS.)"
        )
    roots = tuple(root.resolve() for root in rules.local_roots)
    where = ", ".join(str(root) for root in rules.local_roots)
    # Decide on the typed path before touching it, so a refusal says nothing about what exists
    # (as typed, a root may be named by its configured or its real path).
    typed = Path(os.path.normpath(location))
    named = {Path(os.path.normpath(root)) for root in rules.local_roots if root.is_absolute()}
    if not any(_inside(typed, root) for root in (*roots, *named)):
        raise LocationError(f"{location} is not under a folder allowed for repositories ({where}).")
    try:
        resolved = typed.resolve(strict=True)
    except FileNotFoundError as exc:
        raise LocationError(f"No such path on the server: {location}") from exc
    except (OSError, RuntimeError) as exc:
        raise LocationError(f"{location} cannot be read.") from exc
    git_dir = _git_dir(resolved)
    if git_dir is None:
        raise LocationError(f"{location} is not a git repository.")
    for real in (resolved, git_dir):
        if not any(_inside(real, root) for root in roots):
            raise LocationError(
                f"{location} leads outside the folders allowed for repositories ({where})."
            )
        if any(_inside(real, folder.resolve()) for folder in rules.forbidden):
            raise LocationError(
                f"{location} is inside codexweb's own files, which it never serves."
            )
    return LocalSource(path=resolved)


def _git_dir(path: Path) -> Path | None:
    """The repository's real git directory (a `.git` file can point anywhere), or None."""
    from repos.git.mirror import GitError, run_git  # mirror imports this module

    try:
        # The ceiling keeps git from taking a parent folder's repository for this one.
        output = run_git(["-C", str(path), "rev-parse", "--absolute-git-dir"], timeout=10,
                         extra_env={"GIT_CEILING_DIRECTORIES": str(path.parent)})
    except (GitError, OSError):
        return None
    return Path(output.strip()).resolve() if output.strip() else None


def host_allowed(host: str, rules: LocationRules) -> tuple[bool, bool]:
    """(allowed, named): whether `host` may be fetched from, and whether it is allowed by name
    (a provider host or a pattern other than the bare `*`), which also admits private addresses."""
    host = host.lower().rstrip(".")
    if host in rules.provider_hosts:
        return True, True
    named = any(p != "*" and domain_matches(p, host) for p in rules.allowed_hosts)
    return named or "*" in rules.allowed_hosts, named


def _check_url(location: str, rules: LocationRules, resolve: Resolver) -> RemoteSource:
    parsed = _split_url(location)
    host = (parsed.hostname or "").lower().rstrip(".")
    try:
        port = parsed.port if parsed.port is not None else URL_SCHEMES[parsed.scheme.lower()]
    except ValueError as exc:
        raise LocationError(f"{parsed.netloc!r} has an unusable port.") from exc
    if port == 0:
        raise LocationError(f"{parsed.netloc!r} has an unusable port.")
    allowed, named = host_allowed(host, rules)
    if not allowed:
        raise LocationError(
            f"Fetching from {host} is not allowed here. (The operator lists allowed hosts in "
            "GIT_ALLOWED_HOSTS.)"
        )
    try:
        addresses = list(resolve(host, port))
    except (OSError, UnicodeError) as exc:  # UnicodeError: a label longer than DNS allows
        raise LocationError(f"The host {host} could not be found.") from exc
    if not addresses:
        raise LocationError(f"The host {host} could not be found.")
    if not named and not all(classify(a) is None for a in addresses):
        raise LocationError(
            f"{host} is a local or private network address, which codexweb does not fetch from "
            "unless the operator lists the host in GIT_ALLOWED_HOSTS."
        )
    return RemoteSource(url=location, host=host, port=port, addresses=tuple(addresses))


def resolve_host(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (OSError when it does not resolve)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def rules_from_settings() -> LocationRules:
    """The rules as the operator configured them (read at the edge, passed down as data)."""
    provider_hosts = tuple(
        (urlsplit(url).hostname or "").lower()
        for url in (settings.GITHUB_URL, settings.GHES_URL) if url
    )
    forbidden = (settings.GIT_MIRROR_ROOT, settings.BASE_DIR, settings.VAR_DIR,
                 settings.SANDBOX_RUNTIME_DIR, settings.STATIC_ROOT)
    return LocationRules(
        local_roots=tuple(Path(root).expanduser() for root in settings.GIT_LOCAL_ROOTS),
        forbidden=tuple(Path(folder) for folder in forbidden),
        allowed_hosts=tuple(h.strip().lower() for h in settings.GIT_ALLOWED_HOSTS if h.strip()),
        provider_hosts=tuple(h for h in provider_hosts if h),
    )
