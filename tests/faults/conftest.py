"""Fixtures for the fault suites: real processes (Celery workers, a private PostgreSQL, SQLite
files) that the tests kill, stop and restart by PID, and the Docker engine the attempts use.

Each group of fixtures says whose it is, so more can be added without stepping on each other.
"""


from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from subprocess import Popen

import pytest
import requests
from django.test import Client

from codexweb.api.tokens import api_token_create
from repos.services import repository_register
from tasks.models import Attempt
from tests.support import factories
from tests.support.agent_run import docker_engine, fixture_repo, worker_settings  # noqa: F401
from tests.support.celery_queue import queue_clear
from tests.support.live_app import (
    LiveApp,
    child_environment,
    start_daphne,
    stop_process,
)
from tests.support.live_app import (
    start_worker as start_worker_process,
)
from tests.support.model_server import ScriptedModelServer
from tests.support.processes import EmbeddedStack, RedisProcess, stack_environment, wait_until
from tests.support.services import ROOT, PostgresServer, free_port, postgres_server

# -- the worker path under faults (issue 16 items 0, 1, 4, 6, 7) --------------------------------

# Small thresholds so a test waits seconds, not minutes (the defaults are 10 s and 60 s).
HEARTBEAT_SECONDS = 0.5
HEARTBEAT_TIMEOUT_SECONDS = 3


@pytest.fixture
def model_server() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer() as server:
        yield server


@pytest.fixture
def runtime_dir() -> Iterator[Path]:
    """The sandboxes' host-side folder; short, because unix socket paths are."""
    path = Path(tempfile.mkdtemp(prefix="cxft-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def fault_settings(worker_settings, runtime_dir):  # noqa: F811
    """The test process's settings for attempts in Docker with the scripted model
    (tests/agent/test_attempt_flow.py), with small fault thresholds."""
    worker_settings.SANDBOX_RUNTIME_DIR = runtime_dir
    worker_settings.SANDBOX_WARM_CACHE_HOURS = 0
    worker_settings.ATTEMPT_HEARTBEAT_SECONDS = HEARTBEAT_SECONDS
    worker_settings.ATTEMPT_HEARTBEAT_TIMEOUT_SECONDS = HEARTBEAT_TIMEOUT_SECONDS
    worker_settings.DB_RETRY_SECONDS = 5.0
    return worker_settings


def scripted_attempts(model_server: ScriptedModelServer, runtime_dir: Path) -> dict[str, str]:
    """A child process's settings for attempts in Docker (sandboxes under `runtime_dir`, no
    warm images) with the scripted model over chat completions."""
    return {
        "SANDBOX_BACKEND": "docker",
        "SANDBOX_RUNTIME_DIR": str(runtime_dir),
        "SANDBOX_WARM_CACHE_HOURS": "0",
        "OPENAI_BASE_URL": model_server.url,
        "OPENAI_API_KEY": "sk-test",
        "MODEL_STRONG_API": "chat",
        "MODEL_FAST_API": "chat",
        "MODEL_STRONG_REASONING_EFFORT": "",
        "MODEL_FAST_REASONING_EFFORT": "",
    }


@dataclass
class Worker:
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:]

    def kill(self) -> None:
        """SIGKILL, as the OOM killer or a lost host would: nothing runs after it."""
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


@pytest.fixture
def start_worker(fault_settings, model_server, runtime_dir) -> Iterator[Callable[..., Worker]]:
    """Start real `celery -A codexweb worker` processes (solo pool: the job runs in the process
    the test kills) on the test database and Redis, with Docker and the scripted model."""
    started: list[Worker] = []

    def start(*pool: str) -> Worker:
        """`pool`: the worker's pool options (default `--pool solo`; e.g. `--concurrency 2`
        alone runs the settings' pool, as production does)."""
        log_path = Path(tempfile.mkstemp(prefix="celery-fault-", suffix=".log")[1])
        env = child_environment(
            **scripted_attempts(model_server, runtime_dir),
            ATTEMPT_HEARTBEAT_SECONDS=str(HEARTBEAT_SECONDS),
            ATTEMPT_HEARTBEAT_TIMEOUT_SECONDS=str(HEARTBEAT_TIMEOUT_SECONDS),
        )
        with log_path.open("w") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "codexweb", "worker",
                 *(pool or ("--pool", "solo")), "--loglevel", "INFO", "--without-gossip",
                 "--without-mingle", "--without-heartbeat",
                 "-Q", fault_settings.CELERY_TASK_DEFAULT_QUEUE,
                 "-n", f"faults-{os.getpid()}-{len(started)}@%h"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            )
        worker = Worker(process, log_path)
        started.append(worker)
        deadline = time.monotonic() + 60
        while "ready." not in log_path.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"celery worker did not start:\n{worker.log()}")
            time.sleep(0.1)
        return worker

    queue_clear()
    yield start
    for worker in started:
        if worker.process.poll() is None:
            worker.process.terminate()
            try:
                worker.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()
        worker.log_path.unlink(missing_ok=True)
    queue_clear()


def wait_for(condition: Callable[[], object], *, timeout: float, what: str) -> object:
    """Poll `condition` every 0.1 s until it is truthy; fail naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def attempt_containers(  # noqa: ANN001
    client, attempt_id: int, *, pid: int | None = None, after_removals: bool = True
) -> list[str]:
    """Ids of the sandbox containers of `attempt_id` made by process `pid` (default: this
    one). Other test sessions share the engine, and their attempt ids repeat ours. For this
    process, once the removals its ended attempts queued are done (tasks/sandbox/removal.py),
    unless not `after_removals`."""
    from tasks.sandbox import removal
    from tasks.sandbox.spec import LABEL_ATTEMPT, LABEL_OWNER, LABEL_SANDBOX

    if after_removals and (pid is None or pid == os.getpid()):
        assert removal.drain(60), "this process's container removals took over 60 s"

    found = client.api.containers(
        all=True, filters={"label": [LABEL_SANDBOX, f"{LABEL_ATTEMPT}={attempt_id}"]}
    )
    pid = os.getpid() if pid is None else pid
    return [
        c["Id"] for c in found if (c.get("Labels") or {}).get(LABEL_OWNER, "").split(":")[1:2]
        == [str(pid)]
    ]


def when_event(attempt, kind: str, needle: str, action: Callable[[], object]) -> threading.Thread:  # noqa: ANN001
    """In a thread: once `attempt` has an event of `kind` whose payload mentions `needle`, run
    `action` (cancel, kill, restart…) — the moment a person or a fault would strike."""
    from django.db import connection

    from tasks.models import Event

    def run() -> None:
        try:
            wait_for(
                lambda: any(
                    needle in str(e.payload)
                    for e in Event.objects.filter(attempt=attempt, kind=kind)
                ),
                timeout=120,
                what=f"a {kind} event with {needle!r}",
            )
            action()
        finally:
            connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def next_attempt_works(model_server, repository, author) -> None:  # noqa: ANN001
    """After the fault, a new attempt on the same engine runs to its end."""
    from tasks.jobs import run_attempt
    from tasks.models import Status
    from tasks.services import task_create
    from tests.support.model_server import reply

    model_server.add(reply("The repository has calc.py."))
    task = task_create(
        author=author, repository=repository, mode="ask", prompt="What is here?", base_branch="main"
    )
    attempt = task.attempts.get()
    run_attempt(attempt.pk)
    attempt.refresh_from_db()
    assert attempt.status == Status.SUCCEEDED, attempt.error


def assert_failed_for_the_lost_container(attempt) -> None:  # noqa: ANN001
    """Failed, saying the engine lost the container, with no patch (never Succeeded)."""
    from tasks import event_kinds as kinds
    from tasks.models import Status

    attempt.refresh_from_db()
    assert attempt.status == Status.FAILED
    assert "the container engine restarted or stopped this attempt's container" in attempt.error
    assert attempt.patch == ""
    end = attempt.events.get(kind=kinds.COMMAND_END)
    assert end.payload["exit_code"] is None and "container engine" in end.payload["error"]


# --- h5: the embedded runner; an app on a Redis and a port the test may restart ---------------
# (process helpers: tests/support/processes.py; live log followers: tests/support/live_clients.py)
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
        shutil.rmtree(var_dir, ignore_errors=True)


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
        worker, _log = start_worker_process(**env)
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


@pytest.fixture
def private_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server of the test's own, which it may stop and start (an outage)."""
    server = postgres_server()
    server.start()
    yield server
    server.remove()
