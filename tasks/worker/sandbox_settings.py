"""The sandbox as this installation configures it: settings in, plain specs out.

`tasks/sandbox/` never reads Django settings; the worker does it here and passes plain data
down: a `SandboxSpec` (image, limits, network trust, the environment snapshot's scripts and
policies) and a `DockerConfig` (host-side paths and egress options), then picks the backend.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import subprocess
from collections.abc import Mapping
from pathlib import Path

from django.conf import settings

from tasks.sandbox import helper_build
from tasks.sandbox.base import (
    OnOutput,
    Sandbox,
    SandboxError,
    SandboxOwner,
    SandboxSpec,
)
from tasks.sandbox.config import DockerConfig, load_domain_lists
from tasks.sandbox.egress.addresses import host_addresses
from tasks.sandbox.egress.credentials import EgressCredential
from tasks.sandbox.egress.gateway import DetectedGateway
from tasks.sandbox.snapshot import EnvironmentSnapshot
from tasks.sandbox.trust import (
    check_upstream_proxy,
    host_added_cas,
    merge_certificates,
    read_extra_ca,
)

logger = logging.getLogger(__name__)


def image_for(choice: str, custom: str = "") -> str:
    """The image name for an environment's choice: "universal" (SANDBOX_IMAGE), "slim"
    (SANDBOX_SLIM_IMAGE) or "custom" (`custom`, which must be one of SANDBOX_ALLOWED_IMAGES).
    Raises SandboxError with a sentence for a person otherwise. Checked again when an attempt
    starts, so an image the operator no longer allows is refused then too."""
    if choice == "universal":
        return str(settings.SANDBOX_IMAGE)
    if choice == "slim":
        return str(settings.SANDBOX_SLIM_IMAGE)
    if choice != "custom":
        raise SandboxError(f"unknown sandbox image choice {choice!r}")
    allowed = list(settings.SANDBOX_ALLOWED_IMAGES)
    name = custom.strip()
    if not name:
        raise SandboxError("Enter the name of the custom image.")
    if name not in allowed:
        offered = ", ".join(allowed) if allowed else "none (SANDBOX_ALLOWED_IMAGES is empty)"
        raise SandboxError(
            f"The image {name!r} is not one this installation allows; allowed: {offered}."
        )
    return name


def docker_config() -> DockerConfig:
    """The Docker backend's host-side settings. SandboxError when the domain lists file is
    unreadable."""
    return DockerConfig(
        runtime_dir=Path(settings.SANDBOX_RUNTIME_DIR),
        mitmdump=settings.SANDBOX_MITMDUMP,
        warm_cache_hours=settings.SANDBOX_WARM_CACHE_HOURS,
        disk_watch_seconds=settings.SANDBOX_DISK_WATCH_SECONDS,
        allow_private=tuple(settings.SANDBOX_EGRESS_ALLOW_PRIVATE)
        + detected_gateway(tuple(settings.SANDBOX_EGRESS_GATEWAY_NAMES)),
        egress_ports=tuple(settings.SANDBOX_EGRESS_PORTS),
        domain_lists=load_domain_lists(settings.SANDBOX_DOMAIN_LISTS_FILE),
        reaper_grace_seconds=settings.SANDBOX_REAPER_GRACE_SECONDS,
        pool_size=settings.SANDBOX_POOL_SIZE,
        pool_idle_seconds=settings.SANDBOX_POOL_IDLE_SECONDS,
        spare_proxy=settings.SANDBOX_SPARE_PROXY,
        helper_binary=resident_helper() if settings.SANDBOX_RESIDENT_HELPER else "",
    )


# Per process: a detection kept for good once the resolver answered, retried after a minute
# when it did not (the worker may start before the network's resolver is up).
_gateway = DetectedGateway(own=host_addresses)


def detected_gateway(names: tuple[str, ...]) -> tuple[str, ...]:
    """The intercepting gateway's addresses when this host's resolver answers the public `names`
    (SANDBOX_EGRESS_GATEWAY_NAMES) with non-public ones (see `DetectedGateway`)."""
    return _gateway.networks(names)


@functools.cache
def resident_helper() -> str:
    """The resident helper's binary for the current source (built now, once per process, when
    `make sandbox-helper` did not), or "" when it cannot be built: then every command gets an
    exec of its own."""
    cache = Path(settings.BASE_DIR) / ".cache" / "sandbox-helper"
    try:
        return str(helper_build.build(cache))
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        logger.warning("%s; sandbox commands run with an exec each", exc)
        return ""


def spec_from_settings(spec: SandboxSpec) -> SandboxSpec:
    """`spec` with this installation's image (when it names none), limits, wall time and
    network trust. SandboxError when SANDBOX_EXTRA_CA_FILE or SANDBOX_UPSTREAM_PROXY is bad."""
    return dataclasses.replace(
        spec,
        image=spec.image or settings.SANDBOX_IMAGE,
        cpus=settings.SANDBOX_CPUS,
        memory_mb=settings.SANDBOX_MEMORY_MB,
        pids=settings.SANDBOX_PIDS,
        disk_mb=settings.SANDBOX_DISK_MB,
        wall_seconds=settings.ATTEMPT_TIMEOUT_SECONDS,
        extra_ca_pem=merge_certificates(
            read_extra_ca(settings.SANDBOX_EXTRA_CA_FILE),
            host_added_cas() if settings.SANDBOX_TRUST_HOST_CAS else "",
        ),
        upstream_proxy=check_upstream_proxy(settings.SANDBOX_UPSTREAM_PROXY),
    )


def spec_from_snapshot(
    snapshot: EnvironmentSnapshot,
    *,
    owner: SandboxOwner,
    workspace: Path,
    read_only: bool,
    secrets: Mapping[str, str],
    install_id: str,
    commit: str,
    secret_versions: Mapping[str, str],
    setup_workspace: Path | None = None,
    workspace_archive: Path | None = None,
    labels: Mapping[str, str] | None = None,
    egress_credentials: tuple[EgressCredential, ...] = (),
) -> SandboxSpec:
    """`spec_from_settings` for an environment snapshot (image choice, setup and maintenance
    scripts, variables, PATH prefix, both phases' policies, cache generation and expiry) and the
    secret values fetched for its setup. SandboxError when the image is no longer allowed.

    `install_id`, the snapshot's repository, `commit` (the commit of the checkout in
    `setup_workspace` or else `workspace`: the code setup runs) and `secret_versions` decide
    which warm image may be reused (tasks/sandbox/images.py)."""
    return spec_from_settings(SandboxSpec(
        owner=owner,
        image=image_for(snapshot.image_choice, snapshot.custom_image),
        workspace=workspace,
        workspace_archive=workspace_archive,
        read_only=read_only,
        setup_script=snapshot.setup_script,
        maintenance_script=snapshot.maintenance_script,
        variables=dict(snapshot.variables),
        secrets=dict(secrets),
        path_prefix=snapshot.path_prefix,
        setup_network=snapshot.setup_policy.network(),
        agent_network=snapshot.agent_policy.network(),
        labels=dict(labels or {}),
        cache_generation=snapshot.cache_generation,
        cache_hours=snapshot.cache_ttl_hours,
        cache_scope=snapshot.cache_scope,
        install_id=install_id,
        repository=snapshot.warm_identity,
        commit=commit,
        secret_versions=dict(secret_versions),
        setup_workspace=setup_workspace,
        egress_credentials=egress_credentials,
    ))


def make_sandbox(spec: SandboxSpec, *, on_setup_output: OnOutput | None = None) -> Sandbox:
    """The configured backend's sandbox for `spec` (not started). SandboxError when none is.

    `on_setup_output` receives the setup script's raw output while it runs (mask it before
    showing it anywhere).
    """
    backend = settings.SANDBOX_BACKEND
    if backend == "docker":
        from tasks.sandbox.docker import DockerSandbox

        return DockerSandbox(spec, config=docker_config(), on_setup_output=on_setup_output)
    raise SandboxError(f"sandbox backend {backend!r} is not available; set SANDBOX_BACKEND=docker")


def probe_engine() -> None:
    """Learn once, in the worker's main process before its pool forks, whether the engine
    enforces disk quotas (a probe container each pool process would otherwise make on its
    first attempt). Best effort: without an engine or the image, the first attempt probes."""
    if settings.SANDBOX_BACKEND != "docker":
        return
    from docker.errors import DockerException

    from tasks.sandbox.engine import disk_quota_supported, docker_client

    try:
        client = docker_client()
        client.images.get(settings.SANDBOX_SLIM_IMAGE)
        disk_quota_supported(client, settings.SANDBOX_SLIM_IMAGE)
        client.close()
    except (SandboxError, DockerException) as exc:
        logger.info("the engine was not probed before the first attempt: %s", exc)
