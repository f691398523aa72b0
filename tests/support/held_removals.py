"""Holding the sandbox remover thread (tasks/sandbox/removal.py) back, to see what a stop left
to it: the real engine, with a removal that waits until the test lets it go."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import docker

from tasks.sandbox import removal
from tests.support.sandbox_fixtures import IMAGE


class HeldBack(docker.APIClient):
    """The engine docker_engine talks to, whose removals wait for `go`."""

    def __init__(self) -> None:
        super().__init__(**docker.utils.kwargs_from_env(), timeout=120)
        self.go = threading.Event()

    def remove_container(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201
        assert self.go.wait(60), "the test never let the removal go"
        return super().remove_container(*args, **kwargs)


def sleeper(client: docker.DockerClient) -> str:
    """A running container of the sandbox image, not a sandbox (and, like one, on no Docker
    network: the engine's default bridge may be gone on a test host)."""
    container = client.api.create_container(
        IMAGE, command=["sleep", "600"],
        host_config=client.api.create_host_config(network_mode="none"),
    )
    client.api.start(container["Id"])
    return container["Id"]


def container_state(client: docker.DockerClient, container_id: str) -> dict | None:
    """The container's State, None once it is gone."""
    try:
        return client.api.inspect_container(container_id)["State"]
    except docker.errors.NotFound:
        return None


@contextlib.contextmanager
def removals_held(client: docker.DockerClient) -> Iterator[HeldBack]:
    """The remover thread stuck on one removal until `go` is set (or the block ends), so what
    is queued behind it waits; every removal is done after the block."""
    api = HeldBack()
    blocker = sleeper(client)
    assert removal.remove_later(api, blocker)
    try:
        yield api
    finally:
        api.go.set()
        assert removal.drain(60)
        assert container_state(client, blocker) is None
