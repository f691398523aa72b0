"""A command can leave a process behind (a dev server is meant to keep running), and the disk
limit is measured while commands run (an engine without quotas: tasks/sandbox/watch.py). An
agent that leaves a writer in the background must not fill the host's disk through it: when
the watchdog finds the limit passed, the writer goes too, not only the command it caught; and
while the model thinks (no command runs) the idle watch (tasks/sandbox/idle_watch.py) ends it.
"""

from __future__ import annotations

import time

import pytest

from tasks.sandbox.watch import DiskBound, DiskUse

pytestmark = pytest.mark.docker

# Up to 600 MB in 20 MB files (each under the per-file limit), against a 200 MB limit.
WRITER = (
    "nohup sh -c 'i=0; while [ $i -lt 30 ]; do head -c 20M /dev/zero > /tmp/bg-fill.$i; "
    "i=$((i+1)); sleep 0.2; done; sleep 600' >/dev/null 2>&1 & echo started"
)


MB = 1024 * 1024


def writers(docker_engine, sandbox) -> list[str]:
    """The writer's processes, as the engine lists them (no exec in the over-limit sandbox)."""
    top = docker_engine.api.top(sandbox.container_id, ps_args="-eo pid,user,args")
    return [" ".join(row) for row in top["Processes"] if "bg-fill" in " ".join(row)]


def test_a_background_writer_is_ended_with_the_command_the_limit_caught(make_sandbox,
                                                                        docker_engine):
    sandbox = make_sandbox(disk_mb=200)
    assert sandbox.exec(WRITER, timeout=30).output.strip() == "started"
    assert writers(docker_engine, sandbox)  # it outlived its command, as a dev server would

    # The next command comes at once (the model thinking is the test below).
    caught = sandbox.exec("sleep 120", timeout=150)

    assert "disk limit of 200 MB" in caught.error, caught.output
    assert writers(docker_engine, sandbox) == []


def written_mb(docker_engine, sandbox) -> int:
    """The writable layer's size as the engine measures it (the writer writes /tmp)."""
    found = docker_engine.api.containers(all=True, size=True, filters={"id": sandbox.container_id})
    return int(found[0]["SizeRw"]) // MB


@pytest.mark.parametrize("helper", [True, False], ids=["helper", "exec-each"])
def test_a_background_writer_is_ended_while_the_model_thinks(make_sandbox, docker_engine, helper):
    """The attack: one command leaves the writer, then no command runs at all. Without the idle
    watch it writes all its 600 MB; with it, it ends near the 200 MB limit. With the resident
    helper or without (every command an exec of its own)."""
    sandbox = make_sandbox(disk_mb=200, helper=helper)
    assert sandbox.exec(WRITER, timeout=30).output.strip() == "started"

    wait_for_writer_end(docker_engine, sandbox)

    assert writers(docker_engine, sandbox) == []
    # Bounded in MB: the limit plus what a 20 MB-a-step writer adds between two checks.
    assert written_mb(docker_engine, sandbox) < 400

    # A command of codexweb's own (its output parsed: a diff, a file edit) gets no note. (What
    # was written stays, over the limit, until the model deletes it: a longer command would be
    # killed for the limit, as it would during a command.)
    own = sandbox.exec("true", timeout=30)
    assert "between commands" not in own.output
    # The model's next command runs (the helper survived) and tells the model and the live log.
    streamed: list[str] = []
    after = sandbox.exec(
        "rm -f /tmp/bg-fill.*; echo next", timeout=30, on_output=lambda c: streamed.append(c.text)
    )
    assert after.exit_code == 0, after
    assert "between commands, the sandbox's disk limit of 200 MB was reached" in after.output
    assert "left running (in the background) were ended" in after.output
    assert after.output.rstrip().endswith("next")
    assert "between commands" in "".join(streamed)


def wait_for_writer_end(docker_engine, sandbox) -> None:
    """The model "thinks": wait (bounded) until the writer was ended or wrote all it would."""
    for _ in range(600):
        if not writers(docker_engine, sandbox):
            return
        if written_mb(docker_engine, sandbox) >= 590:  # all 30 files: it was never stopped
            return
        time.sleep(0.2)


def test_when_no_command_follows_the_note_is_taken_for_the_summary(make_sandbox, docker_engine):
    """The model gives its final answer after the writer was ended: no command output carries
    the note, so the agent takes it (it tells the model and flags the summary:
    tests/agent/test_sandbox_notes_loop.py), once."""
    sandbox = make_sandbox(disk_mb=200)
    assert sandbox.exec(WRITER, timeout=30).output.strip() == "started"
    wait_for_writer_end(docker_engine, sandbox)
    assert writers(docker_engine, sandbox) == []

    notes = sandbox.take_notes()

    assert len(notes) == 1
    assert notes[0].startswith("between commands, the sandbox's disk limit of 200 MB was reached")
    assert "left running (in the background) were ended" in notes[0]
    assert sandbox.take_notes() == []
    after = sandbox.exec("rm -f /tmp/bg-fill.*; echo next", timeout=30, on_output=lambda c: None)
    assert "between commands" not in after.output


def test_a_process_left_running_below_the_limit_is_left_alone(make_sandbox, docker_engine):
    """A dev server an earlier command started keeps running between commands while the
    sandbox stays under its limit."""
    sandbox = make_sandbox(disk_mb=200)
    started = sandbox.exec(
        "nohup sh -c 'head -c 20M /dev/zero > /tmp/bg-fill.small; sleep 600' >/dev/null 2>&1 &"
        " echo started",
        timeout=30,
    )
    assert started.output.strip() == "started"
    time.sleep(3)  # several checks (0.5 s apart in tests) find it, below the limit

    assert writers(docker_engine, sandbox)
    after = sandbox.exec("echo next", timeout=30)
    assert "between commands" not in after.output
    assert writers(docker_engine, sandbox)


def test_over_the_limit_deleting_stays_possible_writing_more_does_not():
    """After processes were ended past the limit, what they wrote stays: the model's `rm` must
    not be killed for it, but no command may add to it (the bound only goes down)."""
    bound = DiskBound(200)
    assert "limit of 200 MB was reached (250 MB" in bound.verdict(DiskUse(250), hidden_before="")
    bound.ended(DiskUse(260))  # measured after the processes were ended
    assert bound.verdict(DiskUse(260), hidden_before="") == ""
    assert bound.verdict(DiskUse(230), hidden_before="") == ""  # deleting
    assert "(240 MB written)" in bound.verdict(DiskUse(240), hidden_before="")  # writing again
    assert bound.verdict(DiskUse(150), hidden_before="") == ""  # back under the limit
    assert "(201 MB written)" in bound.verdict(DiskUse(201), hidden_before="")


@pytest.mark.timeout(600)  # its own wait is bounded at 300 s; a bomb slows every exec under load
def test_a_fork_bomb_left_running_is_ended_and_named(make_sandbox, docker_engine):
    """A fork bomb a command left behind fills the process limit while the model thinks. The
    measurement's exec would still get in now and then, between the bomb's forks (it did, for
    minutes, before the idle watch counted processes): the idle watch counts them instead, and
    two counts at the limit in a row end them. The note says why (the process limit), not an
    exec's exit code ("exit 126")."""
    sandbox = make_sandbox(disk_mb=200)
    bomb = "nohup bash -c 'bomb() { bomb | bomb & }; bomb' >/dev/null 2>&1 & echo started"
    assert sandbox.exec(bomb, timeout=30).output.strip() == "started"

    notes: list[str] = []
    for _ in range(600):  # bounded: two counts 0.5 s apart; the bomb slows every exec
        notes = sandbox.take_notes()
        if notes:
            break
        time.sleep(0.5)

    assert len(notes) == 1, "the idle watch never ended the fork bomb"
    assert "process limit of 128 is reached" in notes[0]
    assert "fork bomb" in notes[0] and "exit 126" not in notes[0]
    assert notes[0].endswith("left running (in the background) were ended")
    after = sandbox.exec("echo next; ps -e --no-headers | wc -l", timeout=30)
    assert after.output.splitlines()[0] == "next"
    assert int(after.output.split()[-1]) < 20  # the bomb's processes are gone
