"""Git on the host: one bare mirror per repository, and pristine checkouts made from it.

Rules this module keeps (DESIGN.md, trust boundary):
- The token is given to one git command only, through the environment (`GIT_CONFIG_COUNT` /
  `GIT_CONFIG_KEY_0` / `GIT_CONFIG_VALUE_0` setting `http.<host>.extraHeader`): never on the
  command line (visible in `ps`), never in a config file, never in a remote URL, never logged.
- No system or global git config is read, and hooks are off (`core.hooksPath=/dev/null`) for
  every command, so nothing in a repository's tree can make the host run code; filters and
  fsmonitor are off too, and checkouts never follow submodules.
- Every command has a timeout; concurrent fetches of one mirror are serialised with a lock file
  (checkouts hold it shared, `git gc` exclusive).
- A mirror belongs to one access scope: GitHub/GHES repositories, whose access is checked per
  person, share one mirror per (host, owner, name); a repository registered from a plain URL or
  path has a mirror of its own, so nobody's registration can fetch into (or prune) another's.
- A checkout receives the objects reachable from the one commit it needs, fetched from the
  mirror, never a copy of the mirror's object store (which may hold force-pushed-away commits).
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import os
import re
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings

from codexweb import host_trust
from repos.models import Repository

GIT_TIMEOUT_SECONDS = 600
LOCK_TIMEOUT_SECONDS = 900
SAFE_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")

# Options on every git command the host runs.
SAFE_OPTIONS = (
    "-c", "core.hooksPath=/dev/null",
    "-c", "core.fsmonitor=false",
    "-c", "core.symlinks=true",
    "-c", "protocol.ext.allow=never",
    "-c", "submodule.recurse=false",
    "-c", "commit.gpgsign=false",
    "-c", "tag.gpgsign=false",
    "-c", "credential.helper=",
)


class GitError(Exception):
    """A git command failed; the message holds git's own words (no secrets)."""


def git_env(*, token: str | None = None, remote_url: str = "",
            extra: dict[str, str] | None = None) -> dict[str, str]:
    """A clean environment for git: no user/system config, no prompts, token only if given."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": "/nonexistent",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_ASKPASS": "/bin/false",
        "LC_ALL": "C",
        **host_trust.git_env(),  # a company CA named by SSL_CERT_FILE / SSL_CERT_DIR
    }
    if token:
        # GitHub accepts the token as the password of HTTP Basic auth; scope the header to the
        # repository's host so a redirect elsewhere never receives it.
        basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
        scope = _origin(remote_url)
        env.update({
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": f"http.{scope}/.extraHeader" if scope else "http.extraHeader",
            "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
        })
    env.update(extra or {})
    return env


def _origin(url: str) -> str:
    match = re.match(r"^(https?://[^/]+)", url)
    return match.group(1) if match else ""


def run_git(args: Sequence[str], *, cwd: Path | None = None, token: str | None = None,
            remote_url: str = "", input_text: str | None = None,
            extra_env: dict[str, str] | None = None,
            timeout: float = GIT_TIMEOUT_SECONDS) -> str:
    """Run one git command safely; return stdout. Raises GitError with git's stderr."""
    command = ["git", *SAFE_OPTIONS, *args]
    try:
        completed = subprocess.run(
            command, cwd=cwd, env=git_env(token=token, remote_url=remote_url, extra=extra_env),
            input=input_text, capture_output=True, text=True, timeout=timeout, check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise GitError(f"git {args[0]} took longer than {int(timeout)} seconds") from exc
    if completed.returncode != 0:
        raise GitError(_scrub(completed.stderr.strip() or completed.stdout.strip(), token))
    return completed.stdout


def _scrub(text: str, token: str | None) -> str:
    if token:
        text = text.replace(token, "***")
        text = text.replace(base64.b64encode(f"x-access-token:{token}".encode()).decode(), "***")
    return text


def remote_url(repository: Repository) -> str:
    """Where git fetches from: the provider's web host for GitHub, else the registered URL."""
    if repository.is_on_github:
        from repos.github.client import web_base_url

        return f"{web_base_url(repository.provider)}/{repository.owner}/{repository.name}.git"
    return repository.clone_url


def _fetch_source(repository: Repository) -> tuple[str, list[str]]:
    """(what to fetch, extra git options). A registered location is checked against the
    operator's rules again on every fetch: files and DNS may have changed since registration."""
    if repository.is_on_github:
        return remote_url(repository), []
    from repos.git.locations import LocalSource, LocationError, check_location, rules_from_settings

    try:
        source = check_location(repository.clone_url, rules_from_settings())
    except LocationError as exc:
        raise GitError(f"{repository.full_name} cannot be fetched: {exc}") from exc
    if isinstance(source, LocalSource):
        return str(source.path), []
    return source.url, source.git_options()


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.-]+", "_", text).strip("_.") or "_"


def mirror_path(repository: Repository) -> Path:
    """The bare mirror's directory for `repository` (names are validated, no path tricks).

    GitHub/GHES: `hosts/<web base URL>/<owner>/<name>.git`, shared by every team that connected
    it (each checkout is authorized per person first). Plain URLs and paths:
    `registered/<id>-<digest>.git`, one per registration; the digest covers the team, the
    location and the creation time, so a new location or a reused id never meets old bytes.
    """
    root = Path(settings.GIT_MIRROR_ROOT)
    if repository.is_on_github:
        for part in (repository.owner, repository.name):
            if not SAFE_NAME.match(part) or part in {".", ".."}:
                raise GitError(f"unsafe repository name {repository.full_name!r}")
        parsed = urlsplit(remote_url(repository))
        host = _slug(f"{parsed.netloc}{parsed.path.rsplit('/', 2)[0]}")
        # GitHub names are case-insensitive: one repository, one mirror.
        return root / "hosts" / host / repository.owner.lower() / f"{repository.name.lower()}.git"
    if repository.pk is None or repository.created_at is None:
        raise GitError("a repository must be saved before it has a mirror")
    identity = f"{repository.team_id}|{repository.clone_url}|{repository.created_at.isoformat()}"
    digest = hashlib.sha256(identity.encode()).hexdigest()[:16]
    return root / "registered" / f"{repository.pk}-{digest}.git"


@contextmanager
def mirror_lock(path: Path, *, shared: bool = False,
                timeout: float = LOCK_TIMEOUT_SECONDS) -> Iterator[None]:
    """Hold the mirror's lock: exclusive for fetch and gc, shared for checkouts reading it.
    Raises GitError when it is not free within `timeout` seconds (0: try once)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
    with open(f"{path}.lock", "a") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, mode | fcntl.LOCK_NB)
                break
            except BlockingIOError as exc:
                if time.monotonic() >= deadline:
                    raise GitError("the mirror is busy" if timeout <= 0 else
                                   "another update of this mirror is taking too long") from exc
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def mirror_update(repository: Repository, *, token: str | None = None) -> Path:
    """Create or fetch the bare mirror (branches and tags, pruned). Returns its path."""
    path = mirror_path(repository)
    url, options = _fetch_source(repository)
    with mirror_lock(path):
        if not (path / "HEAD").exists():
            run_git(["init", "--quiet", "--bare", str(path)])
            run_git(["-C", str(path), "config", "remote.origin.url", remote_url(repository)])
        # Automatic gc is off: collection runs on a schedule, under this lock (git/mirror_gc.py).
        run_git(
            [*options, "-c", "gc.auto=0", "-C", str(path), "fetch", "--quiet", "--prune",
             "--no-tags", url, "+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"],
            token=token, remote_url=url,
        )
    return path


def mirror_branches(repository: Repository) -> list[str]:
    """Branch names in the mirror, default branch first (empty if never fetched)."""
    path = mirror_path(repository)
    if not (path / "HEAD").exists():
        return []
    names = run_git(["-C", str(path), "for-each-ref", "--format=%(refname:strip=2)",
                     "refs/heads/"]).split()
    names.sort(key=lambda n: (n != repository.default_branch, n))
    return names


def mirror_commit(repository: Repository, ref: str) -> str:
    """The commit `ref` (a branch, tag or sha) names in the mirror, if a branch, tag or fetched
    pull request head (repos/git/compare.py) reaches it: a commit only a force-push left behind
    is not served. Raises GitError if unknown."""
    if ref.startswith("-"):
        raise GitError(f"not a branch or commit: {ref!r}")
    path = str(mirror_path(repository))
    sha = run_git(["-C", path, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"]).strip()
    reached = run_git(["-C", path, "for-each-ref", "--count=1", "--format=%(refname)",
                       f"--contains={sha}", "refs/heads/", "refs/tags/",
                       "refs/pull/"]).strip()
    if not reached:
        raise GitError(f"{ref!r} is on no branch or tag of {repository.full_name}")
    return sha


def _branch_of(path: Path, ref: str) -> str | None:
    try:
        run_git(["-C", str(path), "show-ref", "--verify", "--quiet", f"refs/heads/{ref}"])
    except GitError:
        return None
    return ref


def checkout_create(repository: Repository, *, ref: str, dest: Path) -> str:
    """A pristine working tree of `ref` at `dest` (which must not exist), fetched from the mirror.

    `dest` receives only the objects reachable from that commit, plus the branch itself when
    `ref` names one; no remote, no credentials. Returns the checked-out commit.
    """
    if dest.exists():
        raise GitError(f"checkout destination {dest} already exists")
    source = mirror_path(repository)
    with mirror_lock(source, shared=True):  # no gc may repack under the fetch
        sha = mirror_commit(repository, ref)
        branch = _branch_of(source, ref)
        run_git(["init", "--quiet", str(dest)])
        wanted = f"+refs/heads/{branch}:refs/heads/{branch}" if branch else sha
        run_git(["-C", str(dest), "fetch", "--quiet", "--no-tags", "--update-head-ok",
                 str(source), wanted])
    run_git(["-C", str(dest), "checkout", "--quiet", "--detach", sha])
    return sha


def checkout_fetch(repository: Repository, *, dest: Path, ref: str) -> str:
    """Bring one more commit (`ref`, reachable from a branch or tag of the mirror) into the
    checkout at `dest`, e.g. the commit an earlier attempt started from; returns it. Nothing is
    checked out. Raises GitError when the mirror does not serve it."""
    source = mirror_path(repository)
    with mirror_lock(source, shared=True):
        sha = mirror_commit(repository, ref)
        run_git(["-C", str(dest), "fetch", "--quiet", "--no-tags", str(source), sha])
    return sha
