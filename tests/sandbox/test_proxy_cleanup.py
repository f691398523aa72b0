"""No egress proxy outlives what started it (a mitmdump was left running after a CI run).

mitmdump and its socat bridge run in sessions of their own, so nothing ends them but the code
that started them. These tests perform the ways one could be left: a sandbox cancelled (and so
stopped) while its setup proxy is still starting early, a proxy stopped from another thread
during its start, and a process that exits with a proxy running or still shutting down. The
proxy's start is made slow on purpose by a wrapper that waits before it runs the real mitmdump,
so the stop lands inside the start every time. Processes are found by their command line, which
names the proxy's own folder.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tasks.sandbox.base import NetworkPolicy, SandboxError
from tasks.sandbox.egress.policy import EgressRules
from tasks.sandbox.egress.proxy import STOPPED_WHILE_STARTING, EgressProxy
from tests.support.leftover_proxies import MARK, proxies_of_this_session
from tests.support.processes import processes_mentioning, wait_until
from tests.support.services import ROOT

pytestmark = pytest.mark.docker

# Long enough that the stop below always lands before mitmdump is ready.
DELAY_SECONDS = 3


@pytest.fixture
def slow_mitmdump(mitmdump, tmp_path) -> str:
    """The real mitmdump, started DELAY_SECONDS late (its arguments passed on unchanged)."""
    wrapper = tmp_path / "slow-mitmdump"
    wrapper.write_text(f'#!/bin/sh\nsleep {DELAY_SECONDS}\nexec {mitmdump} "$@"\n')
    wrapper.chmod(0o755)
    return str(wrapper)


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A folder with a short path: the bridge's unix socket lives in it."""
    folder = Path(tempfile.mkdtemp(prefix="cxpc-"))
    yield folder
    subprocess.run(["rm", "-rf", str(folder)], check=False)


# When the cancel comes: as soon as the early proxy was launched (start() is still making the
# container, then stops the sandbox while the proxy starts), or once the setup phase began
# (start() waits for that proxy, then finds the sandbox ended before it becomes current).
MOMENTS = {
    "while the container is made": lambda sandbox: True,
    "when the setup phase begins": lambda sandbox: sandbox.phase == "setup",
}


@pytest.mark.parametrize("moment", list(MOMENTS))
def test_a_sandbox_cancelled_while_its_setup_proxy_starts_leaves_no_proxy(
    make_sandbox, slow_mitmdump, moment
):
    sandbox = make_sandbox(
        start=False,
        proxy_program=slow_mitmdump,
        setup_script="true",
        setup_network=NetworkPolicy(mode="on"),
    )
    folder = str(sandbox.config.runtime_dir)  # this test's own: every proxy process names it
    failed: list[BaseException] = []

    def start() -> None:
        try:
            sandbox.start()
        except SandboxError as exc:
            failed.append(exc)

    starting = threading.Thread(target=start)
    starting.start()
    # The early proxy has been launched (it starts while the container is made)...
    wait_until(lambda: processes_mentioning(folder), timeout=60, what="the setup proxy starts")
    wait_until(lambda: MOMENTS[moment](sandbox) or not starting.is_alive(), timeout=60,
               what=moment)
    sandbox.cancel()  # ...and the attempt is cancelled: start() stops the sandbox and fails
    starting.join(timeout=120)
    assert not starting.is_alive()
    assert failed and "cancelled" in str(failed[0])
    # stop() has returned: nothing started for this sandbox is left, not even once it is "up".
    assert processes_mentioning(folder) == []


def test_a_proxy_stopped_during_its_start_ends_and_its_start_says_so(
    slow_mitmdump, short_dir
):
    proxy = EgressProxy(rules=EgressRules(mode="on"), workdir=short_dir, mitmdump=slow_mitmdump)
    failed: list[BaseException] = []

    def start() -> None:
        try:
            proxy.start()
        except SandboxError as exc:
            failed.append(exc)

    starting = threading.Thread(target=start)
    starting.start()
    wait_until(lambda: processes_mentioning(str(short_dir)), timeout=30, what="mitmdump starts")
    proxy.stop()
    starting.join(timeout=60)
    assert not starting.is_alive()
    assert [str(exc) for exc in failed] == [STOPPED_WHILE_STARTING]
    assert processes_mentioning(str(short_dir)) == []
    assert not proxy.running()


EXITING = """
import sys
from pathlib import Path
from tasks.sandbox.egress.policy import EgressRules
from tasks.sandbox.egress.proxy import EgressProxy

folder, mitmdump, how = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
proxy = EgressProxy(rules=EgressRules(mode="on"), workdir=folder, mitmdump=mitmdump)
proxy.start()
print(proxy.running(), flush=True)
if how == "stopped without waiting":
    proxy.stop(wait=False)
"""


@pytest.mark.parametrize("how", ["never stopped", "stopped without waiting"])
def test_a_process_that_exits_ends_the_proxies_it_started(mitmdump, short_dir, how):
    done = subprocess.run(
        [sys.executable, "-c", EXITING, str(short_dir), mitmdump, how],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"  # it ran...
    # ...and the process that started it has exited: it is gone with it.
    assert processes_mentioning(str(short_dir)) == []


def test_the_session_end_check_finds_the_proxies_of_this_session_only(short_dir):
    """tests/support/leftover_proxies.py: a bridge this session started is found; the same
    bridge from a process without this session's mark (another session) is not."""
    def bridge(name: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            ["socat", f"UNIX-LISTEN:{short_dir / name},fork", "TCP:127.0.0.1:9"],
            env=env, start_new_session=True,
        )

    ours = bridge("ours.sock", dict(os.environ))
    theirs = bridge("theirs.sock", {k: v for k, v in os.environ.items() if k != MARK})
    try:
        wait_until(lambda: (short_dir / "ours.sock").exists()
                   and (short_dir / "theirs.sock").exists(), timeout=10, what="socat listens")
        found = proxies_of_this_session()
        assert ours.pid in found and "UNIX-LISTEN:" in found[ours.pid]
        assert theirs.pid not in found
    finally:
        for proc in (ours, theirs):
            proc.kill()
            proc.wait(timeout=10)
    assert ours.pid not in proxies_of_this_session()
