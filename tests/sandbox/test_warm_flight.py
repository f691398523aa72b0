"""Starts of one repository's setup at once (tasks/sandbox/warm_flight.py), on a real engine:
the first runs the setup script and commits the warm image, a start of the same key meanwhile
waits and starts from that image; when the first fails the others run their own setup, and a
waiting start that is cancelled stops at once."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable

import pytest

from tasks.sandbox import warm_flight
from tasks.sandbox.base import NetworkPolicy, SandboxError, SandboxStartError
from tasks.sandbox.docker import DockerSandbox

pytestmark = pytest.mark.usefixtures("docker_engine")


def _warm_fields(setup_script: str) -> dict[str, object]:
    """A spec whose setup is cached (a warm key of its own: a fresh installation)."""
    return {
        "install_id": f"flight-{uuid.uuid4().hex[:8]}",
        "setup_script": setup_script,
        "setup_network": NetworkPolicy(mode="off"),
        "repository": "1:git:acme/flight",
        "commit": uuid.uuid4().hex.ljust(40, "0"),
        "warm_cache_hours": 1.0,
    }


class Started:
    """`sandbox.start()` in a thread of its own: what it returned or raised."""

    def __init__(self, sandbox: DockerSandbox):
        self.sandbox = sandbox
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.sandbox.start()
        except BaseException as exc:  # noqa: BLE001 — the test reads it
            self.error = exc

    def join(self) -> Started:
        self.thread.join(timeout=120)
        assert not self.thread.is_alive(), "a start did not end"
        return self


def _leading(before: set[str]) -> str:
    """The key a start began to set up (bounded wait)."""
    for _ in range(300):
        new = set(warm_flight.flights_in_progress()) - before
        if new:
            return new.pop()
        time.sleep(0.05)
    raise AssertionError("no start began its setup")


def _start_two(make_sandbox: Callable[..., DockerSandbox], script: str) -> tuple[Started, Started]:
    fields = _warm_fields(script)
    before = set(warm_flight.flights_in_progress())
    first = Started(make_sandbox(start=False, **fields))
    _leading(before)
    second = Started(make_sandbox(start=False, **fields))
    return first, second


def test_a_start_while_the_same_setup_runs_waits_and_starts_from_its_image(
    make_sandbox, docker_engine  # noqa: ANN001
):
    first, second = _start_two(make_sandbox, "sleep 2; echo prepared > /workspace/.prepared")
    first.join(), second.join()
    assert first.error is None and second.error is None
    leader, follower = first.sandbox, second.sandbox
    try:
        assert leader.setup_result is not None and not leader.warm_hit and leader.warm_image
        assert follower.setup_result is None, "the setup script ran twice"
        assert follower.warm_hit and follower.warm_image == leader.warm_image
        image = docker_engine.api.inspect_container(follower.container_id)["Image"]
        assert image == docker_engine.images.get(leader.warm_image).id
        assert warm_flight.flights_in_progress() == []
    finally:
        docker_engine.images.remove(leader.warm_image, force=True)


def test_when_the_first_setup_fails_the_waiting_start_runs_its_own(make_sandbox):  # noqa: ANN001
    first, second = _start_two(make_sandbox, "sleep 2; exit 3")
    first.join(), second.join()
    for started in (first, second):
        assert isinstance(started.error, SandboxStartError)
        assert "the setup script failed (exit code 3)" in str(started.error)
        assert not started.sandbox.warm_hit
    # Each ran the script: the second did not give up on the first's failure.
    assert second.error.report.setup_result is not None  # type: ignore[union-attr]
    assert warm_flight.flights_in_progress() == []


def test_a_waiting_start_that_is_cancelled_stops_at_once(make_sandbox):  # noqa: ANN001
    first, second = _start_two(make_sandbox, "sleep 6")
    time.sleep(0.5)  # the second is waiting for the first's setup
    cancelled_at = time.monotonic()
    second.sandbox.cancel()
    second.thread.join(timeout=5)
    assert not second.thread.is_alive(), "a cancelled start kept waiting"
    assert time.monotonic() - cancelled_at < 3
    assert isinstance(second.error, SandboxError) and "cancelled" in str(second.error)
    assert second.sandbox.container_id is None, "it made a container after the cancel"
    first.join()
    assert first.error is None and first.sandbox.warm_image
    first.sandbox.client.images.remove(first.sandbox.warm_image, force=True)


def test_the_wait_for_a_hung_setup_is_part_of_the_wall_time(make_sandbox):  # noqa: ANN001
    """A start waiting for a setup that never ends fails when its own wall time is up, not
    after waiting that long and then running its own setup on a fresh clock."""
    fields = _warm_fields("sleep 60")
    before = set(warm_flight.flights_in_progress())
    first = Started(make_sandbox(start=False, **fields))
    _leading(before)
    begun = time.monotonic()
    second = Started(make_sandbox(start=False, **{**fields, "wall_seconds": 3}))
    second.thread.join(timeout=30)
    assert not second.thread.is_alive(), "the waiting start outlived its wall time"
    assert time.monotonic() - begun < 6
    assert isinstance(second.error, SandboxError)
    assert "time limit of 3 seconds" in str(second.error)
    assert second.sandbox.container_id is None, "it made a container with no time left"
    first.sandbox.cancel()
    first.join()


def test_the_lead_passes_once_its_setup_landed():
    key = f"test-{uuid.uuid4().hex}"
    lead, landing = warm_flight.lead_or_follow(key)
    assert lead is not None and landing is None
    follower_lead, follower_landing = warm_flight.lead_or_follow(key)
    assert follower_lead is None and follower_landing is lead.landed
    assert not warm_flight.wait_for_landing(
        follower_landing, limit_seconds=0.3, given_up=lambda: False
    )
    lead.land()
    lead.land()  # idempotent (setup's end and the sandbox's stop both land it)
    assert warm_flight.wait_for_landing(follower_landing, limit_seconds=1, given_up=lambda: False)
    again, _ = warm_flight.lead_or_follow(key)
    assert again is not None, "a key whose setup landed cannot be led again"
    again.land()
    assert key not in warm_flight.flights_in_progress()
