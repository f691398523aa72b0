"""Session-end cleanup: the warm images a test session made do not outlive it.

Tests that run setup with the image cache on (warm starts, the warm pool, the warm flight, the
embedded stacks' Code tasks) commit `codexweb-warm:*` images under installation ids of their
own, which no later run ever reuses. Production prunes them by age (the reaper), but a machine
that runs the suite over and over gained four images per run (found after a day of CI runs:
27 images). When the session ends, every warm image committed since it started is removed;
one a container still uses is left (the engine refuses), and no engine at all is fine.

A second test session on the same engine at the same time could lose a warm image it has just
made; it then runs its setup again (a cache miss), which is why this is safe enough.
"""

from __future__ import annotations

import contextlib
import math

import docker
from docker.errors import APIError, DockerException

from tasks.sandbox.spec import LABEL_WARM_CREATED, LABEL_WARM_KEY


def warm_images_since(client: docker.DockerClient, started: float) -> list[str]:
    """Ids of the warm images committed at or after `started` (their label has whole seconds)."""
    since = math.floor(started)
    found = []
    for image in client.images.list(filters={"label": LABEL_WARM_KEY}):
        created = (image.labels or {}).get(LABEL_WARM_CREATED, "")
        if created.isdigit() and int(created) >= since:
            found.append(str(image.id))
    return found


def remove_warm_images_since(started: float) -> list[str]:
    """Remove the warm images committed at or after `started`; the ids removed."""
    try:
        client = docker.from_env(timeout=30)
        client.ping()
    except DockerException:
        return []
    removed = []
    try:
        for image_id in warm_images_since(client, started):
            with contextlib.suppress(APIError):
                client.images.remove(image_id, force=False)
                removed.append(image_id)
    finally:
        client.close()
    return removed
