"""A test session removes the warm images it committed when it ends
(tests/support/leftover_images.py, called from tests/conftest.py): repeated CI runs on one
machine used to gain four `codexweb-warm` images each. Images from before the session, and one a
container still uses, stay."""

from __future__ import annotations

import contextlib
import time
import uuid

import docker
import pytest
from docker.errors import APIError, ImageNotFound

from tasks.sandbox.images import commit_warm_image
from tasks.sandbox.spec import LABEL_WARM_CREATED, LABEL_WARM_KEY
from tests.support.leftover_images import remove_warm_images_since
from tests.support.sandbox_fixtures import IMAGE

pytestmark = pytest.mark.usefixtures("docker_engine")


@pytest.fixture
def made(docker_engine: docker.DockerClient):
    """A created (never started) container of the slim image to commit, and cleanup of both."""
    containers, images = [], []

    def container() -> str:
        made = docker_engine.containers.create(IMAGE, "true", network_mode="none")
        containers.append(made)
        return str(made.id)

    yield container, images
    for made_container in containers:
        with contextlib.suppress(APIError):
            made_container.remove(force=True)
    for image_id in images:
        with contextlib.suppress(APIError):
            docker_engine.images.remove(image_id, force=True)


def _exists(client: docker.DockerClient, image_id: str) -> bool:
    try:
        client.images.get(image_id)
    except ImageNotFound:
        return False
    return True


def test_the_warm_images_made_since_the_session_started_are_removed(docker_engine, made):
    container, images = made
    key = uuid.uuid4().hex * 2
    earlier = docker_engine.api.commit(
        container(),
        changes=[f"LABEL {LABEL_WARM_KEY}=old{key}", f"LABEL {LABEL_WARM_CREATED}=1000"],
    )["Id"]
    images.append(earlier)
    started = time.time()
    _, during = commit_warm_image(docker_engine, container(), key, labels={LABEL_WARM_KEY: key})
    images.append(during)
    _, in_use = commit_warm_image(
        docker_engine, container(), "u" + key[1:], labels={LABEL_WARM_KEY: "u" + key[1:]}
    )
    images.append(in_use)
    docker_engine.containers.create(in_use, "true", network_mode="none", name=f"cx-{key[:12]}")
    try:
        removed = remove_warm_images_since(started)
        assert during in removed
        assert not _exists(docker_engine, during)
        assert _exists(docker_engine, earlier), "an image from before the session stays"
        assert _exists(docker_engine, in_use), "an image a container uses stays"
    finally:
        docker_engine.containers.get(f"cx-{key[:12]}").remove(force=True)
