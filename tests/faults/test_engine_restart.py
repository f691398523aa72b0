"""Item 4 for real: dockerd restarts while an attempt runs a command. The shared engine must
never be restarted, so this starts a private dockerd (its own data root, exec root, socket; no
bridge, no iptables; its own network namespace), loads the sandbox image into it, and points the
worker at it.

The attempt ends as failed saying the container engine restarted (never Succeeded), housekeeping
leaves no sandbox container behind, and the next attempt on the restarted engine works.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from repos.services import repository_register
from tasks import event_kinds as kinds
from tasks.jobs import run_attempt
from tasks.sandbox import removal
from tasks.sandbox.reaper import reap_containers
from tasks.sandbox.spec import LABEL_SANDBOX
from tasks.services import task_create
from tests.faults.conftest import (
    assert_failed_for_the_lost_container,
    next_attempt_works,
    wait_for,
    when_event,
)
from tests.support.calc_repo import IMAGE
from tests.support.model_server import call, reply

pytestmark = [pytest.mark.docker, pytest.mark.django_db(transaction=True), pytest.mark.timeout(600)]


class PrivateEngine:
    """A dockerd of the test's own, which the test may restart."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.socket = root / "d.sock"
        self.url = f"unix://{self.socket}"
        self.process: subprocess.Popen | None = None
        self.host_links_before: set[str] = set()

    def start(self) -> None:
        # In a network namespace of its own: a dockerd without a bridge deletes `docker0` as it
        # starts (moby's removeDefaultBridgeInterface), and the shared engine's default network
        # was gone for everything after this test.
        with (self.root / "dockerd.log").open("a") as log:
            self.process = subprocess.Popen(
                ["unshare", "--net", "dockerd", "--data-root", str(self.root / "data"),
                 "--exec-root", str(self.root / "x"), "--pidfile", str(self.root / "pid"),
                 "-H", self.url, "--bridge=none", "--iptables=false", "--ip6tables=false",
                 "--ip-masq=false"],
                stdout=log, stderr=subprocess.STDOUT,
            )
        wait_for(self._answers, timeout=60, what="the private dockerd")

    def _answers(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            log = (self.root / "dockerd.log").read_text()[-2000:]
            raise AssertionError(f"the private dockerd exited:\n{log}")
        try:
            return bool(self.client().ping())
        except docker.errors.DockerException:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # what a service manager does to restart it
            self.process.wait(timeout=60)

    def restart(self) -> None:
        self.stop()
        self.start()

    def client(self) -> docker.DockerClient:
        return docker.DockerClient(base_url=self.url, timeout=60)


def host_links() -> set[str]:
    """This host's network interfaces, but the veth ends containers come and go with."""
    listed = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True,
                            check=True, timeout=10).stdout
    names = {line.split(":")[1].strip().split("@")[0] for line in listed.splitlines()}
    return {name for name in names if not name.startswith("veth")}


@pytest.fixture(scope="module")
def private_engine(docker_engine) -> Iterator[PrivateEngine]:  # noqa: ANN001
    if shutil.which("dockerd") is None or os.geteuid() != 0:
        pytest.skip("starting a private Docker engine needs dockerd and root")
    engine = PrivateEngine(Path(tempfile.mkdtemp(prefix="cxd-")))  # short: socket paths
    engine.host_links_before = host_links()
    engine.start()
    try:
        save = subprocess.Popen(["docker", "save", IMAGE], stdout=subprocess.PIPE)
        subprocess.run(
            ["docker", "-H", engine.url, "load", "-q"], stdin=save.stdout, check=True,
            capture_output=True, timeout=400,
        )
        assert save.wait(timeout=60) == 0
        yield engine
    finally:
        client = engine.client()
        for container in client.api.containers(all=True):
            client.api.remove_container(container["Id"], force=True)
        engine.stop()
        shutil.rmtree(engine.root, ignore_errors=True)


def test_a_dockerd_restart_mid_attempt_fails_it_clearly_and_the_next_attempt_works(
    private_engine, fault_settings, monkeypatch, model_server, acme, alice, fixture_repo
):
    monkeypatch.setenv("DOCKER_HOST", private_engine.url)  # the worker's engine
    repository = repository_register(team=acme, location=str(fixture_repo))
    model_server.add(reply(call("shell", {"command": "sleep 30"})), reply("Done."))
    task = task_create(
        author=alice, repository=repository, mode="code", prompt="Wait.", base_branch="main"
    )
    attempt = task.attempts.get()

    restarter = when_event(attempt, kinds.COMMAND, "sleep 30", private_engine.restart)

    run_attempt(attempt.pk)

    restarter.join(timeout=120)
    assert_failed_for_the_lost_container(attempt)
    # The worker's own removal of the killed container, then housekeeping, a little later: no
    # sandbox is left on the engine.
    assert removal.drain(60)
    client = private_engine.client()
    reap_containers(client, now=time.time() + 60)
    assert client.api.containers(all=True, filters={"label": LABEL_SANDBOX}) == []
    next_attempt_works(model_server, repository, alice)


def test_the_private_engine_leaves_the_hosts_network_alone(private_engine):
    """Restarted too: each start of a bridge-less dockerd on the host's network deleted docker0."""
    private_engine.restart()

    assert private_engine.host_links_before - host_links() == set()
