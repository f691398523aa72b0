"""Between commands the idle watch asks which processes are left in a sandbox
(tasks/sandbox/idle_watch.py). On the engine's own host it reads the container's cgroup and
/proc instead of `docker top` (a `runc ps` and a `ps` each: under 20 attempts at once that
doubled the containerd shims' CPU); elsewhere it asks the engine. Both must say the same."""

from __future__ import annotations

import pytest

from tasks.sandbox.idle_watch import cgroup_processes, user_processes_left

pytestmark = pytest.mark.docker


def engine_view(docker_engine, container_id: str) -> dict[int, int]:
    rows = docker_engine.api.top(container_id, ps_args="-eo pid,uid")["Processes"]
    return {int(pid): int(uid) for pid, uid, *_ in rows}


def init_pid(docker_engine, container_id: str) -> int:
    return int(docker_engine.api.inspect_container(container_id)["State"]["Pid"])


def test_the_cgroup_read_sees_what_docker_top_sees(make_sandbox, docker_engine):
    sandbox = make_sandbox(helper=False)  # the sleep is the only process of the agent user
    sandbox.exec("nohup sleep 300 >/dev/null 2>&1 & echo left", timeout=30)
    container = sandbox.container_id
    pid = init_pid(docker_engine, container)

    local = cgroup_processes(container, pid)

    assert local is not None, "the engine runs on this host: its cgroups are readable here"
    assert local == engine_view(docker_engine, container)
    assert any(uid != local[pid] for uid in local.values()), "the agent's sleep is listed"
    assert user_processes_left(docker_engine.api, container, init_pid=pid, spare_pid=0)


def test_a_pid_that_is_not_the_containers_is_not_taken_for_it(make_sandbox, docker_engine):
    """Another container's PID 1 (or a process of another pid namespace under the same number)
    must not stand in for this one: the cgroup read declines and the engine is asked."""
    first, second = make_sandbox(), make_sandbox()
    other_pid = init_pid(docker_engine, second.container_id)

    assert cgroup_processes(first.container_id, other_pid) is None
    assert cgroup_processes(first.container_id, 0) is None
    # Through the engine, that pid is not in the first container either: "restarted", None.
    assert (
        user_processes_left(
            docker_engine.api, first.container_id, init_pid=other_pid, spare_pid=0
        )
        is None
    )


def test_nothing_left_after_the_commands_means_no_user_process(make_sandbox, docker_engine):
    sandbox = make_sandbox(helper=False)
    sandbox.exec("true", timeout=30)
    container = sandbox.container_id
    pid = init_pid(docker_engine, container)

    assert not user_processes_left(docker_engine.api, container, init_pid=pid, spare_pid=0)
