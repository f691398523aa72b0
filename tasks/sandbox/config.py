"""Host-side settings of the Docker backend, as plain data (the worker reads them from Django
settings: tasks/worker/sandbox_settings.docker_config)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tasks.sandbox.base import SandboxError
from tasks.sandbox.egress.policy import DEFAULT_PORTS


@dataclass(frozen=True)
class DockerConfig:
    runtime_dir: Path
    mitmdump: str
    warm_cache_hours: float = 12.0  # 0 disables the per-repository warm image cache
    disk_watch_seconds: float = 2.0
    # The workspace on a volume of its own (removed with the container) instead of the
    # container's writable layer: file I/O there runs at the host file system's speed, without
    # overlayfs (tasks/sandbox/README.md, "Where the workspace lives"). Only where the disk limit
    # is the watchdog's: with a storage quota the workspace stays in the layer the quota covers.
    workspace_volume: bool = True
    # Non-public networks the egress proxy still lets sandboxes reach
    # (SANDBOX_EGRESS_ALLOW_PRIVATE); tests list 127.0.0.0/8 for their loopback servers.
    allow_private: tuple[str, ...] = ()
    # Ports an allowlist reaches, and raw TCP under "on" (SANDBOX_EGRESS_PORTS).
    egress_ports: tuple[int, ...] = DEFAULT_PORTS
    domain_lists: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # name -> "ip:port" for the egress proxy; tests point an allowed test name at loopback.
    egress_resolve: Mapping[str, str] = field(default_factory=dict)
    # A PEM file of the only CAs the proxy trusts for upstream servers when it intercepts TLS;
    # tests set it to the loopback target's certificate. "" (always in production): mitmproxy's
    # default store.
    egress_upstream_ca: str = ""
    reaper_grace_seconds: int = 300
    # Pre-started containers kept per image and plan (pool.py; SANDBOX_POOL_SIZE), 0: none, and
    # how long one may wait unclaimed (SANDBOX_POOL_IDLE_SECONDS).
    pool_size: int = 0
    pool_idle_seconds: float = 600.0
    # Keep one setup-phase egress proxy started ahead per worker process (egress/spare.py;
    # SANDBOX_SPARE_PROXY). Off unless the worker turns it on.
    spare_proxy: bool = False
    # The resident command helper's static binary on this host (helper_build.py), mounted into
    # every container; "" runs each agent command with an exec of its own
    # (SANDBOX_RESIDENT_HELPER).
    helper_binary: str = ""


def load_domain_lists(path: str) -> dict[str, tuple[str, ...]]:
    """Named domain lists from a JSON file `{"name": ["domain", ...]}`; {} when `path` is ""."""
    if not path:
        return {}
    try:
        raw = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise SandboxError(f"cannot read the domain lists file {path}: {exc}") from exc
    if not isinstance(raw, dict) or not all(
        isinstance(v, list) and all(isinstance(d, str) for d in v) for v in raw.values()
    ):
        raise SandboxError(f"{path} must hold an object of lists of domain names")
    return {str(k): tuple(v) for k, v in raw.items()}
