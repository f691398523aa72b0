"""The setup-phase egress proxy started ahead (tasks/sandbox/egress/spare.py): a setup phase
adopts it instead of waiting for mitmdump to start, it serves that one phase only, and neither
it nor a setup proxy that is still shutting down can be reached from an agent phase. Real
Docker, real mitmdump."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tasks.sandbox.base import NetworkPolicy
from tasks.sandbox.egress import spare
from tasks.sandbox.spec import EGRESS_MOUNT, EGRESS_SOCKET, SPARE_PROXY_PREFIX
from tests.support.sandbox_fixtures import ALLOWED

pytestmark = pytest.mark.docker

# From inside the container, straight to the host proxy's socket (not the in-container bridge).
THROUGH_SOCKET = (
    f"curl -sS -m 5 --unix-socket {EGRESS_MOUNT}/{EGRESS_SOCKET} http://{ALLOWED}/agent; "
    "echo rc=$?"
)


@pytest.fixture(autouse=True)
def no_spare_between_tests() -> Iterator[None]:
    spare.stop_spare()
    yield
    spare.stop_spare()


def spare_folders(sandbox) -> list[str]:  # noqa: ANN001
    return sorted(
        p.name for p in sandbox.config.runtime_dir.glob(f"{SPARE_PROXY_PREFIX}*") if p.is_dir()
    )


def setup_fetching(path: str) -> dict[str, object]:
    return {
        "setup_script": f"curl -sS -m 10 http://{ALLOWED}/{path}",
        "setup_network": NetworkPolicy(mode="allowlist", domains=(ALLOWED,)),
        "agent_network": NetworkPolicy(mode="off"),
        "spare_proxy": True,
    }


def test_the_next_setup_adopts_the_proxy_started_ahead_for_its_own_phase_only(make_sandbox):
    first = make_sandbox(**setup_fetching("first"))
    assert "hello from" in first.setup_result.output
    spare.settle()  # the first setup's end started one for the next sandbox
    ahead = spare_folders(first)
    assert len(ahead) == 1

    second = make_sandbox(**setup_fetching("second"))

    assert "hello from" in second.setup_result.output
    paths = [r.url for r in second.egress_records()]
    assert [u for u in paths if u.endswith("/second")] and not [
        u for u in paths if u.endswith("/first")
    ], paths
    assert all(r.allowed for r in second.egress_records())
    spare.settle()
    # Used once: the adopted one is gone with its phase, a new one waits for the next sandbox.
    left = spare_folders(second)
    assert ahead[0] not in left and len(left) == 1


def test_the_spare_refuses_what_its_setup_policy_refuses(make_sandbox):
    make_sandbox(**setup_fetching("warm-up"))
    spare.settle()
    fields = setup_fetching("x")
    fields["setup_script"] = "curl -sS -m 10 http://refused.test/; echo rc=$?"
    sandbox = make_sandbox(**fields)
    assert "hello from" not in sandbox.setup_result.output
    refused = [r for r in sandbox.egress_records() if r.host == "refused.test"]
    assert refused and not any(r.allowed for r in refused)


def test_no_setup_proxy_is_reachable_from_the_agent_phase(make_sandbox):
    """The setup proxy's mitmdump may still be shutting down when the agent starts, and the
    proxy for the next sandbox is already starting: the agent reaches neither, not even
    through the mounted socket folder."""
    make_sandbox(**setup_fetching("warm-up"))
    spare.settle()
    sandbox = make_sandbox(**setup_fetching("setup"))  # adopted the spare
    result = sandbox.exec(THROUGH_SOCKET)
    assert "hello from" not in result.output and "rc=0" not in result.output
    spare.settle()  # the next sandbox's proxy is ready now: still nothing
    result = sandbox.exec(THROUGH_SOCKET)
    assert "hello from" not in result.output and "rc=0" not in result.output
    assert not [r for r in sandbox.egress_records() if r.url.endswith("/agent")]


def test_a_spare_for_other_launch_options_is_not_used(make_sandbox):
    make_sandbox(**setup_fetching("warm-up"))
    spare.settle()
    [folder] = spare_folders(make_sandbox(start=False))
    other = spare.SpareKey(
        runtime_dir="/nowhere", mitmdump="", upstream_ca="", extra_ca_pem="", upstream_proxy=""
    )
    assert spare.take(other) is None
    assert spare_folders(make_sandbox(start=False)) == []  # stopped and removed
    assert folder


def test_a_dead_workers_spare_is_reaped(make_sandbox):
    """The spare's folder carries the worker's owner file and pids: when that worker is gone,
    the reaper ends its mitmdump and removes the folder, like a sandbox's."""
    from tasks.sandbox.reaper import reap_runtime_dirs

    make_sandbox(**setup_fetching("warm-up"))
    spare.settle()
    runtime = make_sandbox(start=False).config.runtime_dir
    [folder] = spare_folders(make_sandbox(start=False))
    pid = int((runtime / folder / "egress" / "pids").read_text().split()[0])
    assert Path(f"/proc/{pid}").exists()
    reaped = reap_runtime_dirs(runtime, is_alive=lambda owner: False)
    assert str(runtime / folder) in reaped
    assert not (runtime / folder).exists()
    for _ in range(250):  # bounded: the killed group goes at once, its zombie until reaped
        status = Path(f"/proc/{pid}/status")
        if not status.exists() or "zombie" in status.read_text():
            break
        time.sleep(0.02)
    else:
        raise AssertionError(f"mitmdump {pid} survived the reaper")
