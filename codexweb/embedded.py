"""The embedded default: one machine, SQLite, a child redis-server, daphne and one worker.

Started together, stopped together (Ctrl-C, SIGINT or SIGTERM); a child that dies is restarted
(codexweb/supervisor.py). If REDIS_URL already answers we use it instead of starting our own,
and if that Redis goes away we say so and wait for it: the worker and daphne reconnect on their
own once it answers again.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

from codexweb.supervisor import Child, Supervisor

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
CHECK_SECONDS = 0.5
EXTERNAL_REDIS_CHECK_SECONDS = 2.0
# daphne refuses a websocket whose handshake takes longer (its own default: 5 s).
WEBSOCKET_HANDSHAKE_SECONDS = 30


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _wait(host: str, port: int, *, seconds: float, child: Child) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if _answers(host, port):
            return
        if child.proc is not None and child.proc.poll() is not None:
            raise RuntimeError(
                f"{child.name} exited with status {child.proc.returncode} while starting"
            )
        time.sleep(0.1)
    raise RuntimeError(f"{child.name} did not answer on {host}:{port} within {seconds:.0f}s")


def _docker_answers() -> bool:
    try:
        result = subprocess.run(
            ["docker", "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


def say(message: str) -> None:
    print(f"[codexweb] {message}", flush=True)


def redis_server_argv(binary: str, port: int, var_dir: Path) -> list[str]:
    """Our own redis-server: loopback only, and an append-only file in var/, so jobs waiting in
    the queue (and the channel layer's groups) survive a restart of redis-server."""
    return [
        binary,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "yes",
        "--appendfsync",
        "everysec",
        "--dir",
        str(var_dir),
    ]


class ExternalRedisWatch:
    """Says when a Redis we did not start stops answering, and when it is back."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.up = True
        self.next_check = 0.0
        self.down_since = 0.0

    def check(self) -> None:
        now = time.monotonic()
        if now < self.next_check:
            return
        self.next_check = now + EXTERNAL_REDIS_CHECK_SECONDS
        answers = _answers(self.host, self.port)
        if self.up and not answers:
            self.down_since = now
            say(
                f"the Redis at {self.host}:{self.port} (not started by codexweb) does not answer; "
                "live updates and new jobs wait until it is back. Still checking every "
                f"{EXTERNAL_REDIS_CHECK_SECONDS:.0f}s; the worker and the web server reconnect "
                "on their own."
            )
        elif not self.up and answers:
            say(
                f"the Redis at {self.host}:{self.port} answers again "
                f"(after {now - self.down_since:.0f}s)"
            )
        self.up = answers


def default_public_url(host: str, port: int) -> str:
    """The address links in pull requests and e-mails use when PUBLIC_URL is not set: where
    this runner serves (`--host`/`--port`, `make run PORT=9000`), not the default port. A
    wildcard host is reached at 127.0.0.1 on this machine."""
    if host in ("", "0.0.0.0", "::"):  # noqa: S104 - recognizing a wildcard, not binding
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def serve(*, host: str = "127.0.0.1", port: int = 8000) -> int:
    var_dir = Path(os.environ.get("CODEXWEB_VAR_DIR", ROOT / "var"))
    var_dir.mkdir(parents=True, exist_ok=True)
    if "STATIC_ROOT" not in os.environ:
        # settings' default STATIC_ROOT; whitenoise warns at every start when it is missing
        # ("UserWarning: No directory at …"), which reads like a fault to a newcomer.
        (var_dir / "static").mkdir(exist_ok=True)
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "codexweb.settings")
    env.setdefault("CODEXWEB_VAR_DIR", str(var_dir))
    env.setdefault("PUBLIC_URL", default_public_url(host, port))
    supervisor = Supervisor(say=say)
    watch: ExternalRedisWatch | None = None

    def on_signal(signum: int, _frame: object) -> None:
        # Once: a second SIGTERM (a service manager signalling the whole group, or make
        # forwarding one) must not interrupt the shutdown half-way.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        raise KeyboardInterrupt

    # Both explicitly: a runner started in the background by a script inherits SIGINT ignored,
    # and Ctrl-C or `kill -INT` must still stop everything.
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        redis_url = env.get("REDIS_URL", DEFAULT_REDIS_URL)
        parsed = urlparse(redis_url)
        redis_host, redis_port = parsed.hostname or "127.0.0.1", parsed.port or 6379
        if _answers(redis_host, redis_port):
            say(f"using the Redis already running at {redis_host}:{redis_port}")
            watch = ExternalRedisWatch(redis_host, redis_port)
        else:
            binary = shutil.which("redis-server")
            if binary is None:
                say("redis-server is not installed; run `make run`, which installs it.")
                return 1
            redis_url = f"redis://127.0.0.1:{redis_port}/0"
            say(f"starting redis-server on 127.0.0.1:{redis_port}")
            redis = supervisor.start(
                Child("redis-server", redis_server_argv(binary, redis_port, var_dir), quiet=True)
            )
            _wait("127.0.0.1", redis_port, seconds=20, child=redis)
        env["REDIS_URL"] = redis_url

        if "SANDBOX_BACKEND" not in env:
            if _docker_answers():
                env["SANDBOX_BACKEND"] = "docker"
                say("attempts run in Docker containers (SANDBOX_BACKEND=docker)")
            else:
                say("no Docker engine answers: attempts fail until one runs (make run starts it)")
        if not env.get("OPENAI_API_KEY") and not env.get("OPENAI_BASE_URL"):
            say("no model API configured: set OPENAI_API_KEY or OPENAI_BASE_URL (.env.example)")

        say("applying database migrations")
        migrate = subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), "migrate", "--noinput"],
            env=env,
            cwd=ROOT,
            check=False,
        )
        if migrate.returncode != 0:
            say("migrations failed; see the messages above")
            return 1

        say("starting a Celery worker")
        worker_argv = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "codexweb",
            "worker",
            "--loglevel",
            "INFO",
            # No --concurrency: the worker takes WORKER_CONCURRENCY from the settings (default
            # 4, validated there), like a worker started on its own. Pinned to 2 here before,
            # a best-of-2 task kept a person's next Ask waiting in the queue.
            "-Q",
            env.get("CELERY_QUEUE", "attempts"),
            # Beat runs inside the one embedded worker (housekeeping every 5 min).
            "--beat",
            "--schedule",
            str(var_dir / "celerybeat-schedule"),
        ]
        supervisor.start(Child("worker", worker_argv, env=env, cwd=ROOT))
        say(f"starting daphne on {host}:{port}")
        daphne_argv = [
            sys.executable,
            "-m",
            "daphne",
            "-b",
            host,
            "-p",
            str(port),
            # A websocket's handshake (sign-in check, backlog read) may wait its turn on a
            # busy machine; daphne's default 5 s refused them, and each page's retry added
            # more work (bench/ws_opens.py).
            "--websocket_connect_timeout",
            str(WEBSOCKET_HANDSHAKE_SECONDS),
            "codexweb.asgi:application",
        ]
        web = supervisor.start(Child("daphne", daphne_argv, env=env, cwd=ROOT))
        _wait(host, port, seconds=60, child=web)
        url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}/"  # noqa: S104
        say(f"codexweb is running at {url}")
        say("Open that URL to sign in (a new install without an account asks you to create "
            "the administrator account first).")
        say("Press Ctrl-C to stop everything.")
        while True:
            supervisor.check()
            if watch is not None:
                watch.check()
            time.sleep(CHECK_SECONDS)
    except KeyboardInterrupt:
        say("shutting down")
        return 0
    except RuntimeError as exc:
        say(str(exc))
        return 1
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        supervisor.stop_all()
        say("stopped")
