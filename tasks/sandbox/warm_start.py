"""Where a container starts from: the repository's warm image when a current one's labels all
match (images.py), else the base image; and the container itself, made from its plan."""

from __future__ import annotations

from dataclasses import dataclass

import docker
from docker.errors import APIError, ImageNotFound

from tasks.sandbox import images
from tasks.sandbox.base import SandboxError, SandboxSpec
from tasks.sandbox.container import PID1_COMMAND
from tasks.sandbox.spec import WORKSPACE, ContainerPlan


@dataclass(frozen=True)
class ImageChoice:
    image: str  # what the container is created from (a checked warm image's id, or the base)
    key: str  # the warm key ("" when nothing is cached for this spec)
    warm_image: str = ""  # the warm image's tag on a hit
    warm_hit: bool = False
    image_id: str = ""  # the id of `image` (the container pool keys on it: pool.py)


def choose_image(
    client: docker.DockerClient, spec: SandboxSpec, *, cache_hours: float, workspace: str
) -> ImageChoice:
    """The warm image for `spec` when one is current, else `spec.image`; `workspace` is where
    /workspace will live (images.WORKSPACE_IN_LAYER or WORKSPACE_ON_VOLUME). SandboxError when
    the base image does not exist."""
    try:
        base = client.images.get(spec.image)
    except ImageNotFound:
        raise SandboxError(
            f"the sandbox image {spec.image!r} does not exist; build it with "
            "`make sandbox-image` (scripts/sandbox-image.sh)"
        ) from None
    if not images.cacheable(spec):
        return ImageChoice(image=spec.image, key="", image_id=str(base.id))
    key = images.warm_key(spec, base_image_id=base.id, workspace=workspace)
    found = images.find_warm_image(
        client, key, labels=images.warm_labels(spec, key), max_age_hours=cache_hours
    )
    if found:
        return ImageChoice(
            image=found, key=key, warm_image=images.warm_tag(key), warm_hit=True, image_id=found
        )
    return ImageChoice(image=spec.image, key=key, image_id=str(base.id))


def create_container(api: docker.APIClient, plan: ContainerPlan) -> str:
    """Create (not start) the container of `plan`; its id."""
    try:
        created = api.create_container(
            plan.image,
            command=PID1_COMMAND,
            name=plan.name,
            labels=plan.labels,
            environment=plan.environment,
            # PID 1 (tini + sleep) runs as root without capabilities: `kill -1` by the
            # command user must never end the container.
            user="root",
            working_dir=WORKSPACE,
            stdin_open=False,
            tty=False,
            network_disabled=False,
            host_config=api.create_host_config(**plan.host_config),
        )
    except APIError as exc:
        raise SandboxError(f"cannot create the sandbox: {exc.explanation or exc}") from exc
    return str(created["Id"])
