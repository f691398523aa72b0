"""Git on the host: one bare mirror per repository, and pristine checkouts made from it.

Rules this module keeps (DESIGN.md, trust boundary):
- The token is given to one git command only, through the environment (`GIT_CONFIG_COUNT` /
  `GIT_CONFIG_KEY_0` / `GIT_CONFIG_VALUE_0` setting `http.<host>.extraHeader`): never on the
  command line (visible in `ps`), never in a config file, never in a remote URL, never logged.
- No system or global git config is read, and hooks are off (`core.hooksPath=/dev/null`) for
  every command, so nothing in a repository's tree can make the host run code; filters and
  fsmonitor are off too, and checkouts never follow submodules.
- Every command has a timeout; concurrent fetches of one mirror are serialised with a lock file.
"""

from __future__ import annotations

import base64
import fcntl
import os
import re
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings

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
        from repos.github import web_base_url

        return f"{web_base_url(repository.provider)}/{repository.owner}/{repository.name}.git"
    return repository.clone_url


def mirror_path(repository: Repository) -> Path:
    """The bare mirror's directory for `repository` (names are validated, no path tricks)."""
    for part in (repository.owner, repository.name):
        if not SAFE_NAME.match(part) or part in {".", ".."}:
            raise GitError(f"unsafe repository name {repository.full_name!r}")
    root = Path(settings.GIT_MIRROR_ROOT)
    return root / repository.provider / repository.owner / f"{repository.name}.git"


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{path}.lock", "w") as handle:
        deadline = time.monotonic() + LOCK_TIMEOUT_SECONDS
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError as exc:
                if time.monotonic() > deadline:
                    raise GitError("another update of this mirror is taking too long") from exc
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def mirror_update(repository: Repository, *, token: str | None = None) -> Path:
    """Create or fetch the bare mirror (branches and tags, pruned). Returns its path."""
    path = mirror_path(repository)
    url = remote_url(repository)
    with _locked(path):
        if not (path / "HEAD").exists():
            run_git(["init", "--quiet", "--bare", str(path)])
            run_git(["-C", str(path), "config", "remote.origin.url", url])
        run_git(
            ["-C", str(path), "fetch", "--quiet", "--prune", "--no-tags", url,
             "+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"],
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
    """The commit `ref` (a branch or sha) names in the mirror. Raises GitError if unknown."""
    if ref.startswith("-"):
        raise GitError(f"not a branch or commit: {ref!r}")
    return run_git(["-C", str(mirror_path(repository)), "rev-parse", "--verify", "--quiet",
                    f"{ref}^{{commit}}"]).strip()


def checkout_create(repository: Repository, *, ref: str, dest: Path) -> str:
    """A pristine working tree of `ref` at `dest` (which must not exist), cloned from the mirror.

    The clone copies objects (no hardlinks into the mirror) and has no remote credentials.
    Returns the checked-out commit.
    """
    if dest.exists():
        raise GitError(f"checkout destination {dest} already exists")
    sha = mirror_commit(repository, ref)
    run_git(["clone", "--quiet", "--no-hardlinks", "--no-checkout",
             str(mirror_path(repository)), str(dest)])
    run_git(["-C", str(dest), "checkout", "--quiet", "--detach", sha])
    return sha
