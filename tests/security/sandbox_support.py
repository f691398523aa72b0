"""Helpers of the sandbox security tests: small git checkouts, and cleanup of warm images by
install id. (The fixtures — a real engine, the real image, real proxies — come from the sandbox
suite through conftest.py.)"""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import docker

from tasks.sandbox.spec import LABEL_WARM_INSTALL

GIT = [
    "git",
    "-c",
    "user.name=t",
    "-c",
    "user.email=t@example.invalid",
    "-c",
    "core.hooksPath=/dev/null",
]


def checkout(path: Path, files: dict[str, str]) -> str:
    """Make `path` a git checkout holding exactly `files` in one commit; returns the commit."""
    path.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    subprocess.run(GIT + ["init", "-q"], cwd=path, check=True)
    subprocess.run(GIT + ["add", "-A"], cwd=path, check=True)
    subprocess.run(GIT + ["commit", "-qm", "c"], cwd=path, check=True)
    return commit_of(path)


def commit_of(path: Path) -> str:
    done = subprocess.run(
        GIT + ["rev-parse", "HEAD"], cwd=path, check=True, capture_output=True, text=True
    )
    return done.stdout.strip()


def new_install_id() -> str:
    return f"test-{uuid.uuid4().hex}"


def remove_warm_images(client: docker.DockerClient, *install_ids: str) -> None:
    """Remove the warm images these (test) installations made, superseded ones too."""
    for install in install_ids:
        for image in client.images.list(
            all=True, filters={"label": f"{LABEL_WARM_INSTALL}={install}"}
        ):
            client.images.remove(image.id, force=True)
