"""A few pre-started containers per image and plan, so a warm attempt skips create + start.

Which plans: a container the pool holds has only ever run its PID 1 (tini + `sleep infinity`,
after putting the disk measurement's `du` in place: container.PID1_COMMAND),
was made from the same image id and the same plan (limits, users, environment, no mounts, no
network) as the attempt would make, and is paused. It can serve an attempt that needs nothing
more at creation: no egress in either phase (a mount of the egress socket folder is made at
creation and is per sandbox) and no setup or maintenance script (they run with the secrets and a
network; a fresh container keeps that simple). The key (`pool_key`) hashes the image id, the
whole plan minus the parts that name the attempt, and the installation: a pool container is
never shared wider than the warm image itself (whose id already names its installation,
repository, commit and secret versions).

Claim: the pooled containers are kept *paused*; a claimer unpauses one. The engine unpauses under
the container's lock and refuses a container that is not paused, so of two claimers (processes
or hosts on one engine) exactly one succeeds; the other tries the next or makes its own. (A
rename by the old name is not enough: the engine resolves the name before it takes the lock,
so two renames can both succeed.) The winner then renames it to the attempt's name, which also
carries what labels would (they cannot change after creation): the deadline and the claiming
worker (`claimed_name`), so the reaper (reaper.py) treats a claimed pool container exactly like
a fresh one.

Labels of a pool container: `org.codexweb.sandbox`, `org.codexweb.pool` (the key), `.owner` (the
worker process that made it), `.deadline` (when it must be gone unclaimed: after
`pool_idle_seconds`, earlier when its warm image expires). Unclaimed it is named
`codexweb-pool-…`; the reaper removes it past its deadline, when it stopped, and when it is
paused and its maker is gone (a worker starting removes those at once:
reaper.reap_pool_of_dead_workers).

Pool work never blocks an attempt: a miss or any failure falls back to creating the container,
and refills run in a background thread.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import json
import logging
import os
import random
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import docker

from tasks.sandbox.base import SandboxError, SandboxSpec
from tasks.sandbox.engine import ENGINE_ERRORS, FAILURES, container_running
from tasks.sandbox.spec import (
    LABEL_DEADLINE,
    LABEL_OWNER,
    LABEL_SANDBOX,
    LABEL_WARM_CREATED,
    ContainerPlan,
    owner_token,
)

logger = logging.getLogger(__name__)

LABEL_POOL = "org.codexweb.pool"  # the pool key (`pool_key`)
POOL_PREFIX = "codexweb-pool-"
# A pooled container this close to its deadline is left for the reaper.
MIN_LEFT_SECONDS = 30
# The claiming worker and the deadline, after the attempt's own name (labels cannot change):
# `codexweb-attempt-42-1a2b3c4d--claimed-<deadline>-<pid>-<process start>-<host>`.
_CLAIM = re.compile(r"--claimed-(\d+)-(\d+)-(\d*)-([A-Za-z0-9][A-Za-z0-9_.-]*)$")
_NAME_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def poolable(spec: SandboxSpec, *, runs_script: bool, needs_egress: bool) -> bool:
    """Whether a pooled container can serve `spec` (see the module doc): an attempt, no setup
    or maintenance script to run, no egress in any phase."""
    return spec.owner.kind == "attempt" and not runs_script and not needs_egress


def pool_key(plan: ContainerPlan, *, image_id: str, install_id: str) -> str:
    """What a pooled container must share with the attempt's own: the image id, the plan's
    limits, users, environment and host settings, and the installation."""
    payload = json.dumps(
        {
            "image": image_id,
            "install": install_id,
            "environment": plan.environment,
            "host": plan.host_config,
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def pool_plan(plan: ContainerPlan, key: str, *, deadline: float) -> ContainerPlan:
    """`plan` for a pooled container: its own name and labels, nothing of an attempt."""
    return replace(
        plan,
        name=f"{POOL_PREFIX}{key[:12]}-{uuid.uuid4().hex[:8]}",
        labels={
            LABEL_SANDBOX: "1",
            LABEL_POOL: key,
            LABEL_OWNER: owner_token(),
            LABEL_DEADLINE: str(int(deadline)),
        },
    )


def claimed_name(name: str, *, deadline: float, owner: str) -> str | None:
    """The attempt's container name `name` with the deadline and the claiming worker `owner`
    ("host:pid:start"); None when the host name cannot be part of a container name."""
    host, _, rest = owner.partition(":")
    pid, _, started = rest.partition(":")
    if not _NAME_SAFE.match(host) or not pid.isdigit() or not (started.isdigit() or not started):
        return None
    return f"{name}--claimed-{int(deadline)}-{pid}-{started}-{host}"


@dataclass(frozen=True)
class PoolTerms:
    """How the reaper judges a pool container: its deadline, the worker whose death orphans it
    ("" when no worker's death does), and whether the reaper's grace applies."""

    deadline: float
    owner: str
    grace: bool


def pool_terms(info: Mapping[str, Any]) -> PoolTerms | None:
    """The reaper's terms for a container listed by the engine; None when it is not a pool
    container. A claimed one is an attempt's container: deadline and worker from its name. An
    unclaimed one goes at its deadline without grace, and with its maker when paused (a running
    one is being claimed or made; the deadline settles it)."""
    labels = info.get("Labels") or {}
    if LABEL_POOL not in labels:
        return None
    name = (info.get("Names") or [""])[0].lstrip("/")
    try:
        label_deadline = float(labels.get(LABEL_DEADLINE, "0"))
    except ValueError:
        label_deadline = 0.0
    claim = _CLAIM.search(name)
    if claim is not None:
        deadline, pid, started, host = claim.groups()
        return PoolTerms(deadline=float(deadline), owner=f"{host}:{pid}:{started}", grace=True)
    if name.startswith(POOL_PREFIX):
        owner = labels.get(LABEL_OWNER, "") if info.get("State") == "paused" else ""
        return PoolTerms(deadline=label_deadline, owner=owner, grace=False)
    return PoolTerms(deadline=label_deadline, owner=labels.get(LABEL_OWNER, ""), grace=True)


def claimed_by(name: str, slug: str) -> bool:
    """Whether the container `name` is a claimed pool container of the owner `slug`
    ("attempt-42")."""
    return name.lstrip("/").startswith(f"codexweb-{slug}-") and _CLAIM.search(name) is not None


def take(
    api: docker.APIClient,
    key: str,
    *,
    image_id: str,
    name: str,
    now: float | None = None,
) -> str | None:
    """Claim a pooled container for `key` (made from `image_id`) and name it `name` (see
    `claimed_name`); its id, or None when none could be had. Never raises for the engine."""
    now = time.time() if now is None else now
    try:
        found = api.containers(
            filters={"label": [LABEL_SANDBOX, f"{LABEL_POOL}={key}"], "status": "paused"}
        )
    except ENGINE_ERRORS as exc:
        logger.warning("could not list the container pool: %s", exc)
        return None
    random.shuffle(found)  # claimers spread over the pool instead of all racing for one
    for info in found:
        labels = info.get("Labels") or {}
        names = [n.lstrip("/") for n in info.get("Names") or []]
        if not any(n.startswith(POOL_PREFIX) for n in names) or info.get("ImageID") != image_id:
            continue
        try:
            if float(labels.get(LABEL_DEADLINE, "0")) < now + MIN_LEFT_SECONDS:
                continue
        except ValueError:
            continue
        container = str(info["Id"])
        try:
            api.unpause(container)  # the claim: refused when another claimer was first
        except ENGINE_ERRORS:
            continue
        try:
            if not container_running(api, container):  # killed while it waited
                raise SandboxError("the pooled container is not running")
            api.rename(container, name)
        except FAILURES as exc:
            logger.warning("skipping the pooled container %s: %s", container[:12], exc)
            with contextlib.suppress(*ENGINE_ERRORS):
                api.remove_container(container, force=True, v=True)
            continue
        return container
    return None


def count(api: docker.APIClient, key: str) -> int:
    """Unclaimed pooled containers of `key`, paused or being made."""
    found = api.containers(all=True, filters={"label": [LABEL_SANDBOX, f"{LABEL_POOL}={key}"]})
    return sum(
        1
        for info in found
        if info.get("State") in ("created", "running", "paused")
        and any(n.lstrip("/").startswith(POOL_PREFIX) for n in info.get("Names") or [])
    )


def fill(
    api: docker.APIClient,
    plan: ContainerPlan,
    key: str,
    *,
    size: int,
    deadline: float,
    create: Callable[[docker.APIClient, ContainerPlan], str],
    prepare: Callable[[docker.APIClient, str], None] | None = None,
) -> list[str]:
    """Make, start and pause pooled containers until `key` has `size`; their ids. `prepare`
    runs on each started container before it is paused (the resident helper: helper.park)."""
    _remove_at_exit(api)
    made: list[str] = []
    for _ in range(max(0, size - count(api, key))):
        container = create(api, pool_plan(plan, key, deadline=deadline))
        try:
            api.start(container)
            if prepare is not None:
                prepare(api, container)
            _pause(api, container)
        except BaseException:
            with contextlib.suppress(*ENGINE_ERRORS):
                api.remove_container(container, force=True, v=True)
            raise
        made.append(container)
    return made


_exit_hooked = threading.Lock()
_exit_apis: list[docker.APIClient] = []


def _remove_at_exit(api: docker.APIClient) -> None:
    """At a clean exit, remove what this process put in the pool (a next worker makes its own;
    a killed one's are the reaper's: their maker is gone)."""
    with _exit_hooked:
        if not _exit_apis:
            atexit.register(_remove_own_at_exit)
        if api not in _exit_apis:
            _exit_apis.append(api)


def _remove_own_at_exit() -> None:
    for api in list(_exit_apis):
        with contextlib.suppress(*ENGINE_ERRORS):
            remove_own(api)


def remove_own(api: docker.APIClient) -> list[str]:
    """Remove the unclaimed pooled containers this process made; their ids. (A claimed one is
    renamed away from POOL_PREFIX and belongs to its attempt.)"""
    found = api.containers(
        all=True, filters={"label": [LABEL_SANDBOX, LABEL_POOL, f"{LABEL_OWNER}={owner_token()}"]}
    )
    removed: list[str] = []
    for info in found:
        if not any(n.lstrip("/").startswith(POOL_PREFIX) for n in info.get("Names") or []):
            continue
        with contextlib.suppress(*ENGINE_ERRORS):
            api.remove_container(info["Id"], force=True, v=True)
            removed.append(str(info["Id"]))
    return removed


PAUSE_TRIES = 5


def _pause(api: docker.APIClient, container: str) -> None:
    """Pause `container`; a few tries, as the freezer can fail on a container that just started
    ("unable to freeze") while its processes are still being set up."""
    for attempt in range(PAUSE_TRIES):
        try:
            api.pause(container)
            return
        except ENGINE_ERRORS:
            if attempt == PAUSE_TRIES - 1:
                raise
            time.sleep(0.2 * (attempt + 1))


def pool_deadline(
    api: docker.APIClient,
    image_id: str,
    *,
    idle_seconds: float,
    cache_hours: float,
    now: float | None = None,
) -> float:
    """When a pooled container made now from `image_id` must be gone unclaimed: after
    `idle_seconds`, or when the warm image it was made from expires, whichever comes first."""
    now = time.time() if now is None else now
    deadline = now + idle_seconds
    labels = (api.inspect_image(image_id).get("Config") or {}).get("Labels") or {}
    created = labels.get(LABEL_WARM_CREATED)
    if created:
        with contextlib.suppress(ValueError):
            deadline = min(deadline, float(created) + cache_hours * 3600)
    return deadline


@dataclass(frozen=True)
class Refill:
    """What a background refill needs: the plan to copy, the pool's size and idle time."""

    plan: ContainerPlan
    key: str
    image_id: str
    size: int
    idle_seconds: float
    cache_hours: float
    delay: float = 1.0  # let the attempt that just took one get going first
    # Run on each new container before it is paused (fill's `prepare`).
    prepare: Callable[[docker.APIClient, str], None] | None = None


_filling: set[str] = set()
_filling_lock = threading.Lock()


def _forget_refills() -> None:
    """A forked child (a Celery pool process) has none of its parent's refill threads, and a
    lock one of them held stays held in the child: start afresh."""
    global _filling_lock
    _filling.clear()
    _filling_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_refills)


def refill_later(
    refill: Refill,
    *,
    create: Callable[[docker.APIClient, ContainerPlan], str],
    client_factory: Callable[[], docker.DockerClient],
) -> threading.Thread | None:
    """Top the pool of `refill.key` up in a background thread (one per key per process); the
    thread, or None when one is already at it. Failures are logged, never raised."""
    with _filling_lock:
        if refill.key in _filling:
            return None
        _filling.add(refill.key)

    def run() -> None:
        try:
            time.sleep(refill.delay)
            api = client_factory().api
            deadline = pool_deadline(
                api,
                refill.image_id,
                idle_seconds=refill.idle_seconds,
                cache_hours=refill.cache_hours,
            )
            fill(
                api,
                refill.plan,
                refill.key,
                size=refill.size,
                deadline=deadline,
                create=create,
                prepare=refill.prepare,
            )
        except Exception as exc:  # noqa: BLE001 — a refill never fails anything
            logger.warning("could not refill the container pool: %s", exc)
        finally:
            with _filling_lock:
                _filling.discard(refill.key)

    thread = threading.Thread(target=run, name=f"sandbox-pool-{refill.key[:8]}", daemon=True)
    thread.start()
    return thread
