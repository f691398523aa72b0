"""Per-repository warm images: a container after its setup script ran, committed and reused.

The key is the base image's id (not its name, so a rebuilt base invalidates) and name (the
environment's image choice), the setup script, the variables and the PATH prefix. Secrets are
not part of the key and never part of the image: setup gets them through its own command's
environment, and `docker.py` refuses to commit a container in which the setup script left a
secret in a file. The maintenance script is not part of the key: it runs on every warm start.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Mapping, Sequence

import docker
from docker.errors import APIError, ImageNotFound

from tasks.sandbox.spec import LABEL_WARM_CREATED, LABEL_WARM_KEY

WARM_REPOSITORY = "codexweb-warm"


def warm_key(
    *,
    base_image_id: str,
    setup_script: str,
    variables: Mapping[str, str],
    generation: int = 0,
    scope: str = "",
    image: str = "",
    path_prefix: Sequence[str] = (),
) -> str:
    payload = json.dumps(
        {
            "scope": scope,
            "base": base_image_id,
            "image": image,
            "path": list(path_prefix),
            "setup": setup_script,
            "variables": sorted(variables.items()),
            "generation": generation,
        },
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def warm_tag(key: str) -> str:
    return f"{WARM_REPOSITORY}:{key[:32]}"


def find_warm_image(
    client: docker.DockerClient, key: str, *, max_age_hours: float, now: float | None = None
) -> str | None:
    """The warm image's name when one exists for `key` and is younger than `max_age_hours`.
    An expired one is removed (best effort: a running attempt may still use it)."""
    if max_age_hours <= 0:
        return None
    now = time.time() if now is None else now
    try:
        image = client.images.get(warm_tag(key))
    except ImageNotFound:
        return None
    labels = image.labels or {}
    if labels.get(LABEL_WARM_KEY) != key:
        return None
    created = float(labels.get(LABEL_WARM_CREATED, "0") or 0)
    if now - created > max_age_hours * 3600:
        with contextlib.suppress(APIError):
            client.images.remove(image.id, force=False)
        return None
    return warm_tag(key)


def commit_warm_image(client: docker.DockerClient, container_id: str, key: str) -> str:
    """Commit the prepared container as the warm image for `key`; returns its name."""
    repository, tag = warm_tag(key).split(":")
    client.api.commit(
        container_id,
        repository=repository,
        tag=tag,
        changes=[
            f"LABEL {LABEL_WARM_KEY}={key}",
            f"LABEL {LABEL_WARM_CREATED}={int(time.time())}",
        ],
    )
    return warm_tag(key)


def prune_warm_images(
    client: docker.DockerClient, *, max_age_hours: float, now: float | None = None
) -> list[str]:
    """Remove warm images older than `max_age_hours` (all of them when it is 0); returns names."""
    now = time.time() if now is None else now
    removed: list[str] = []
    for image in client.images.list(filters={"label": LABEL_WARM_KEY}):
        created = float((image.labels or {}).get(LABEL_WARM_CREATED, "0") or 0)
        if max_age_hours > 0 and now - created <= max_age_hours * 3600:
            continue
        try:
            client.images.remove(image.id, force=False)
        except APIError:
            continue
        removed.extend(image.tags or [image.id])
    return removed
