"""Fixtures for the fault tests: real processes, killed and restarted by PID."""

from __future__ import annotations

# --- h5: the embedded runner, a restartable Redis (tests/support/processes.py) ---------------
import tempfile
from pathlib import Path

import pytest

from tests.support.processes import EmbeddedStack, RedisProcess, stack_environment
from tests.support.services import free_port


@pytest.fixture(scope="module")
def embedded_stack():
    """`codexweb serve` with its own redis-server, SQLite in a temporary var/, one worker."""
    var_dir = Path(tempfile.mkdtemp(prefix="faults-var-"))
    stack = EmbeddedStack(stack_environment(var_dir, free_port()), free_port())
    try:
        stack.wait_started()
        yield stack
    finally:
        stack.stop()


@pytest.fixture
def redis_process():
    """A redis-server on its own port that a test may kill and start again."""
    redis = RedisProcess().start()
    yield redis
    redis.stop()
