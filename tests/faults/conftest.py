"""Fixtures for the fault tests: real processes, killed and restarted by PID."""

from __future__ import annotations

# --- h5: the embedded runner; an app on a Redis and a port the test may restart ---------------
# (process helpers: tests/support/processes.py; live log followers: tests/support/live_clients.py)
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from subprocess import Popen

import pytest
import requests
from django.test import Client

from codexweb.api.tokens import api_token_create
from repos.services import repository_register
from tasks.models import Attempt
from tests.agent.conftest import docker_engine, fixture_repo  # noqa: F401
from tests.support import factories
from tests.support.live_app import LiveApp, start_daphne, start_worker, stop_process
from tests.support.model_server import ScriptedModelServer
from tests.support.processes import EmbeddedStack, RedisProcess, stack_environment, wait_until
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


@dataclass
class RunningApp:
    """daphne and a worker (real Docker sandbox, scripted model) on a Redis of their own."""

    redis: RedisProcess
    model: ScriptedModelServer
    web: LiveApp
    web_port: int
    env: dict[str, str]
    worker: Popen
    token: str
    cookie: str
    repository_id: int

    def submit_ask(self, prompt: str = "How many lines does the loop print?") -> int:
        """Create an Ask task through the API, as the CLI does; the attempt's id."""
        response = requests.post(
            f"{self.web.url}/api/v1/tasks",
            json={"repository": self.repository_id, "mode": "ask", "prompt": prompt},
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=30,
        )
        assert response.status_code == 201, response.text
        return int(response.json()["attempts"][0]["id"])

    def restart_web(self) -> float:
        """SIGKILL daphne, start a new one on the same port; seconds until it answers."""
        self.web.process.kill()
        self.web.process.wait(timeout=10)
        started = time.monotonic()
        self.web = start_daphne(self.web_port, **self.env)
        return time.monotonic() - started

    @staticmethod
    def wait_finished(attempt_id: int, timeout: float) -> Attempt:
        wait_until(lambda: Attempt.objects.get(pk=attempt_id).is_finished, timeout=timeout,
                   what=f"attempt {attempt_id} finished", interval=0.2)
        return Attempt.objects.get(pk=attempt_id)


@pytest.fixture
def running_app(transactional_db, docker_engine, fixture_repo):  # noqa: F811
    redis = RedisProcess().start()
    alice = factories.make_user("alice")
    acme = factories.make_team("Acme", admin=alice)
    repository = repository_register(team=acme, location=str(fixture_repo))
    client = Client()
    client.force_login(alice)
    with ScriptedModelServer() as model:
        env = {
            "REDIS_URL": redis.url,
            "CELERY_BROKER_URL": redis.url,
            "SANDBOX_BACKEND": "docker",
            "OPENAI_BASE_URL": model.url,
            "OPENAI_API_KEY": "sk-test",
            "MODEL_STRONG_API": "chat",
            "MODEL_FAST_API": "chat",
            "MODEL_STRONG_REASONING_EFFORT": "",
            "SANDBOX_WARM_CACHE_HOURS": "0",
        }
        web = start_daphne(**env)
        worker, _log = start_worker(**env)
        app = RunningApp(
            redis=redis, model=model, web=web, web_port=int(web.url.rsplit(":", 1)[1]), env=env,
            worker=worker, token=api_token_create(user=alice, name="faults").secret,
            cookie=client.cookies["sessionid"].value, repository_id=repository.pk,
        )
        try:
            yield app
        finally:
            stop_process(worker)
            stop_process(app.web.process)
            redis.stop()
# --- end h5 ------------------------------------------------------------------------------------
