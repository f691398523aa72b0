"""The Docker engine as the sandbox sees it: the client, what its calls raise, whether a
container still runs, and how an engine failure reads for a person."""

from __future__ import annotations

import os
import time

import docker
import requests
from docker.errors import APIError, DockerException

from tasks.sandbox.base import SandboxError
from tasks.sandbox.spec import LABEL_DEADLINE, LABEL_OWNER, LABEL_SANDBOX, owner_token

# What a call to the engine raises when it refuses (409 "container is not running", 404) or does
# not answer (restarting); never shown to a person as such (see `person_error`).
ENGINE_ERRORS: tuple[type[Exception], ...] = (
    DockerException,
    requests.exceptions.RequestException,
)
# What a sandbox operation can fail with, to be turned into what a person sees.
FAILURES: tuple[type[Exception], ...] = (SandboxError, *ENGINE_ERRORS)
ENGINE_LOST = "the container engine restarted or stopped this attempt's container"

_quota_support: dict[str, bool] = {}


# The API version each engine address answered with: a client made per attempt (and per pool
# refill) otherwise asks the engine for it again (GET /version) before its first call.
_api_versions: dict[str, str] = {}
UNIX_SOCKET_BASE = "http+docker://"  # docker-py's base URL for an engine on a unix socket


def docker_client() -> docker.DockerClient:
    """A client for the engine in DOCKER_HOST (or the local socket); SandboxError when none."""
    host = os.environ.get("DOCKER_HOST", "")
    try:
        client = docker.from_env(timeout=120, version=_api_versions.get(host))
        if client.api.base_url.startswith(UNIX_SOCKET_BASE):
            # No proxy, .netrc or CA bundle applies to a local socket, and requests otherwise
            # reads them from the environment on every call (py-spy, 20 attempts at once).
            client.api.trust_env = False
        client.ping()
        _api_versions.setdefault(host, client.api.api_version)
    except DockerException as exc:
        raise SandboxError(
            f"cannot reach the Docker engine ({exc}); start it with scripts/docker-engine.sh"
        ) from exc
    return client


def disk_quota_supported(client: docker.DockerClient, image: str) -> bool:
    """Whether the engine enforces `--storage-opt size` (overlay2 on XFS with pquota).
    Probed once per engine by creating (not starting) a labelled container."""
    key = client.api.base_url
    if key not in _quota_support:
        try:
            container = client.api.create_container(
                image,
                command=["true"],
                labels={LABEL_SANDBOX: "1", LABEL_OWNER: owner_token(), LABEL_DEADLINE: "0"},
                host_config=client.api.create_host_config(
                    storage_opt={"size": "64M"}, network_mode="none"
                ),
            )
        except APIError:
            _quota_support[key] = False
        else:
            client.api.remove_container(container["Id"], force=True)
            _quota_support[key] = True
    return _quota_support[key]


def container_running(api: docker.APIClient, container_id: str, *, settle: float = 0.0) -> bool:
    """Whether the container still runs. With `settle`, keep looking that long: the engine
    closes a killed container's exec streams a moment before its state says so."""
    deadline = time.monotonic() + settle
    while True:
        try:
            state = api.inspect_container(container_id).get("State") or {}
        except ENGINE_ERRORS:  # gone, or the engine does not answer
            return False
        if not state.get("Running") or state.get("Restarting"):
            return False
        if time.monotonic() >= deadline:
            return True
        time.sleep(0.2)


def person_error(exc: BaseException, what: str) -> SandboxError:
    """`exc` as a sentence: a SandboxError as it is, an engine error as "cannot <what>: …"
    with the engine's explanation, never its raw form ("409 Conflict … is not running")."""
    if isinstance(exc, SandboxError):
        return exc
    detail = getattr(exc, "explanation", None) or str(exc) or type(exc).__name__
    return SandboxError(f"cannot {what}: {detail}")
