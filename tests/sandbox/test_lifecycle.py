"""Workspace, setup phase and secrets, warm images, files, and the reaper."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest

from tasks.sandbox.base import NetworkPolicy, SandboxError, SandboxOwner, SandboxStartError
from tasks.sandbox.reaper import reap_containers, reap_owner, reap_runtime_dirs
from tasks.sandbox.spec import LABEL_DEADLINE, LABEL_OWNER, LABEL_SANDBOX, LABEL_WARM_INSTALL
from tests.support.sandbox_fixtures import ALLOWED, IMAGE

pytestmark = pytest.mark.docker

SECRET = "s3cr3t-value-9f8e7d"


# -- workspace ----------------------------------------------------------------------------------


def test_workspace_is_a_copy_of_the_checkout(make_sandbox, workspace_dir):
    sandbox = make_sandbox()
    result = sandbox.exec("git status --short; git log --oneline | wc -l; cat src/app.py")
    assert result.exit_code == 0, result.output
    assert result.output == "1\nprint('hi')\n"
    sandbox.exec("echo changed >> README.md")
    assert (workspace_dir / "README.md").read_text() == "# demo\n"  # the host copy is untouched


def test_ask_workspace_cannot_be_written(make_sandbox):
    sandbox = make_sandbox(read_only=True)
    result = sandbox.exec(
        "id -un; touch new.txt; echo x >> README.md; rm src/app.py; mkdir d; git status --short"
    )
    lines = result.output
    assert lines.startswith("reader\n")
    assert lines.count("Permission denied") >= 4, lines
    assert sandbox.read_file("README.md") == "# demo\n"
    with pytest.raises(SandboxError, match="read-only"):
        sandbox.write_file("new.txt", "x")
    assert sandbox.exec("ls").output.split() == ["README.md", "src"]


def test_write_and_read_files(make_sandbox):
    sandbox = make_sandbox()
    sandbox.write_file("pkg/new_module.py", "VALUE = 1\n")
    assert sandbox.read_file("pkg/new_module.py") == "VALUE = 1\n"
    owner = sandbox.exec("stat -c %U pkg/new_module.py").output.strip()
    assert owner == "sandbox"
    with pytest.raises(SandboxError, match="larger than"):
        sandbox.read_file("pkg/new_module.py", max_bytes=3)


@pytest.mark.parametrize("path", ["/etc/passwd", "../etc/passwd", "a/../../etc/passwd", ""])
def test_paths_outside_the_workspace_are_refused(make_sandbox, path):
    sandbox = make_sandbox()
    with pytest.raises(SandboxError):
        sandbox.read_file(path)
    with pytest.raises(SandboxError):
        sandbox.write_file(path, "x")


def test_symlinks_are_not_followed(make_sandbox):
    sandbox = make_sandbox()
    sandbox.exec("ln -s /etc etc-link; ln -s /etc/hostname host-link")
    with pytest.raises(SandboxError, match="symbolic link"):
        sandbox.read_file("host-link")
    with pytest.raises(SandboxError, match="symbolic link"):
        sandbox.write_file("etc-link/evil", "x")


# -- setup phase and secrets ----------------------------------------------------------------------

SETUP = f"""
set -e
echo "setup sees ${{API_TOKEN:0:4}}..."
echo "built with $BUILD_MODE" > build-output.txt
# a process that outlives setup with the secret in its environment and command line
(exec -a "holder $API_TOKEN" sleep 600) &
curl -sS -m 10 http://{ALLOWED}/during-setup > fetched-in-setup.txt
"""


def test_secrets_are_gone_after_setup(make_sandbox):
    sandbox = make_sandbox(
        setup_script=SETUP,
        variables={"BUILD_MODE": "release"},
        secrets={"API_TOKEN": SECRET},
        setup_network=NetworkPolicy(mode="allowlist", domains=(ALLOWED,)),
    )
    assert "setup sees s3cr..." in sandbox.setup_result.output
    assert sandbox.read_file("build-output.txt") == "built with release\n"
    assert "hello from" in sandbox.read_file("fetched-in-setup.txt")
    probes = {
        "env": "env",
        "processes": "ps -eo user,pid,args",
        "environ": "cat /proc/[0-9]*/environ 2>/dev/null | tr '\\0' '\\n'",
        "cmdline": "cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\\0' ' '",
        # every regular file on the container's own file system (root's files included)
        "files": f"grep -rlsF -D skip -- {SECRET} $(ls -d /* | grep -vxE '/(proc|sys|dev)');"
        " echo grep-exit=$?",
    }
    for what, command in probes.items():
        result = sandbox.exec(command, timeout=120)
        assert not result.timed_out, what
        assert SECRET not in result.output, f"secret visible through {what}"
    # 1: no match; 2: no match, and some root-only files (which setup could not write) unreadable
    assert "grep-exit=0" not in result.output
    assert "BUILD_MODE=release" in sandbox.exec("env").output  # variables stay


def test_setup_leaving_a_secret_in_a_file_fails_the_attempt(make_sandbox):
    with pytest.raises(SandboxError, match=r"left a secret in /home/sandbox/\.npmrc"):
        make_sandbox(
            setup_script='echo "//registry/:_authToken=$NPM_TOKEN" > ~/.npmrc',
            secrets={"NPM_TOKEN": SECRET},
        )


def test_failing_setup_script_fails_with_its_output(make_sandbox):
    with pytest.raises(SandboxError, match=r"(?s)setup script failed.*exit code 3.*boom"):
        make_sandbox(setup_script="echo boom; exit 3")


def test_cancel_during_setup_stops_and_cleans_up(make_sandbox, docker_engine):
    import threading

    sandbox = make_sandbox(start=False, setup_script="sleep 120")
    threading.Timer(1.5, sandbox.cancel).start()
    started = time.monotonic()
    with pytest.raises(SandboxError, match="cancelled"):
        sandbox.start()
    assert time.monotonic() - started < 10
    existing = {c["Id"] for c in docker_engine.api.containers(all=True)}
    assert sandbox.container_id not in existing


def test_agent_phase_uses_the_agent_policy_not_the_setup_one(make_sandbox):
    sandbox = make_sandbox(
        setup_script=f"curl -sS -m 10 http://{ALLOWED}/setup-only",
        setup_network=NetworkPolicy(mode="on"),
        agent_network=NetworkPolicy(mode="off"),
    )
    assert "hello from" in sandbox.setup_result.output
    result = sandbox.exec(
        f"curl -sS -m 5 --proxy http://127.0.0.1:3128 http://{ALLOWED}/; echo rc=$?"
    )
    assert "hello from" not in result.output
    assert "PROXY" not in sandbox.exec("env").output.upper()


# -- warm images ----------------------------------------------------------------------------------


def test_warm_image_is_reused_until_the_setup_changes(make_sandbox, docker_engine):
    marker = f"warm-{time.time_ns()}"
    install = f"test-{uuid.uuid4().hex}"
    script = f"echo {marker} > ~/prepared.txt; mkdir -p node_modules && echo dep > node_modules/x"
    owner = {"install_id": install, "repository": "1:git:acme/demo", "commit": "a" * 40}
    made = []

    def start(variables, hours=1.0, **spec):
        fields = {**owner, **spec}
        made.append(
            make_sandbox(setup_script=script, variables=variables, warm_cache_hours=hours, **fields)
        )
        return made[-1]

    try:
        first = start({"V": "1"})
        assert not first.warm_hit and first.warm_image
        second = start({"V": "1"})
        assert second.warm_hit
        assert second.setup_result is None  # setup did not run again
        # What setup left under $HOME stays; the workspace is exactly the checkout, so build
        # output setup made inside the tree (node_modules) is not there.
        assert second.exec("cat ~/prepared.txt; git status --short --ignored").output == (
            f"{marker}\n"
        )
        assert not start({"V": "2"}).warm_hit
        assert not start({"V": "1"}, hours=1e-9).warm_hit  # expired
        # "Reset cache" bumps the environment's generation: the same setup misses once, then hits.
        reset = start({"V": "1"}, cache_generation=1)
        assert not reset.warm_hit and reset.warm_image
        assert start({"V": "1"}, cache_generation=1).warm_hit
        # A repository's own expiry overrides the installation's (here: caching off).
        assert not start({"V": "1"}, cache_generation=1, cache_hours=0.0).warm_hit
        # Another repository with the very same setup never gets this one's prepared files.
        assert not start({"V": "1"}, cache_generation=1, repository="2:git:acme/other").warm_hit
        # Without an install id nothing is cached at all.
        uncached = start({"V": "1"}, install_id="")
        assert not uncached.warm_hit and uncached.warm_image is None
    finally:
        for sandbox in made:
            sandbox.stop()
        # a superseded image of the same key is untagged, hence all=True
        for image in docker_engine.images.list(
            all=True, filters={"label": f"{LABEL_WARM_INSTALL}={install}"}
        ):
            docker_engine.images.remove(image.id, force=True)


# -- the reaper -----------------------------------------------------------------------------------


def _labelled_container(client, *, owner: str, deadline: float) -> str:
    created = client.api.create_container(
        IMAGE,
        command=["sleep", "infinity"],
        labels={LABEL_SANDBOX: "1", LABEL_OWNER: owner, LABEL_DEADLINE: str(int(deadline))},
        host_config=client.api.create_host_config(network_mode="none"),
    )
    client.api.start(created["Id"])
    return created["Id"]


def test_reaper_removes_orphans_and_keeps_live_sandboxes(docker_engine, make_sandbox):
    import socket

    live = make_sandbox()
    dead_owner = f"{socket.gethostname()}:999999999:1"
    orphan = _labelled_container(docker_engine, owner=dead_owner, deadline=time.time() + 3600)
    overdue = _labelled_container(docker_engine, owner="elsewhere:1:1", deadline=time.time() - 999)
    removed = reap_containers(docker_engine, grace_seconds=60)
    assert len(removed) >= 2
    existing = {c["Id"] for c in docker_engine.api.containers(all=True)}
    assert orphan not in existing and overdue not in existing
    assert live.container_id in existing
    assert live.exec("echo alive").output == "alive\n"


def test_reaper_stops_a_dead_workers_egress_proxy(make_sandbox, tmp_path):
    import os
    import subprocess

    folder = tmp_path / "attempt-1-dead"
    (folder / "egress").mkdir(parents=True)
    (folder / "owner").write_text("thishost-is-gone:1:1")
    proc = subprocess.Popen(["bash", "-c", "sleep 600; true", str(folder)], start_new_session=True)
    (folder / "egress" / "pids").write_text(str(proc.pid))
    for _ in range(100):  # until the child has exec'd (before that it looks like pytest)
        if str(folder).encode() in Path(f"/proc/{proc.pid}/cmdline").read_bytes():
            break
        time.sleep(0.02)
    reap_runtime_dirs(tmp_path, is_alive=lambda owner: False)
    assert proc.wait(timeout=5) == -9
    assert not folder.exists()
    assert os.path.exists(tmp_path)


def test_a_setup_runs_leftovers_are_reaped_by_its_own_label(make_sandbox, docker_engine, tmp_path):
    """A setup run is not attempt 0: its container and runtime folder carry `setup-run:N`, and
    reaping one owner leaves another owner's sandbox alone."""
    run_id = 900_000 + time.time_ns() % 100_000
    run = make_sandbox(owner=SandboxOwner.setup_run(run_id))
    attempt = make_sandbox(owner=SandboxOwner.attempt(run_id))  # the same number, an attempt
    info = docker_engine.api.inspect_container(run.container_id)
    assert info["Config"]["Labels"]["org.codexweb.for"] == f"setup-run:{run_id}"
    assert "org.codexweb.attempt" not in info["Config"]["Labels"]
    assert info["Name"].startswith(f"/codexweb-setup-run-{run_id}-")
    # Its worker (this process) is alive: nothing is removed yet.
    assert reap_owner(docker_engine, run.spec.owner, runtime_dir=None).containers == []
    removed = reap_containers(
        docker_engine, owner=run.spec.owner, is_alive=lambda owner: False, grace_seconds=60
    )
    assert len(removed) == 1 and removed[0].startswith(f"codexweb-setup-run-{run_id}-")
    assert attempt.exec("echo alive").output == "alive\n"
    folder = tmp_path / f"setup-run-{run_id}-dead"
    folder.mkdir()
    (folder / "owner").write_text("thishost-is-gone:1:1")
    assert reap_runtime_dirs(tmp_path, is_alive=lambda owner: False) == [str(folder)]


def test_start_reports_what_it_did(make_sandbox, docker_engine):
    install = f"test-{uuid.uuid4().hex}"
    owner = {"install_id": install, "repository": "1:git:a/b", "commit": "b" * 40}
    cold = warm = None
    try:
        cold = make_sandbox(start=False, setup_script="echo cold", warm_cache_hours=1.0, **owner)
        report = cold.start()
        assert report.script == "setup" and not report.warm_hit
        assert report.setup_result is not None and "cold" in report.setup_result.output
        assert report.warm_image.startswith("codexweb-warm:")
        assert report.start_seconds >= report.setup_seconds > 0
        warm = make_sandbox(
            start=False,
            setup_script="echo cold",
            maintenance_script="echo again",
            warm_cache_hours=1.0,
            **owner,
        )
        again = warm.start()
        assert again.warm_hit and again.script == "maintenance"
        assert again.warm_image == report.warm_image
        assert again.setup_result is not None and again.setup_result.output == "again\n"
        failing = make_sandbox(start=False, setup_script="echo boom; exit 3")
        with pytest.raises(SandboxStartError) as raised:
            failing.start()
        failed = raised.value.report
        assert failed.script == "setup" and failed.setup_result is not None
        assert failed.setup_result.exit_code == 3 and "boom" in failed.setup_result.output
    finally:
        for sandbox in (cold, warm):  # their containers use the warm image
            if sandbox is not None:
                sandbox.stop()
        for image in docker_engine.images.list(
            all=True, filters={"label": f"{LABEL_WARM_INSTALL}={install}"}
        ):
            docker_engine.images.remove(image.id, force=True)


def test_reap_management_command(docker_engine, settings, tmp_path):
    import io

    from django.core.management import call_command

    settings.SANDBOX_RUNTIME_DIR = tmp_path
    out = io.StringIO()
    call_command("sandbox_reap", "--dry-run", stdout=out)
    assert out.getvalue().startswith("would remove ")
