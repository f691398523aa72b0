"""Periodic work of the workers: end attempts whose worker died, recover jobs Redis lost,
remove the sandboxes (and the host checkouts) nobody owns any more."""

from __future__ import annotations

import logging

from django.conf import settings

from tasks import services
from tasks.worker import queue_watch
from tasks.worker.host_folder import reap_host_folders

logger = logging.getLogger(__name__)


def end_attempts_without_heartbeat() -> list[int]:
    """Fail attempts whose worker process on this host is gone, or whose worker (anywhere)
    stopped beating, and remove their containers and egress proxies. Returns their ids."""
    from tasks.sandbox.reaper import owner_alive

    lost = services.attempts_end_orphaned(worker_alive=owner_alive)
    lost += services.attempts_end_lost(
        heartbeat_timeout_seconds=settings.ATTEMPT_HEARTBEAT_TIMEOUT_SECONDS
    )
    if lost:
        logger.warning("ended %d attempts whose worker stopped: %s", len(lost), lost)
        reap_attempt_sandboxes(lost)
    return lost


def end_attempts_without_heartbeat_once() -> None:
    """`end_attempts_without_heartbeat` from a thread of its own (the worker's start), then
    `remove_pool_of_dead_workers`: logged, never raised, its database connection closed after."""
    from django.db import connection

    try:
        end_attempts_without_heartbeat()
    except Exception:  # housekeeping's next round tries again
        logger.warning("could not end the attempts of dead workers at start", exc_info=True)
    finally:
        connection.close()
    try:
        remove_pool_of_dead_workers()
    except Exception:  # the reaper's next pass removes them
        logger.warning("could not remove the pool of dead workers at start", exc_info=True)


def remove_pool_of_dead_workers() -> list[str]:
    """Remove the paused pool containers a killed worker of this host made (the engine holds
    their memory until then); their names."""
    if settings.SANDBOX_BACKEND != "docker":
        return []
    from tasks.sandbox.engine import docker_client
    from tasks.sandbox.reaper import reap_pool_of_dead_workers

    removed = reap_pool_of_dead_workers(docker_client())
    if removed:
        logger.warning("removed %d pooled containers of dead workers: %s", len(removed), removed)
    return removed


def end_attempt_if_lost(attempt_id: int) -> bool:
    """A redelivered job for an attempt that is not queued any more: never run it again, but
    end it now if its worker died (its heartbeat stopped)."""
    lost = services.attempts_end_lost(
        heartbeat_timeout_seconds=settings.ATTEMPT_HEARTBEAT_TIMEOUT_SECONDS,
        attempt_ids=[attempt_id],
    )
    reap_attempt_sandboxes(lost)
    return bool(lost)


def reap_attempt_sandboxes(attempt_ids: list[int]) -> None:
    if not attempt_ids or settings.SANDBOX_BACKEND != "docker":
        return
    from tasks.sandbox.base import SandboxError, SandboxOwner
    from tasks.sandbox.engine import docker_client
    from tasks.sandbox.reaper import reap_owner

    try:
        client = docker_client()
    except SandboxError as exc:
        logger.warning("could not remove the sandboxes of lost attempts: %s", exc)
        return
    for attempt_id in attempt_ids:
        owner = SandboxOwner.attempt(attempt_id)
        reap_owner(client, owner, runtime_dir=settings.SANDBOX_RUNTIME_DIR)


def housekeeping() -> None:
    """End attempts whose worker died, requeue or end attempts whose job was lost, remove
    orphaned sandboxes, host folders and expired warm images."""
    end_attempts_without_heartbeat()
    grace = settings.SANDBOX_REAPER_GRACE_SECONDS
    ended = services.attempts_reap_stale(
        older_than_seconds=settings.ATTEMPT_TIMEOUT_SECONDS + grace
    )
    if ended:
        logger.warning("ended %d attempts whose worker was lost: %s", len(ended), ended)
    queue_watch.queued_attempts_recover(lost_after_seconds=settings.QUEUE_LOST_SECONDS)
    folders = reap_host_folders()
    if folders:
        logger.warning("removed %d host folders of dead workers: %s", len(folders), folders)
    if settings.SANDBOX_BACKEND == "docker":
        from tasks.sandbox.engine import docker_client
        from tasks.sandbox.reaper import reap

        reap(
            docker_client(),
            runtime_dir=settings.SANDBOX_RUNTIME_DIR,
            grace_seconds=grace,
            warm_cache_hours=settings.SANDBOX_WARM_CACHE_HOURS,
        )
