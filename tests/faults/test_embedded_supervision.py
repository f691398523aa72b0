"""`codexweb serve` keeps its processes alive: a worker, daphne or redis-server that dies is
started again (new PID, same port) while the rest keep running, and SIGINT or SIGTERM, to the
runner or to the `make run` that started it, stops every child. Real processes, killed by PID."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import urllib.request
from pathlib import Path

import pytest
import redis

from codexweb.embedded import redis_server_argv
from tests.support.processes import (
    EmbeddedStack,
    RedisProcess,
    group_members,
    pid_alive,
    port_open,
    stack_environment,
    wait_until,
)
from tests.support.services import free_port

pytestmark = pytest.mark.timeout(240)


def answers(port: int) -> bool:
    """The sign-in page loads (the first request after a start loads the views: slow when the
    machine is busy, so this waits, bounded)."""
    url = f"http://127.0.0.1:{port}/accounts/login/"

    def loads() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - loopback
                return "codexweb" in response.read().decode().lower()
        except OSError:
            return False

    try:
        wait_until(loads, timeout=120, what="the sign-in page", interval=0.5)
    except AssertionError:
        return False
    return True


def test_a_killed_worker_is_restarted_and_the_web_stays_up(embedded_stack):
    stack = embedded_stack
    before = stack.pids()
    old_worker = before["worker"]
    wait_until(lambda: len(group_members(old_worker)) > 1, timeout=60,
               what="the worker's pool process started")

    os.kill(old_worker, signal.SIGKILL)

    stack.wait_for(f"worker (pid {old_worker}) was killed by SIGKILL", timeout=30)
    stack.wait_for("started worker", timeout=30, count=2)
    new_worker = stack.pids()["worker"]
    assert new_worker != old_worker and pid_alive(new_worker)
    # Nothing of the dead worker is left: its pool process went with it.
    wait_until(lambda: group_members(old_worker) == [], timeout=10,
               what="the dead worker's pool processes gone")
    # The web server was never stopped.
    assert stack.pids()["daphne"] == before["daphne"] and pid_alive(before["daphne"])
    assert answers(stack.web_port)
    assert stack.proc.poll() is None


def test_a_killed_daphne_is_restarted_on_the_same_port(embedded_stack):
    stack = embedded_stack
    old = stack.pids()
    os.kill(old["daphne"], signal.SIGKILL)

    stack.wait_for("started daphne", timeout=30, count=2)
    assert answers(stack.web_port)
    assert stack.pids()["daphne"] != old["daphne"]
    assert stack.pids()["worker"] == old["worker"] and pid_alive(old["worker"])
    # A first start prints no warning a newcomer would take for a fault (whitenoise's
    # "No directory at" var/static, before the runner made that folder).
    assert "No directory at" not in stack.output()


def test_a_killed_redis_server_is_restarted_and_the_worker_reconnects(embedded_stack):
    stack = embedded_stack
    old = stack.pids()
    connected = stack.count("Connected to redis://")
    os.kill(old["redis-server"], signal.SIGKILL)

    stack.wait_for("started redis-server", timeout=30, count=2)
    assert stack.pids()["redis-server"] != old["redis-server"]
    # The same worker process finds the new Redis on its own.
    stack.wait_for("Connected to redis://", timeout=90, count=connected + 1)
    assert stack.pids()["worker"] == old["worker"] and pid_alive(old["worker"])
    assert answers(stack.web_port)


def _stops_everything(stack: EmbeddedStack, signalled: subprocess.Popen) -> None:
    children = stack.pids()
    assert set(children) == {"redis-server", "worker", "daphne"}
    signalled.send_signal(signal.SIGTERM)
    signalled.wait(timeout=60)
    stack.wait_for("[codexweb] stopped", timeout=30)
    for name, pid in children.items():
        assert not pid_alive(pid), f"{name} (pid {pid}) is still running"
        assert group_members(pid) == [], f"{name} left processes behind"
    assert not port_open(stack.web_port)


def test_sigterm_to_the_runner_stops_every_child(tmp_path: Path):
    stack = EmbeddedStack(stack_environment(tmp_path / "var", free_port()), free_port())
    try:
        stack.wait_started()
        _stops_everything(stack, stack.proc)
        assert stack.proc.returncode == 0
    finally:
        stack.stop()


def test_sigterm_to_make_run_stops_every_child(tmp_path: Path):
    """A service manager or a script stops `make run` by make's PID: the runner gets it too."""
    web_port = free_port()
    prepared = ["system-run", "install", "docker-engine", "sandbox-image", "proxy-venv"]
    argv = ["make", "--no-print-directory", *(f"--old-file={t}" for t in prepared),
            "run", f"PORT={web_port}"]
    stack = EmbeddedStack(stack_environment(tmp_path / "var", free_port()), web_port, argv=argv)
    try:
        stack.wait_started()
        runner = [p for p in group_members(stack.proc.pid) if p != stack.proc.pid]
        assert runner, "make has no child"
        _stops_everything(stack, stack.proc)
        assert all(not pid_alive(pid) for pid in runner)
    finally:
        stack.stop()


def test_an_external_redis_that_goes_away_is_reported_and_waited_for(tmp_path: Path):
    redis = RedisProcess().start()
    stack = EmbeddedStack(stack_environment(tmp_path / "var", redis.port), free_port())
    try:
        stack.wait_started()
        assert f"using the Redis already running at 127.0.0.1:{redis.port}" in stack.output()
        assert "redis-server" not in stack.pids()
        worker = stack.pids()["worker"]
        connected = stack.count("Connected to redis://")

        redis.kill()
        stack.wait_for("does not answer", timeout=30)
        assert stack.proc.poll() is None
        redis.start()
        stack.wait_for("answers again", timeout=30)
        stack.wait_for("Connected to redis://", timeout=90, count=connected + 1)
        assert stack.pids()["worker"] == worker and pid_alive(worker)
        assert answers(stack.web_port)
    finally:
        stack.stop()
        redis.stop()


def test_the_runners_redis_server_keeps_queued_jobs_across_a_restart(tmp_path: Path):
    """The runner's own redis-server writes an append-only file in var/: a job waiting in the
    queue is still there after redis-server stops and starts again."""
    port = free_port()
    argv = redis_server_argv(shutil.which("redis-server") or "redis-server", port, tmp_path)

    def start() -> subprocess.Popen:
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
        wait_until(lambda: port_open(port), timeout=20, what="redis-server answers")
        return proc

    proc = start()
    try:
        redis.Redis(port=port).lpush("attempts", b"a queued job")
        proc.terminate()  # as the runner stops it; a SIGKILL loses at most the last second
        proc.wait(timeout=20)
        proc = start()
        assert redis.Redis(port=port).lrange("attempts", 0, -1) == [b"a queued job"]
    finally:
        proc.kill()
        proc.wait(timeout=10)
