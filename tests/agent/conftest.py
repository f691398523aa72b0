"""Fixtures of the agent tests (tests/support/agent_run.py, tests/support/calc_repo.py)."""

import pytest

from tests.support.agent_run import (  # noqa: F401 - fixtures, found by name
    docker_engine,
    fixture_repo,
    model_server,
    worker_settings,
)


@pytest.fixture(params=["responses", "chat"])
def api(request):
    """Each of the model's two wire APIs in turn (MODEL_*_API): a test taking `api` runs once
    with each."""
    return request.param
