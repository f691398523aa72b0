"""The embedded default: one machine, SQLite, a child redis-server, daphne and one worker.

Started together, stopped together (Ctrl-C or SIGTERM). If REDIS_URL already answers we use
it instead of starting our own.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _wait(host: str, port: int, *, seconds: float, what: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if _answers(host, port):
            return
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with status {proc.returncode} while starting")
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not answer on {host}:{port} within {seconds:.0f}s")


def _die_with_parent() -> None:
    """Run in each child before exec: if this runner dies, even by SIGKILL, the child gets
    SIGTERM (Linux prctl PR_SET_PDEATHSIG), so no redis-server, worker or daphne is orphaned."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:  # not Linux/glibc: Ctrl-C and SIGTERM still stop everything
        pass


PR_SET_PDEATHSIG = 1


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


def serve(*, host: str = "127.0.0.1", port: int = 8000) -> int:
    var_dir = Path(os.environ.get("CODEXWEB_VAR_DIR", ROOT / "var"))
    var_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "codexweb.settings")
    env.setdefault("CODEXWEB_VAR_DIR", str(var_dir))
    children: list[tuple[str, subprocess.Popen]] = []

    def stop_all() -> None:
        for name, proc in reversed(children):
            if proc.poll() is None:
                say(f"stopping {name}")
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for _name, proc in reversed(children):
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()

    def on_signal(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    # Both explicitly: a runner started in the background by a script inherits SIGINT ignored,
    # and Ctrl-C or `kill -INT` must still stop everything.
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        redis_url = env.get("REDIS_URL", DEFAULT_REDIS_URL)
        parsed = urlparse(redis_url)
        if _answers(parsed.hostname or "127.0.0.1", parsed.port or 6379):
            say(f"using the Redis already running at {parsed.hostname}:{parsed.port or 6379}")
        else:
            binary = shutil.which("redis-server")
            if binary is None:
                say("redis-server is not installed; run `make run`, which installs it.")
                return 1
            redis_port = parsed.port or 6379
            redis_url = f"redis://127.0.0.1:{redis_port}/0"
            say(f"starting redis-server on 127.0.0.1:{redis_port}")
            proc = subprocess.Popen(
                [
                    binary,
                    "--port",
                    str(redis_port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    str(var_dir),
                ],
                stdout=subprocess.DEVNULL,
                preexec_fn=_die_with_parent,  # noqa: PLW1509 - the runner has no threads
            )
            children.append(("redis-server", proc))
            _wait("127.0.0.1", redis_port, seconds=20, what="redis-server", proc=proc)
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
        children.append(
            (
                "worker",
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "celery",
                        "-A",
                        "codexweb",
                        "worker",
                        "--loglevel",
                        "INFO",
                        "--concurrency",
                        env.get("WORKER_CONCURRENCY", "2"),
                        "-Q",
                        env.get("CELERY_QUEUE", "attempts"),
                        # Beat runs inside the one embedded worker (housekeeping every 5 min).
                        "--beat",
                        "--schedule",
                        str(var_dir / "celerybeat-schedule"),
                    ],
                    env=env,
                    cwd=ROOT,
                    preexec_fn=_die_with_parent,  # noqa: PLW1509 - the runner has no threads
                ),
            )
        )
        say(f"starting daphne on {host}:{port}")
        web = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "daphne",
                "-b",
                host,
                "-p",
                str(port),
                "codexweb.asgi:application",
            ],
            env=env,
            cwd=ROOT,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - the runner has no threads
        )
        children.append(("daphne", web))
        _wait(host, port, seconds=60, what="daphne", proc=web)
        url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}/"  # noqa: S104
        say(f"codexweb is running at {url}")
        say("First time? Open that URL: it asks you to create the administrator account.")
        say("Press Ctrl-C to stop everything.")
        while True:
            for name, proc in children:
                if proc.poll() is not None:
                    say(f"{name} exited with status {proc.returncode}; stopping the rest")
                    return 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        say("shutting down")
        return 0
    except RuntimeError as exc:
        say(str(exc))
        return 1
    finally:
        stop_all()
