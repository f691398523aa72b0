"""Per-repository warm images: a container after its setup script ran, committed and reused.

An image carries the repository's files and whatever setup made while it held the secrets, so
its key names everything that decides what it holds and who may see it: the installation (a
random id per database, so two installs on one engine never share), the repository's identity,
the commit setup ran on (whoever runs first cannot choose the code that runs with the secrets
for everyone else), where /workspace lives (an image made with the tree in its layer would
carry it into every workspace volume made from it), the base image's id (a rebuilt base
invalidates) and name (the environment's image choice), the setup script, the variables, the
PATH prefix, the secrets' *versions* (a hash of when each was set, never a value) and the
environment's cache generation. The same facts are labels on the image, and an image is reused
only when every label matches: a tag is just a name anyone on the engine can point elsewhere.
The maintenance script is not part of the key: it runs on every warm start.

Secrets are never part of the image: setup gets them through its own command's environment, and
`docker.py` refuses to commit a container in which setup left one in a file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Iterable

import docker
from docker.errors import APIError, ImageNotFound

from tasks.sandbox.base import SandboxSpec
from tasks.sandbox.spec import (
    LABEL_SANDBOX,
    LABEL_WARM_COMMIT,
    LABEL_WARM_CREATED,
    LABEL_WARM_INSTALL,
    LABEL_WARM_KEY,
    LABEL_WARM_REPOSITORY,
)

WARM_REPOSITORY = "codexweb-warm"
# Where /workspace lives (part of the key): in the container's layer, a commit keeps the tree
# setup left (which Docker copies into a workspace volume made from the image, and the start
# then deletes); on a volume of its own, the image's /workspace stays empty.
WORKSPACE_IN_LAYER = "layer"
WORKSPACE_ON_VOLUME = "volume"
# The committed container's labels a warm image keeps: what marks it as the sandbox's.
KEPT_LABELS = frozenset({LABEL_SANDBOX})


def cacheable(spec: SandboxSpec) -> bool:
    """Whether `spec` names its owner well enough to share a warm image (see the module doc)."""
    return bool(spec.setup_script.strip() and spec.install_id and spec.repository and spec.commit)


def warm_key(spec: SandboxSpec, *, base_image_id: str, workspace: str) -> str:
    """The key of `spec`'s warm image; `workspace` is the layout it is made with
    (WORKSPACE_IN_LAYER or WORKSPACE_ON_VOLUME)."""
    payload = json.dumps(
        {
            "workspace": workspace,
            "install": spec.install_id,
            "repository": spec.repository,
            "commit": spec.commit,
            "scope": spec.cache_scope,
            "base": base_image_id,
            "image": spec.image,
            "path": list(spec.path_prefix),
            "setup": spec.setup_script,
            "variables": sorted(spec.variables.items()),
            "secrets": sorted(spec.secret_versions.items()),
            "generation": spec.cache_generation,
            # The extra CAs setup ran with are in the image: another set is another image, so a
            # warm start never has to look for (or remove) CAs an earlier setting left.
            "extra_ca": hashlib.sha256(spec.extra_ca_pem.encode()).hexdigest()
            if spec.extra_ca_pem
            else "",
        },
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def warm_labels(spec: SandboxSpec, key: str) -> dict[str, str]:
    """The labels a warm image for `spec` carries, and must carry to be reused."""
    return {
        LABEL_WARM_KEY: key,
        LABEL_WARM_INSTALL: spec.install_id,
        LABEL_WARM_REPOSITORY: spec.repository,
        LABEL_WARM_COMMIT: spec.commit,
    }


def warm_tag(key: str) -> str:
    return f"{WARM_REPOSITORY}:{key[:32]}"


def find_warm_image(
    client: docker.DockerClient,
    key: str,
    *,
    labels: dict[str, str],
    max_age_hours: float,
    now: float | None = None,
) -> str | None:
    """The warm image's id when one is tagged for `key`, carries exactly `labels` and is younger
    than `max_age_hours`. An expired one of ours is removed (best effort: a running attempt may
    still use it); one whose labels differ is left alone — it is not ours to judge."""
    if max_age_hours <= 0:
        return None
    now = time.time() if now is None else now
    try:
        image = client.images.get(warm_tag(key))
    except ImageNotFound:
        return None
    found = image.labels or {}
    if any(found.get(name) != value for name, value in labels.items()):
        return None
    created = float(found.get(LABEL_WARM_CREATED, "0") or 0)
    if now - created > max_age_hours * 3600:
        with contextlib.suppress(APIError):
            client.images.remove(image.id, force=False)
        return None
    # The id, not the tag: the tag could be moved between this check and the container's start.
    return str(image.id)


def commit_warm_image(
    client: docker.DockerClient,
    container_id: str,
    key: str,
    *,
    labels: dict[str, str],
    forget: Iterable[str] = (),
) -> tuple[str, str]:
    """Commit the prepared container as the warm image for `key`; its name and id.

    A container inherits its image's labels, so `forget` — the labels the sandbox put on the
    committed container (`spec.labels_for`: its attempt, task, worker, deadline) — are emptied
    in the image: otherwise every container made from it that does not set them itself (a
    pooled one) would claim to be that attempt's, and the reaper looking for that attempt's
    containers by label would find them. The base image's own labels stay."""
    repository, tag = warm_tag(key).split(":")
    changes = [f'LABEL {name}=""' for name in sorted(forget) if name not in KEPT_LABELS]
    changes += [f"LABEL {name}={json.dumps(value)}" for name, value in labels.items()]
    changes.append(f"LABEL {LABEL_WARM_CREATED}={int(time.time())}")
    made = client.api.commit(container_id, repository=repository, tag=tag, changes=changes)
    return warm_tag(key), str(made["Id"])


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
