"""A command can leave a process behind (a dev server is meant to keep running), and the disk
limit is measured while commands run (an engine without quotas: tasks/sandbox/watch.py). An
agent that leaves a writer in the background must not fill the host's disk through it: when
the watchdog finds the limit passed, the writer goes too, not only the command it caught.
"""

from __future__ import annotations

import time

import pytest

pytestmark = pytest.mark.docker

# Up to 600 MB in 20 MB files (each under the per-file limit), against a 200 MB limit.
WRITER = (
    "nohup sh -c 'i=0; while [ $i -lt 30 ]; do head -c 20M /dev/zero > /tmp/bg-fill.$i; "
    "i=$((i+1)); sleep 0.2; done; sleep 600' >/dev/null 2>&1 & echo started"
)


def writers(docker_engine, sandbox) -> list[str]:
    """The writer's processes, as the engine lists them (no exec in the over-limit sandbox)."""
    top = docker_engine.api.top(sandbox.container_id, ps_args="-eo pid,user,args")
    return [" ".join(row) for row in top["Processes"] if "bg-fill" in " ".join(row)]


def test_a_background_writer_is_ended_with_the_command_the_limit_caught(make_sandbox,
                                                                        docker_engine):
    sandbox = make_sandbox(disk_mb=200)
    assert sandbox.exec(WRITER, timeout=30).output.strip() == "started"
    assert writers(docker_engine, sandbox)  # it outlived its command, as a dev server would
    time.sleep(8)  # the model thinks; no command runs, the writer goes on

    caught = sandbox.exec("sleep 120", timeout=150)

    assert "disk limit of 200 MB" in caught.error, caught.output
    assert writers(docker_engine, sandbox) == []
