"""Where the workspace lives: an anonymous volume of its own (file I/O without overlayfs), under
the disk limit, removed with the container, never a host path, scanned after setup, reaped when
a crash left it (tasks/sandbox/README.md, "Where the workspace lives")."""

from __future__ import annotations

import shlex
import time
from datetime import UTC, datetime

import pytest

from tasks.sandbox.base import SandboxError
from tasks.sandbox.container import MEASURE_DU
from tasks.sandbox.reaper import reap_volumes
from tasks.sandbox.spec import LABEL_FOR, LABEL_SANDBOX, WORKSPACE
from tasks.sandbox.workspace_archive import workspace_archive
from tests.support.sandbox_fixtures import IMAGE

pytestmark = pytest.mark.docker

SECRET = "s3cr3t-value-9f8e7d"


def _workspace_mount(docker_engine, container_id: str) -> dict:
    mounts = docker_engine.api.inspect_container(container_id)["Mounts"]
    return next(m for m in mounts if m["Destination"] == WORKSPACE)


def _volume_names(docker_engine) -> set[str]:
    found = docker_engine.api.volumes(filters={"label": LABEL_SANDBOX}) or {}
    return {v["Name"] for v in found.get("Volumes") or []}


def test_the_workspace_is_a_labelled_volume_that_goes_with_the_container(
    make_sandbox, docker_engine, workspace_dir
):
    sandbox = make_sandbox()
    mount = _workspace_mount(docker_engine, sandbox.container_id)
    assert mount["Type"] == "volume" and mount["RW"]
    volume = docker_engine.api.inspect_volume(mount["Name"])
    assert volume["Labels"][LABEL_SANDBOX] == "1"
    # The checkout is in it, owned by the command user; what is written stays inside.
    result = sandbox.exec("stat -c '%U %a' . src/app.py; echo new > made-here.txt; ls")
    assert result.output.startswith("sandbox 755\nsandbox 644\n"), result.output
    assert "made-here.txt" in result.output
    assert not (workspace_dir / "made-here.txt").exists()
    assert mount["Name"] in _volume_names(docker_engine)
    sandbox.stop()
    assert mount["Name"] not in _volume_names(docker_engine)


def _killed_by_the_disk_watch(make_sandbox, script: str) -> str:  # noqa: ANN001
    """Run `script` (ending in a long sleep) under a 200 MB disk limit; the kill's reason."""
    result = make_sandbox(disk_mb=200).exec(script, timeout=60)
    assert result.exit_code is None, result.output
    return result.error


def test_the_disk_limit_counts_what_is_written_in_the_workspace(make_sandbox):
    """Each file stays below the per-file limit; together they pass the disk limit. The writable
    layer's size leaves the volume out, so only measuring the volume stops this."""
    error = _killed_by_the_disk_watch(
        make_sandbox,
        "for i in 1 2 3 4 5 6; do head -c 60M /dev/zero > fill.$i || break; done; sleep 30",
    )
    assert "disk limit of 200 MB was reached" in error


def test_files_left_by_earlier_short_commands_count_against_the_next_one(make_sandbox):
    """The watchdog's interval runs on across a sandbox's commands (a measurement far below
    the limit is not repeated at once by every next command): what short commands wrote is
    judged at the latest in the next command that runs long enough."""
    sandbox = make_sandbox(disk_mb=200)
    errors = [sandbox.exec(f"head -c 60M /dev/zero > fill.{i}").error for i in range(5)]
    errors.append(sandbox.exec("sleep 30", timeout=60).error)
    killed = [error for error in errors if error]
    assert killed and "disk limit of 200 MB was reached" in killed[0], errors


def _measurements_during(sandbox, command: str) -> int:  # noqa: ANN001
    """How many disk measurements the watch made while `command` ran."""
    measure, count = sandbox._measure_disk, [0]

    def counted():  # noqa: ANN202
        count[0] += 1
        return measure()

    sandbox._measure_disk = counted
    sandbox.exec(command, timeout=60)
    return count[0]


def test_a_new_container_far_below_its_limit_is_not_measured_at_once(make_sandbox):
    """Its first figure is the checkout copied in: with a large limit the first measurement
    waits as it would after measuring that (here 4 s of command time: 8 base intervals), with
    a small one it comes at the base interval (0.5 s in these tests)."""
    assert _measurements_during(make_sandbox(disk_mb=10240), "sleep 2") == 0
    assert _measurements_during(make_sandbox(disk_mb=200), "sleep 2") >= 1


def test_a_folder_its_owner_made_unreadable_is_measured_on_the_engines_host(make_sandbox):
    """Measured on this host (host_disk.py: root, the engine's own folders), nothing in the
    tree is hidden: 150 MB locked away plus 60 MB more pass the 200 MB limit."""
    error = _killed_by_the_disk_watch(
        make_sandbox,
        "mkdir vault && for i in 1 2 3; do head -c 50M /dev/zero > vault/$i; done && "
        "chmod 000 vault && head -c 60M /dev/zero > more && sleep 30",
    )
    assert "disk limit of 200 MB was reached" in error


def test_the_measurement_on_the_host_runs_nothing_in_the_container(make_sandbox):
    """No exec, no engine walk; the figure is the one the measurement from inside gives."""
    sandbox = make_sandbox(disk_mb=200)
    sandbox.exec("head -c 3M /dev/zero > three-mb; head -c 2M /dev/zero > /tmp/two-mb")
    before = _execs(sandbox)
    use = sandbox._measure_disk()
    assert _execs(sandbox) == before and sandbox._host_layout is not None
    inside = sandbox._require_shell().disk_use(workspace_volume=True)
    assert use.hidden == "" and use.mb is not None and inside.mb is not None
    assert use.mb >= 5 and abs(use.mb - inside.mb) <= 1, (use, inside)


def _execs(sandbox) -> int:  # noqa: ANN001
    """Execs the engine created in the container so far (its event log)."""
    api = sandbox.api
    started = api.inspect_container(sandbox.container_id)["Created"]
    since = int(datetime.fromisoformat(started[:19]).replace(tzinfo=UTC).timestamp()) - 1
    events = api.events(since=since, until=int(time.time()) + 1, decode=True,
                        filters={"container": sandbox.container_id, "event": "exec_create"})
    return sum(1 for _ in events)


def test_measured_from_inside_a_hidden_folder_ends_the_command(make_sandbox):
    """Where the engine's files are not on this host, the measurement runs inside as the
    workspace's owner: a folder its owner made unreadable could hold anything, so when it
    stays hidden at two checks in a row the command is killed, saying which folder and how
    to undo it."""
    sandbox = make_sandbox(disk_mb=200)
    sandbox._host_layout, sandbox._host_layout_known = None, True  # not this host's engine
    result = sandbox.exec(
        "mkdir vault && head -c 1M /dev/zero > vault/a && chmod 000 vault && sleep 30",
        timeout=60,
    )
    assert result.exit_code is None, result.output
    error = result.error
    assert "disk limit of 200 MB cannot be checked" in error
    assert "cannot read /workspace/vault" in error


PTRACE_ATTACH = """
import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
for _ in range(100):
    pids = [p for p in os.listdir('/proc') if p.isdigit()
            and open(f'/proc/{p}/cmdline', 'rb').read().startswith(sys.argv[1].encode())]
    if pids:
        break
    time.sleep(0.05)
print(libc.ptrace(16, int(pids[0]), 0, 0), ctypes.get_errno())  # PTRACE_ATTACH
"""


@pytest.mark.parametrize("measuring", [True, False], ids=["the measurement", "a plain du"])
def test_the_command_user_cannot_ptrace_the_measurement(make_sandbox, measuring):
    """The same user could ptrace a plain `du` and rewrite its answer; the measurement's
    execute-only copy is non-dumpable, so the attach fails (EPERM). `--files0-from` a FIFO
    nobody writes keeps each `du` waiting while the attacker attaches."""
    sandbox = make_sandbox()
    sandbox._require_shell().disk_use(workspace_volume=True)  # puts the measurement in place
    du = MEASURE_DU if measuring else "du"
    result = sandbox.exec(
        f"mkfifo /tmp/names && ({du} --files0-from=/tmp/names >/dev/null 2>&1 &) && "
        f"python3 -c {shlex.quote(PTRACE_ATTACH)} {du}; pkill -KILL -x du; rm /tmp/names"
    )
    code, errno = result.output.split()[:2]
    if measuring:
        assert (code, errno) == ("-1", "1"), result.output  # EPERM
    else:
        assert code == "0", result.output  # the control: the attack works on a plain du
    listed = sandbox.exec(f"stat -c '%a %U' {MEASURE_DU}; cat {MEASURE_DU} >/dev/null").output
    assert listed.startswith("111 root") and "Permission denied" in listed


def test_the_measurement_is_in_place_from_the_start_and_put_back_when_missing(make_sandbox):
    """The container's PID 1 makes the measurement's copy (no exec of its own); a container
    without it (made by an older worker) gets it from the first measurement."""
    sandbox = make_sandbox()
    listed = sandbox.exec(f"stat -c '%a %U' {MEASURE_DU}").output
    assert listed == "111 root\n", listed
    shell = sandbox._require_shell()
    assert shell.run(["rm", "-f", MEASURE_DU], user="root")[0] == 0
    sandbox.exec("head -c 3M /dev/zero > three-mb")
    use = shell.disk_use(workspace_volume=True)
    assert use.hidden == "" and use.mb is not None and use.mb >= 3
    assert sandbox.exec(f"stat -c '%a %U' {MEASURE_DU}").output == "111 root\n"


def test_a_secret_setup_left_in_the_workspace_fails_the_start(make_sandbox):
    """`docker diff` does not list a volume's files: the workspace is read whole instead."""
    with pytest.raises(SandboxError, match=r"left a secret in /workspace/\.npmrc"):
        make_sandbox(
            setup_script='echo "//registry/:_authToken=$NPM_TOKEN" > .npmrc; chmod 000 .npmrc',
            secrets={"NPM_TOKEN": SECRET},
        )


def test_the_reaper_removes_sandbox_volumes_no_container_uses(make_sandbox, docker_engine):
    live = make_sandbox()
    in_use = _workspace_mount(docker_engine, live.container_id)["Name"]
    # A sandbox container removed without its volumes (by hand, or an older tool) leaves one.
    created = docker_engine.api.create_container(
        IMAGE,
        command=["true"],
        host_config=docker_engine.api.create_host_config(
            mounts=[
                {
                    "Target": WORKSPACE,
                    "Type": "volume",
                    "VolumeOptions": {"Labels": {LABEL_SANDBOX: "1", LABEL_FOR: "attempt:0"}},
                }
            ],
            network_mode="none",
        ),
    )
    left = _workspace_mount(docker_engine, created["Id"])["Name"]
    docker_engine.api.remove_container(created["Id"], force=True)  # without v=True
    assert left in _volume_names(docker_engine)
    removed = reap_volumes(docker_engine)
    assert left in removed and left not in _volume_names(docker_engine)
    assert in_use not in removed and in_use in _volume_names(docker_engine)
    assert live.exec("echo alive > still-here && cat still-here").output == "alive\n"


def test_the_workspace_survives_a_container_restart(make_sandbox, docker_engine):
    """The runaway-process path restarts the container: its files must stay (a tmpfs would
    not)."""
    sandbox = make_sandbox()
    sandbox.exec("echo kept > kept.txt")
    docker_engine.api.restart(sandbox.container_id, timeout=0)
    for _ in range(50):  # bounded: until the engine says it runs again
        if docker_engine.api.inspect_container(sandbox.container_id)["State"]["Running"]:
            break
        time.sleep(0.1)
    assert sandbox.exec("cat kept.txt").output == "kept\n"


def test_replacing_a_used_workspace_leaves_exactly_the_checkout(make_sandbox, workspace_dir):
    """What a follow-up's second copy (and a warm image made before the volume) meets: files,
    dot files and folders made read-only go; only the checkout is there afterwards."""
    sandbox = make_sandbox()
    sandbox.exec("mkdir -p ro/sub && touch ro/sub/f .hidden && chmod 555 ro/sub ro")
    with workspace_archive(workspace_dir) as archive:
        sandbox._require_shell().replace_workspace(archive)
    listed = sandbox.exec("ls -A | sort").output.split()
    assert listed == sorted(p.name for p in workspace_dir.iterdir())
