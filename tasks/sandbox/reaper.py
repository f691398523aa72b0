"""Remove what crashed workers left behind: sandbox containers, their volumes, egress proxies,
runtime folders, and expired warm images.

A container is an orphan when its attempt's wall-clock deadline passed more than `grace`
seconds ago (a pre-started one of the pool, pool.py, when it waited unclaimed past its own),
when the worker process that owns it (its `org.codexweb.owner` label names host, pid and
process start time; a claimed pool container's name does) is gone from this host, or when it
has exited (an engine restart stops every container; a stopped sandbox is never started again).
Containers owned by another host are left to that host's reaper until their deadline passes.

Run it from cron or a Celery beat: `python manage.py sandbox_reap`, or without Django:
`python -m tasks.sandbox.reaper --runtime-dir var/sandbox`.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import shutil
import signal
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import docker
import requests
from docker.errors import APIError, NotFound

from tasks.sandbox.base import SandboxOwner
from tasks.sandbox.images import prune_warm_images
from tasks.sandbox.pool import LABEL_POOL, claimed_by, pool_terms
from tasks.sandbox.spec import (
    LABEL_ATTEMPT,
    LABEL_DEADLINE,
    LABEL_FOR,
    LABEL_OWNER,
    LABEL_SANDBOX,
    RUNTIME_FOLDER_GLOBS,
    process_start_time,
)

logger = logging.getLogger(__name__)


def owner_alive(owner: str) -> bool:
    """False only when `owner` names a process on this host that no longer exists."""
    host, _, rest = owner.partition(":")
    pid_text, _, started = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return True
    now_started = process_start_time(int(pid_text))
    if not now_started:
        return False
    return not started or now_started == started


@dataclass
class ReapReport:
    containers: list[str] = field(default_factory=list)
    runtime_dirs: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)


def reap_containers(
    client: docker.DockerClient,
    *,
    grace_seconds: int = 300,
    now: float | None = None,
    is_alive: Callable[[str], bool] = owner_alive,
    dry_run: bool = False,
    owner: SandboxOwner | None = None,
) -> list[str]:
    """Remove orphaned sandbox containers (only `owner`'s when given); returns their names.
    Pool containers (pool.py) are judged by `pool_terms`: a claimed one like any attempt's."""
    now = time.time() if now is None else now
    removed = []
    for info in sandbox_containers(client, owner):
        labels = info.get("Labels") or {}
        terms = pool_terms(info)
        if terms is None:
            try:
                deadline = float(labels.get(LABEL_DEADLINE, "0"))
            except ValueError:
                deadline = 0.0
            worker, grace = labels.get(LABEL_OWNER, ""), grace_seconds
        else:
            deadline, worker = terms.deadline, terms.owner
            grace = grace_seconds if terms.grace else 0
        expired = now > deadline + grace
        # An unclaimed pool container being made or claimed has no worker to outlive.
        alive = (terms is not None and not worker) or is_alive(worker)
        if not expired and not _stopped_for_a_while(client, info, now) and alive:
            continue
        name = (info.get("Names") or [info["Id"][:12]])[0].lstrip("/")
        if not dry_run:
            try:
                client.api.remove_container(info["Id"], force=True, v=True)
            except NotFound:
                continue
            except APIError:
                continue
        removed.append(name)
    return removed


def reap_pool_of_dead_workers(
    client: docker.DockerClient, *, is_alive: Callable[[str], bool] = owner_alive
) -> list[str]:
    """Remove, now, the unclaimed paused pool containers whose maker (a worker process of this
    host) is gone; their names. A worker starting after one was killed calls it, so the dead
    one's pool does not wait for the reaper's next pass (which removes it too). A live
    worker's pool, one of another host, and a container being made or claimed (running) are
    left alone."""
    removed: list[str] = []
    pooled = client.api.containers(
        all=True, filters={"label": [LABEL_SANDBOX, LABEL_POOL], "status": "paused"}
    )
    for info in pooled:
        terms = pool_terms(info)
        name = (info.get("Names") or [""])[0].lstrip("/")
        # Unclaimed (no grace): its owner is its maker; a claimed one is its attempt's.
        if terms is None or terms.grace or not terms.owner or is_alive(terms.owner):
            continue
        with contextlib.suppress(NotFound, APIError):
            client.api.remove_container(info["Id"], force=True, v=True)
            removed.append(name)
    return removed


def sandbox_containers(
    client: docker.DockerClient, owner: SandboxOwner | None = None
) -> list[dict]:
    """Every sandbox container, or `owner`'s: by label, or by name for a claimed pool container
    (its labels were set before it had an owner). Use it, not a label filter, to find an
    attempt's container."""
    if owner is None:
        return list(client.api.containers(all=True, filters={"label": [LABEL_SANDBOX]}))
    if owner.kind == "attempt":
        # Attempts' containers carry their id since the first version (also those a worker
        # of the previous version made).
        wanted = f"{LABEL_ATTEMPT}={owner.id}"
    else:
        wanted = f"{LABEL_FOR}={owner.label}"
    found = list(client.api.containers(all=True, filters={"label": [LABEL_SANDBOX, wanted]}))
    pooled = client.api.containers(all=True, filters={"label": [LABEL_SANDBOX, LABEL_POOL]})
    found.extend(
        info
        for info in pooled
        if any(claimed_by(name, owner.slug) for name in info.get("Names") or [])
    )
    return found


def reap_volumes(client: docker.DockerClient, *, dry_run: bool = False) -> list[str]:
    """Remove sandbox volumes no container uses any more (a workspace volume goes with its
    container, `v=True`, unless something removed the container without it); their names. A
    volume is made with its container in one engine call, so one in use is never dangling."""
    removed: list[str] = []
    try:
        found = client.api.volumes(filters={"label": LABEL_SANDBOX, "dangling": True})
    except (APIError, requests.exceptions.RequestException) as exc:
        logger.warning("could not list the sandbox volumes: %s", exc)
        return removed
    for volume in (found or {}).get("Volumes") or []:
        name = str(volume["Name"])
        if not dry_run:
            try:
                client.api.remove_volume(name)
            except NotFound:
                continue
            except APIError:  # in use again (a container took it meanwhile): keep it
                continue
        removed.append(name)
    return removed


STOPPED_GRACE_SECONDS = 30


def _stopped_for_a_while(client: docker.DockerClient, info: dict, now: float) -> bool:
    """A sandbox only ever runs `sleep infinity`: once it has been stopped for a while (an engine
    restart stops them all; something outside killed it) nothing will use it again, whoever
    owns it. (A moment's grace: its worker may be restarting it, or about to remove it.)"""
    if info.get("State") not in ("exited", "dead"):
        return False
    try:
        finished = client.api.inspect_container(info["Id"])["State"]["FinishedAt"]
        at = datetime.strptime(finished[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    except (APIError, KeyError, ValueError, TypeError):
        return False
    return now - at.timestamp() > STOPPED_GRACE_SECONDS


def reap_runtime_dirs(
    runtime_dir: Path,
    *,
    is_alive: Callable[[str], bool] = owner_alive,
    dry_run: bool = False,
    owner: SandboxOwner | None = None,
) -> list[str]:
    """Stop the egress proxies of dead workers and delete their sandboxes' runtime folders
    (only `owner`'s when given)."""
    removed: list[str] = []
    if not runtime_dir.is_dir():
        return removed
    patterns = RUNTIME_FOLDER_GLOBS if owner is None else (f"{owner.slug}-*",)
    folders = sorted({folder for pattern in patterns for folder in runtime_dir.glob(pattern)})
    for folder in folders:
        owner_file = folder / "owner"
        worker = owner_file.read_text().strip() if owner_file.exists() else ""
        if worker and is_alive(worker):
            continue
        if not dry_run:
            _kill_listed(folder / "egress" / "pids", folder)
            shutil.rmtree(folder, ignore_errors=True)
        removed.append(str(folder))
    return removed


def _kill_listed(pids_file: Path, folder: Path) -> None:
    if not pids_file.exists():
        return
    for text in pids_file.read_text().split():
        if not text.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{text}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if str(folder) not in cmdline:  # the pid was reused by something else
            continue
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(int(text), signal.SIGKILL)


def reap(
    client: docker.DockerClient,
    *,
    runtime_dir: Path | None,
    grace_seconds: int,
    warm_cache_hours: float | None,
    dry_run: bool = False,
) -> ReapReport:
    report = ReapReport()
    report.containers = reap_containers(client, grace_seconds=grace_seconds, dry_run=dry_run)
    report.volumes = reap_volumes(client, dry_run=dry_run)
    if runtime_dir is not None:
        report.runtime_dirs = reap_runtime_dirs(runtime_dir, dry_run=dry_run)
    if warm_cache_hours is not None and not dry_run:
        report.images = prune_warm_images(client, max_age_hours=warm_cache_hours)
    return report


def reap_owner(
    client: docker.DockerClient, owner: SandboxOwner, *, runtime_dir: Path | None
) -> ReapReport:
    """Remove what a lost attempt (or setup run) left: its container and egress proxy, when the
    worker that made them is gone (a worker on another host, or one still alive, keeps its own;
    they go at their deadline)."""
    report = ReapReport()
    try:
        report.containers = reap_containers(client, owner=owner)
    except (APIError, requests.exceptions.RequestException) as exc:
        logger.warning("could not list the containers of %s: %s", owner.label, exc)
    if runtime_dir is not None:
        report.runtime_dirs = reap_runtime_dirs(runtime_dir, owner=owner)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Remove orphaned codexweb sandboxes.")
    # Each option is one of reap()'s parameters (its `dest`), so the parsed options are its call.
    parser.add_argument("--runtime-dir", type=Path, default=None)
    parser.add_argument("--grace", dest="grace_seconds", metavar="SECONDS", type=int,
                        default=300, help="seconds past the deadline")
    parser.add_argument(
        "--warm-cache-hours", type=float, default=None, help="also remove older warm images"
    )
    parser.add_argument("--dry-run", action="store_true")
    options = vars(parser.parse_args(argv))
    report = reap(docker.from_env(), **options)
    print_report(report, dry_run=options["dry_run"])
    return 0


def print_report(report: ReapReport, *, dry_run: bool, out=sys.stdout) -> None:  # noqa: ANN001
    verb = "would remove" if dry_run else "removed"
    print(
        f"{verb} {len(report.containers)} container(s), {len(report.volumes)} volume(s), "
        f"{len(report.runtime_dirs)} runtime folder(s), {len(report.images)} warm image(s)",
        file=out,
    )
    for name in report.containers + report.volumes + report.runtime_dirs + report.images:
        print(f"  {name}", file=out)


if __name__ == "__main__":
    sys.exit(main())
