"""The pool of pre-started containers (tasks/sandbox/pool.py) on a real engine: an attempt takes
one and the pool refills, a taken container is what a fresh one would be, two processes racing
for one get it once, a dead or removed pooled container is skipped, the reaper removes the pool
of a dead worker and a claimed container like any attempt's, and a pool of 0 is the old path.

Every test keys its pool by an installation id of its own, so tests (and other suites on the
same engine) never take each other's containers."""

from __future__ import annotations

import contextlib
import multiprocessing
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import docker
import pytest

from tasks.sandbox import pool
from tasks.sandbox.base import NetworkPolicy, SandboxOwner, SandboxSpec
from tasks.sandbox.container import PID1_COMMAND
from tasks.sandbox.docker import DockerSandbox
from tasks.sandbox.reaper import reap_containers, reap_owner, sandbox_containers
from tasks.sandbox.spec import (
    HELPER_PATH,
    LABEL_ATTEMPT,
    LABEL_DEADLINE,
    LABEL_FOR,
    LABEL_OWNER,
    LABEL_SANDBOX,
    LABEL_WARM_CREATED,
    container_plan,
    owner_token,
)
from tasks.sandbox.warm_start import create_container
from tasks.worker.housekeeping import end_attempts_without_heartbeat_once
from tests.support.sandbox_fixtures import IMAGE

DEAD_OWNER = f"{socket.gethostname()}:999999999:1"  # a process of this host that is gone

PoolSandbox = Callable[..., DockerSandbox]


@pytest.fixture
def pool_sandbox(make_sandbox, docker_engine) -> Iterator[PoolSandbox]:  # noqa: ANN001
    """`make_sandbox` with an installation of its own (the pool's key holds it) and a pool of
    1; waits for the refill a start asked for; afterwards removes the pools it used."""
    install = f"pool-test-{uuid.uuid4().hex[:8]}"
    made: list[DockerSandbox] = []

    def make(*, pool_size: int = 1, start: bool = True, **fields: object) -> DockerSandbox:
        sandbox = make_sandbox(start=False, pool_size=pool_size, install_id=install, **fields)
        made.append(sandbox)
        if start:
            sandbox.start()
            if sandbox.pool_refill is not None:
                sandbox.pool_refill.join(timeout=120)
        return sandbox

    yield make
    for key in {s.pool_key for s in made if s.pool_key}:
        for info in docker_engine.api.containers(
            all=True, filters={"label": f"{pool.LABEL_POOL}={key}"}
        ):
            with contextlib.suppress(docker.errors.NotFound):
                docker_engine.api.remove_container(info["Id"], force=True, v=True)


def _pooled(client: docker.DockerClient, key: str) -> list[dict]:
    """The unclaimed pool containers of `key`."""
    return [
        info
        for info in client.api.containers(all=True, filters={"label": f"{pool.LABEL_POOL}={key}"})
        if info["Names"][0].lstrip("/").startswith(pool.POOL_PREFIX)
    ]


def test_an_attempt_takes_a_pre_started_container_and_the_pool_refills(pool_sandbox, docker_engine):  # noqa: ANN001
    first = pool_sandbox()
    assert not first.pooled  # nothing pre-started yet: made as always
    waiting = _pooled(docker_engine, first.pool_key)
    assert [w["State"] for w in waiting] == ["paused"]  # the refill made one, paused

    second = pool_sandbox()
    assert second.pooled and second.container_id == waiting[0]["Id"]
    assert second.pool_key == first.pool_key
    # The refill made the next one.
    assert [w["Id"] for w in _pooled(docker_engine, first.pool_key)] != [waiting[0]["Id"]]
    assert len(_pooled(docker_engine, first.pool_key)) == 1
    assert second.exec("cat README.md; id -un").output == "# demo\nsandbox\n"


def test_a_taken_container_is_what_a_fresh_one_would_be(pool_sandbox, docker_engine):  # noqa: ANN001
    fresh = pool_sandbox()
    pooled = pool_sandbox(read_only=True)  # an Ask may take what a Code attempt's refill made
    assert pooled.pooled and not fresh.pooled
    fresh_info = docker_engine.api.inspect_container(fresh.container_id)
    info = docker_engine.api.inspect_container(pooled.container_id)
    for field in (
        "NetworkMode",
        "CapDrop",
        "SecurityOpt",
        "Memory",
        "MemorySwap",
        "NanoCpus",
        "PidsLimit",
        "Ulimits",
        "IpcMode",
        "Init",
        "Binds",
        "ShmSize",
    ):
        assert info["HostConfig"][field] == fresh_info["HostConfig"][field], field
    assert info["Config"]["Env"] == fresh_info["Config"]["Env"]
    assert info["Config"]["User"] == "root" and info["Config"]["Cmd"] == PID1_COMMAND
    # The reaper reads the claim from its name: this attempt's, this worker, the deadline.
    name = info["Name"].lstrip("/")
    assert name.startswith(f"codexweb-{pooled.spec.owner.slug}-")
    terms = pool.pool_terms({"Labels": info["Config"]["Labels"], "Names": [info["Name"]]})
    assert terms is not None and terms.owner == owner_token() and terms.grace
    assert abs(terms.deadline - (time.time() + pooled.spec.wall_seconds)) < 120
    # Nothing ran in it before: PID 1 and its sleep, then this attempt's resident helper
    # (started as its agent phase began) and this command; no OOM kill counted.
    processes = pooled.exec("ps -eo args=").output.splitlines()
    assert processes.count(HELPER_PATH) == 1
    ours = ("ps -eo args=", HELPER_PATH)
    assert [p for p in processes if "codexweb-exec" not in p and p not in ours] == [
        f"/sbin/docker-init -- {' '.join(PID1_COMMAND)}",
        "sleep infinity",
    ]
    assert pooled._require_shell().oom_kills() == 0
    # An Ask runs as `reader`, who cannot write the workspace, as in a fresh container.
    assert pooled.exec("id -un").output == "reader\n"
    assert pooled.exec("touch /workspace/x").exit_code != 0


def test_two_processes_racing_for_one_pooled_container_get_it_once(pool_sandbox, docker_engine):  # noqa: ANN001
    primer = pool_sandbox(pool_size=2)  # its refill makes two
    pooled = {w["Id"] for w in _pooled(docker_engine, primer.pool_key)}
    assert len(pooled) == 2
    image_id = docker_engine.api.inspect_container(primer.container_id)["Image"]
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(4)
    results = context.Queue()
    racers = [
        context.Process(target=_race, args=(primer.pool_key, image_id, i, barrier, results))
        for i in range(4)
    ]
    for racer in racers:
        racer.start()
    got = [results.get(timeout=120) for _ in racers]
    for racer in racers:
        racer.join(timeout=30)
    won = [g for g in got if g]
    assert len(won) == 2 and set(won) == pooled  # each container claimed exactly once
    assert got.count("") == 2
    for container in won:
        assert docker_engine.api.inspect_container(container)["State"]["Status"] == "running"
        docker_engine.api.remove_container(container, force=True)


def _race(key: str, image_id: str, i: int, barrier, results) -> None:  # noqa: ANN001
    api = docker.from_env(timeout=60).api
    name = pool.claimed_name(
        f"codexweb-attempt-{700_000 + i}-race{i}", deadline=time.time() + 60, owner=owner_token()
    )
    assert name is not None
    barrier.wait(timeout=60)
    results.put(pool.take(api, key, image_id=image_id, name=name) or "")


def test_a_dead_or_removed_pooled_container_is_skipped(pool_sandbox, docker_engine):  # noqa: ANN001
    primer = pool_sandbox(pool_size=2)
    stopped, removed = (w["Id"] for w in _pooled(docker_engine, primer.pool_key))
    docker_engine.api.unpause(stopped)
    docker_engine.api.kill(stopped)  # died while it waited
    docker_engine.api.remove_container(removed, force=True)  # removed by someone

    after = pool_sandbox()
    assert not after.pooled  # made as always
    assert after.exec("cat README.md").output == "# demo\n"


def _pool_container(client: docker.DockerClient, *, key: str, owner: str, deadline: float) -> str:
    spec = SandboxSpec(owner=SandboxOwner.attempt(1), image=IMAGE, workspace=Path("/"))
    plan = pool.pool_plan(
        container_plan(spec, image=IMAGE, name="x", egress_dir=None, disk_quota=False),
        key,
        deadline=deadline,
    )
    plan = replace(plan, labels={**plan.labels, LABEL_OWNER: owner})
    container = create_container(client.api, plan)
    client.api.start(container)
    pool._pause(client.api, container)
    return container


def test_the_reaper_removes_the_pool_of_a_dead_worker_and_judges_claims_by_name(docker_engine):  # noqa: ANN001
    key = f"reaper-test-{uuid.uuid4().hex}"
    now = time.time()
    mine = _pool_container(docker_engine, key=key, owner=owner_token(), deadline=now + 600)
    orphan = _pool_container(docker_engine, key=key, owner=DEAD_OWNER, deadline=now + 600)
    idle = _pool_container(docker_engine, key=key, owner=owner_token(), deadline=now - 1)
    # Claimed by a live worker (this one) though made by a dead one: kept.
    claimed = _pool_container(docker_engine, key=key, owner=DEAD_OWNER, deadline=now + 600)
    docker_engine.api.unpause(claimed)
    live_name = pool.claimed_name(
        "codexweb-attempt-700201-aa", deadline=now + 600, owner=owner_token()
    )
    docker_engine.api.rename(claimed, live_name)
    # Claimed by a worker that died: removed, whoever made it.
    lost = _pool_container(docker_engine, key=key, owner=owner_token(), deadline=now + 600)
    docker_engine.api.unpause(lost)
    lost_name = pool.claimed_name(
        "codexweb-attempt-700202-bb", deadline=now + 600, owner=DEAD_OWNER
    )
    docker_engine.api.rename(lost, lost_name)
    # Claimed by a live worker on another host, past its deadline and the grace: removed.
    overdue = _pool_container(docker_engine, key=key, owner=owner_token(), deadline=now + 600)
    docker_engine.api.unpause(overdue)
    docker_engine.api.rename(
        overdue,
        pool.claimed_name("codexweb-attempt-700203-cc", deadline=now - 999, owner="far:1:1"),
    )
    try:
        removed = reap_containers(docker_engine, grace_seconds=60)
        left = {
            c["Id"]
            for c in docker_engine.api.containers(
                all=True, filters={"label": f"{pool.LABEL_POOL}={key}"}
            )
        }
        assert left == {mine, claimed}
        assert lost_name in removed or not _exists(docker_engine, lost)  # (or another reaper)
        # A lost attempt's own clean-up finds its claimed container by name (no attempt label).
        assert (
            reap_owner(docker_engine, SandboxOwner.attempt(700201), runtime_dir=None).containers
            == []
        )
        assert docker_engine.api.inspect_container(claimed)["State"]["Running"]
        assert orphan not in left and idle not in left and overdue not in left
    finally:
        for container in (mine, orphan, idle, claimed, lost, overdue):
            with contextlib.suppress(docker.errors.NotFound):
                docker_engine.api.remove_container(container, force=True)


def _exists(client: docker.DockerClient, container: str) -> bool:
    try:
        client.api.inspect_container(container)
    except docker.errors.NotFound:
        return False
    return True


def test_a_lost_attempts_clean_up_removes_its_claimed_pool_container(docker_engine):  # noqa: ANN001
    key = f"reaper-test-{uuid.uuid4().hex}"
    container = _pool_container(
        docker_engine, key=key, owner=owner_token(), deadline=time.time() + 600
    )
    docker_engine.api.unpause(container)
    name = pool.claimed_name(
        "codexweb-attempt-700301-dd", deadline=time.time() + 600, owner=DEAD_OWNER
    )
    docker_engine.api.rename(container, name)
    try:
        # Another attempt's clean-up leaves it alone ("attempt-70030" is a prefix of the name).
        assert (
            reap_owner(docker_engine, SandboxOwner.attempt(70030), runtime_dir=None).containers
            == []
        )
        report = reap_owner(docker_engine, SandboxOwner.attempt(700301), runtime_dir=None)
        assert report.containers == [name]
    finally:
        with contextlib.suppress(docker.errors.NotFound):
            docker_engine.api.remove_container(container, force=True)


def test_pool_off_is_the_old_path(pool_sandbox, docker_engine):  # noqa: ANN001
    off = pool_sandbox(pool_size=0)
    assert not off.pooled and off.pool_key == "" and off.pool_refill is None
    on = pool_sandbox()  # the same plan with the pool on
    assert not on.pooled  # the start with the pool off left nothing pre-started
    name = docker_engine.api.inspect_container(off.container_id)["Name"].lstrip("/")
    assert name.startswith(f"codexweb-{off.spec.owner.slug}-") and "--claimed-" not in name
    labels = docker_engine.api.inspect_container(off.container_id)["Config"]["Labels"]
    assert pool.LABEL_POOL not in labels and labels[LABEL_SANDBOX] == "1"


def test_only_plans_a_pre_started_container_can_serve_use_the_pool(pool_sandbox, docker_engine):  # noqa: ANN001
    egress = pool_sandbox(agent_network=NetworkPolicy(mode="allowlist", domains=("allowed.test",)))
    assert egress.pool_key == "" and not egress.pooled
    setup = pool_sandbox(setup_script="true", setup_network=NetworkPolicy(mode="off"))
    assert setup.pool_key == "" and not setup.pooled
    run = pool_sandbox(owner=SandboxOwner.setup_run(800_999))
    assert run.pool_key == "" and not run.pooled


def test_the_first_warm_attempt_after_setup_takes_a_pre_started_container(
    pool_sandbox, docker_engine  # noqa: ANN001
):
    """Setup's commit pre-starts a container of the warm image it made (the pool is otherwise
    learned from a miss, so the first warm attempt after every setup made its own)."""
    owner = {
        "setup_script": "true",
        "setup_network": NetworkPolicy(mode="off"),
        "repository": "1:git:acme/demo",
        "commit": uuid.uuid4().hex[:40].ljust(40, "0"),
        "warm_cache_hours": 1.0,
    }
    cold = pool_sandbox(**owner)
    try:
        assert cold.warm_image and not cold.warm_hit and not cold.pooled
        warm = pool_sandbox(**owner)
        assert warm.warm_hit and warm.pooled, "the first warm start made its own container"
        image = docker_engine.api.inspect_container(warm.container_id)["Image"]
        assert image == docker_engine.images.get(cold.warm_image).id
        assert warm.exec("cat README.md").output == "# demo\n"
    finally:
        docker_engine.images.remove(cold.warm_image, force=True)


def test_containers_of_a_warm_image_do_not_claim_the_attempt_that_made_it(
    pool_sandbox, docker_engine  # noqa: ANN001
):
    """A container inherits its image's labels: the pooled container of a warm image must not
    carry the attempt, task and worker of the container setup ran in, or the reaper looking for
    that attempt's containers would find it (and, once claimed, another attempt's)."""
    cold = pool_sandbox(
        setup_script="true",
        setup_network=NetworkPolicy(mode="off"),
        repository="1:git:acme/demo",
        commit=uuid.uuid4().hex[:40].ljust(40, "0"),
        warm_cache_hours=1.0,
        labels={"org.codexweb.task": "77"},
    )
    try:
        made_by = docker_engine.api.inspect_container(cold.container_id)["Config"]["Labels"]
        assert made_by[LABEL_ATTEMPT] == str(cold.spec.owner.id)
        assert made_by["org.codexweb.task"] == "77"
        image = docker_engine.images.get(cold.warm_image).labels
        assert image[LABEL_SANDBOX] == "1" and image[LABEL_WARM_CREATED]
        base = docker_engine.images.get(IMAGE).labels or {}
        assert all(image[name] == value for name, value in base.items()), "base labels lost"
        for name in (LABEL_ATTEMPT, LABEL_FOR, LABEL_OWNER, LABEL_DEADLINE, "org.codexweb.task"):
            assert image[name] == "", name

        (spare,) = docker_engine.api.containers(
            all=True, filters={"label": pool.LABEL_POOL, "ancestor": cold.warm_image}
        )
        assert spare["Labels"][LABEL_ATTEMPT] == "" and spare["Labels"]["org.codexweb.task"] == ""
        assert spare["Labels"][LABEL_OWNER] == owner_token()
        found = {info["Id"] for info in sandbox_containers(docker_engine, cold.spec.owner)}
        assert found == {cold.container_id}
    finally:
        for info in docker_engine.api.containers(
            all=True, filters={"label": pool.LABEL_POOL, "ancestor": cold.warm_image}
        ):
            docker_engine.api.remove_container(info["Id"], force=True, v=True)
        docker_engine.images.remove(cold.warm_image, force=True)


def test_a_pooled_container_never_outlives_its_warm_image(docker_engine):  # noqa: ANN001
    created = docker_engine.api.create_container(IMAGE, command=["true"])
    now = time.time()
    warm = docker_engine.api.commit(
        created["Id"], changes=[f"LABEL {LABEL_WARM_CREATED}={int(now - 11.9 * 3600)}"]
    )["Id"]
    try:
        deadline = pool.pool_deadline(
            docker_engine.api, warm, idle_seconds=600, cache_hours=12, now=now
        )
        assert deadline == pytest.approx(now - 11.9 * 3600 + 12 * 3600, abs=2)
        base = docker_engine.api.inspect_image(IMAGE)["Id"]
        assert pool.pool_deadline(
            docker_engine.api, base, idle_seconds=600, cache_hours=12, now=now
        ) == pytest.approx(now + 600)
    finally:
        docker_engine.api.remove_container(created["Id"], force=True)
        docker_engine.api.remove_image(warm, force=True)


def test_claimed_names_carry_the_deadline_and_worker_and_refuse_odd_hosts():
    name = pool.claimed_name("codexweb-attempt-42-1a2b3c4d", deadline=1234.9, owner="h.x-1:77:99")
    assert name == "codexweb-attempt-42-1a2b3c4d--claimed-1234-77-99-h.x-1"
    terms = pool.pool_terms(
        {"Labels": {pool.LABEL_POOL: "k", LABEL_DEADLINE: "5"}, "Names": [f"/{name}"]}
    )
    assert terms == pool.PoolTerms(deadline=1234.0, owner="h.x-1:77:99", grace=True)
    assert pool.claimed_by(f"/{name}", "attempt-42") and not pool.claimed_by(name, "attempt-4")
    assert pool.claimed_name("n", deadline=1, owner="bad host:1:2") is None
    # Unclaimed: its own deadline, no grace; its maker counts only while it waits paused.
    waiting = {"Labels": {pool.LABEL_POOL: "k", LABEL_DEADLINE: "5", LABEL_OWNER: "h:1:2"}}
    paused = pool.pool_terms({**waiting, "Names": ["/codexweb-pool-k-1"], "State": "paused"})
    running = pool.pool_terms({**waiting, "Names": ["/codexweb-pool-k-1"], "State": "running"})
    assert paused == pool.PoolTerms(deadline=5.0, owner="h:1:2", grace=False)
    assert running == pool.PoolTerms(deadline=5.0, owner="", grace=False)
    assert pool.pool_terms({"Labels": {LABEL_DEADLINE: "5"}, "Names": ["/x"]}) is None


def test_another_installations_pooled_container_is_never_taken(
    pool_sandbox, make_sandbox, docker_engine
):  # noqa: ANN001
    """Two installations on one engine, the same image and plan: one's pre-started container
    is not the other's (the key holds the installation, as a warm image's does)."""
    mine = pool_sandbox()
    waiting = [w["Id"] for w in _pooled(docker_engine, mine.pool_key)]
    assert len(waiting) == 1
    other = make_sandbox(pool_size=1, install_id=f"other-{uuid.uuid4().hex[:8]}")
    if other.pool_refill is not None:
        other.pool_refill.join(timeout=120)
    try:
        assert not other.pooled and other.pool_key != mine.pool_key
        assert [w["Id"] for w in _pooled(docker_engine, mine.pool_key)] == waiting
    finally:
        for info in _pooled(docker_engine, other.pool_key):
            docker_engine.api.remove_container(info["Id"], force=True, v=True)


FILL_AND_EXIT = """
import os, sys, time
from pathlib import Path
import docker
from tasks.sandbox import pool
from tasks.sandbox.base import SandboxOwner, SandboxSpec
from tasks.sandbox.spec import container_plan
from tasks.sandbox.warm_start import create_container

image, key, how = sys.argv[1:4]
spec = SandboxSpec(owner=SandboxOwner.attempt(1), image=image, workspace=Path("/"))
plan = container_plan(spec, image=image, name="x", egress_dir=None, disk_quota=False)
api = docker.from_env(timeout=60).api
[made] = pool.fill(api, plan, key, size=1, deadline=time.time() + 600, create=create_container)
print(made, flush=True)
if how == "killed":
    os._exit(0)  # as a SIGKILL would: no exit hooks
"""


@pytest.mark.parametrize("how", ["exits", "killed"])
def test_a_worker_that_exits_cleanly_takes_its_pool_with_it(docker_engine, how):  # noqa: ANN001
    """A clean exit removes the unclaimed containers the process pooled; a killed worker's stay
    for the reaper (their maker is gone: see the reaper test above)."""
    key = f"exit-test-{uuid.uuid4().hex}"
    child = subprocess.run(
        [sys.executable, "-c", FILL_AND_EXIT, IMAGE, key, how],
        capture_output=True, text=True, timeout=180, cwd=Path(__file__).parents[2],
    )
    assert child.returncode == 0, child.stderr
    made = child.stdout.split()[0]
    left = [c["Id"] for c in _pooled(docker_engine, key)]
    try:
        assert left == ([] if how == "exits" else [made])
    finally:
        for container in left:
            docker_engine.api.remove_container(container, force=True, v=True)


def _events(client: docker.DockerClient, container: str, event: str) -> list[dict]:
    """The engine's `event` events of `container` so far, oldest first."""
    created = client.api.inspect_container(container)["Created"]
    since = int(datetime.fromisoformat(created[:19]).replace(tzinfo=UTC).timestamp()) - 1
    return list(
        client.api.events(
            since=since,
            until=int(time.time()) + 1,
            filters={"container": container, "event": event},
            decode=True,
        )
    )


def test_a_claimed_container_brings_a_helper_started_before_it_was_paused(
    pool_sandbox, docker_engine
):  # noqa: ANN001
    # The refill started the resident helper before pausing the container (it never runs a
    # script, so no secret ever met it): the attempt taking it skips that exec on its way to
    # the first command.
    first = pool_sandbox()
    second = pool_sandbox()
    assert second.pooled and second._helper is not None
    helpers = [
        e for e in _events(docker_engine, second.container_id, "exec_create")
        if HELPER_PATH in e.get("Action", "")
    ]
    paused = _events(docker_engine, second.container_id, "pause")
    claimed = _events(docker_engine, second.container_id, "rename")
    assert len(helpers) == 1 and len(paused) == 1 and len(claimed) == 1
    assert helpers[0]["timeNano"] < paused[0]["timeNano"] < claimed[0]["timeNano"]
    assert second.exec("id -un; echo $PPID").output.split() == ["sandbox", str(second._helper.pid)]
    assert first._helper is not None  # made as always: its helper started as the agent phase began


def test_an_ask_taking_a_code_attempts_pooled_container_gets_a_reader_helper(
    pool_sandbox, docker_engine
):  # noqa: ANN001
    pool_sandbox()
    ask = pool_sandbox(read_only=True)
    assert ask.pooled and ask._helper is not None and ask._helper.user == "reader"
    assert ask.exec("id -un").output == "reader\n"
    left = ask.exec("ps -o user=,args= -e | grep -c '^sandbox.*codexweb-helper' || true")
    assert left.output.strip() == "0"  # the parked one, started for `sandbox`, is gone


@pytest.mark.django_db
def test_a_worker_starting_removes_a_killed_workers_pool_at_once(docker_engine, settings):  # noqa: ANN001
    """The killed worker's paused pool container goes when a worker starts (its orphan check,
    tasks/worker/housekeeping.py), not at the reaper's next pass; this live worker's pool and
    another host's stay. The dead owner is a real process that was killed (no exit hooks)."""
    settings.SANDBOX_BACKEND = "docker"
    key = f"start-test-{uuid.uuid4().hex}"
    child = subprocess.run(
        [sys.executable, "-c", FILL_AND_EXIT, IMAGE, key, "killed"],
        capture_output=True, text=True, timeout=180, cwd=Path(__file__).parents[2],
    )
    assert child.returncode == 0, child.stderr
    dead = child.stdout.split()[0]
    deadline = time.time() + 600
    mine = _pool_container(docker_engine, key=key, owner=owner_token(), deadline=deadline)
    far = _pool_container(docker_engine, key=key, owner="far-host:1:1", deadline=deadline)
    try:
        assert {c["Id"] for c in _pooled(docker_engine, key)} == {dead, mine, far}

        end_attempts_without_heartbeat_once()

        assert {c["Id"] for c in _pooled(docker_engine, key)} == {mine, far}
        assert docker_engine.api.inspect_container(mine)["State"]["Paused"]
    finally:
        for info in _pooled(docker_engine, key):
            docker_engine.api.remove_container(info["Id"], force=True, v=True)
