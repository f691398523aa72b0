"""Real PostgreSQL and Redis servers on loopback for the test session.

`make test` has installed the binaries (PostgreSQL 15 from Debian, redis-server). Each test
session starts its own throw-away servers on free ports, unless TEST_DATABASE_URL /
TEST_REDIS_URL point at ones already running, and stops them when the session ends.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache" / "test-services"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, *, timeout: float = 30.0, what: str = "server") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not answer on 127.0.0.1:{port} within {timeout:.0f}s")


def _pg_bindir() -> Path:
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(candidate, "initdb").exists():
            return Path(candidate)
    raise RuntimeError(
        "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin: "
        "run `make test` once (it installs postgresql) or set TEST_DATABASE_URL."
    )


def _as_postgres_user() -> list[str]:
    """initdb refuses to run as root; run the server as the unprivileged 'postgres' user."""
    if os.geteuid() != 0:
        return []
    return ["runuser", "-u", "postgres", "--"]


def _template_cluster() -> Path:
    """initdb once per checkout; each session copies it (initdb takes seconds, a copy does not)."""
    template = CACHE / "pg-template"
    if (template / "PG_VERSION").exists():
        return template
    CACHE.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="pg-init-", dir=CACHE))
    if os.geteuid() == 0:
        shutil.chown(staging, "postgres")
    subprocess.run(
        [
            *_as_postgres_user(),
            str(_pg_bindir() / "initdb"),
            "-D",
            str(staging),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
        ],
        check=True,
        capture_output=True,
    )
    try:
        staging.rename(template)
    except OSError:  # another session won the race
        shutil.rmtree(staging, ignore_errors=True)
    return template


@dataclass
class PostgresServer:
    """A private PostgreSQL cluster on a loopback port, which a test may stop and start again
    (tests/faults: the database is briefly unavailable)."""

    datadir: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/codexweb"

    def _pg_ctl(self, *args: str) -> None:
        subprocess.run(
            [*_as_postgres_user(), str(_pg_bindir() / "pg_ctl"), "-D", str(self.datadir), *args],
            check=True,
            capture_output=True,
        )

    def start(self) -> None:
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} "
            f"-c unix_socket_directories={self.datadir / 'sock'} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._pg_ctl(
            "-o", options, "-l", str(self.datadir / "server.log"), "-w", "-t", "60", "start"
        )

    def stop(self, mode: str = "immediate") -> None:
        """Stop the server; `fast` and `immediate` both cut every client's connection."""
        self._pg_ctl("-m", mode, "-w", "stop")

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop()
        shutil.rmtree(self.datadir, ignore_errors=True)


def postgres_sessions(url: str) -> int:
    """Connections PostgreSQL has accepted to `url`'s database so far (this one included):
    each a server process forked and signed in (bench/load.py, the web pool's tests)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_force_next_flush()")
        row = conn.execute(
            "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()
    if row is None:
        raise RuntimeError(f"PostgreSQL has no statistics for {url}")
    return int(row[0])


def postgres_server() -> PostgresServer:
    """A fresh cluster (a copy of the template) on a free port, not started yet."""
    template = _template_cluster()
    datadir = Path(tempfile.mkdtemp(prefix="pg-run-", dir=CACHE))
    shutil.rmtree(datadir)
    shutil.copytree(template, datadir, symlinks=True)
    if os.geteuid() == 0:
        subprocess.run(["chown", "-R", "postgres", str(datadir)], check=True)
    os.chmod(datadir, 0o700)
    sockdir = datadir / "sock"
    sockdir.mkdir()
    if os.geteuid() == 0:
        shutil.chown(sockdir, "postgres")
    return PostgresServer(datadir=datadir, port=free_port())


def start_postgres() -> str:
    """Start a private PostgreSQL on a free loopback port; return its DATABASE_URL."""
    server = postgres_server()
    server.start()
    atexit.register(server.remove)
    return server.url


def start_redis() -> str:
    """Start a private redis-server (no persistence) on a free loopback port; return its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError(
            "redis-server not found: run `make test` once (it installs redis-server) "
            "or set TEST_REDIS_URL."
        )
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    atexit.register(lambda: (proc.terminate(), proc.wait(timeout=10)))
    wait_for_port(port, what="redis-server")
    return f"redis://127.0.0.1:{port}/0"


def ensure_services() -> None:
    """Set DATABASE_URL and REDIS_URL for this process, starting servers when needed."""
    if os.environ.get("CODEXWEB_TEST_SERVICES_READY") == "1":
        return
    os.environ["DATABASE_URL"] = os.environ.get("TEST_DATABASE_URL") or start_postgres()
    os.environ["REDIS_URL"] = os.environ.get("TEST_REDIS_URL") or start_redis()
    os.environ["CODEXWEB_TEST_SERVICES_READY"] = "1"
