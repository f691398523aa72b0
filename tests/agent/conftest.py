"""Fixtures of the agent tests (tests/support/agent_run.py, tests/support/calc_repo.py)."""

from tests.support.agent_run import (  # noqa: F401 - fixtures, found by name
    docker_engine,
    fixture_repo,
    model_server,
    worker_settings,
)
