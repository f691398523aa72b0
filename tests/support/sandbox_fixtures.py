"""Fixtures for the sandbox suites: a real Docker engine, the real images, real egress proxies.

Most tests use the slim image (smaller, the same for what they check); the toolchain tests use
the universal one (`universal_image`).

When no engine answers, `scripts/docker-engine.sh` is run once to start one; when the image or
the proxy environment is missing they are built with their scripts. A test is skipped only when
one of those cannot be had, and the reason names the missing part. (`make test` starts the
engine and builds both first, so CI never skips.)
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import docker
import pytest

from tasks.sandbox import helper_build
from tasks.sandbox.base import SandboxOwner, SandboxSpec
from tasks.sandbox.config import DockerConfig
from tasks.sandbox.docker import DockerSandbox
from tasks.sandbox.egress import spare
from tests.support.egress_target import EgressTarget, start_egress_target

ROOT = Path(__file__).resolve().parents[2]
IMAGE = os.environ.get("SANDBOX_SLIM_IMAGE", "codexweb-sandbox-slim:latest")
UNIVERSAL_IMAGE = os.environ.get("SANDBOX_IMAGE", "codexweb-sandbox-universal:latest")
MITMDUMP = ROOT / ".venv-proxy" / "bin" / "mitmdump"
ALLOWED = "allowed.test"
# The test target listens on loopback, which the proxy refuses unless it is listed (the
# production default lists nothing).
LOOPBACK = ("127.0.0.0/8", "::1/128")


def _script(name: str, timeout: int, *args: str) -> tuple[bool, str]:
    try:
        done = subprocess.run(
            [str(ROOT / "scripts" / name), *args], capture_output=True, text=True, timeout=timeout
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, str(exc)
    return done.returncode == 0, (done.stderr or done.stdout).strip()[-500:]


@pytest.fixture(scope="session")
def docker_engine() -> docker.DockerClient:
    try:
        client = docker.from_env(timeout=120)
        client.ping()
    except docker.errors.DockerException:
        ok, why = _script("docker-engine.sh", 120)
        if not ok:
            pytest.skip(f"no Docker engine could be started: {why}")
        client = docker.from_env(timeout=120)
    try:
        client.images.get(IMAGE)
    except docker.errors.ImageNotFound:
        ok, why = _script("sandbox-image.sh", 900, "slim")
        if not ok:
            pytest.skip(f"the sandbox image {IMAGE} is missing and could not be built: {why}")
    return client


@pytest.fixture(scope="session")
def universal_image(docker_engine: docker.DockerClient) -> str:
    """The universal image's name; built (minutes) when it is missing."""
    try:
        docker_engine.images.get(UNIVERSAL_IMAGE)
    except docker.errors.ImageNotFound:
        ok, why = _script("sandbox-image.sh", 2400, "universal")
        if not ok:
            pytest.skip(
                f"the universal sandbox image {UNIVERSAL_IMAGE} is missing and could not be "
                f"built: {why}"
            )
    return UNIVERSAL_IMAGE


@pytest.fixture(scope="session")
def mitmdump() -> str:
    if not MITMDUMP.exists():
        ok, why = _script("proxy-venv.sh", 600)
        if not ok:
            pytest.skip(f"the egress proxy (.venv-proxy/bin/mitmdump) could not be built: {why}")
    return str(MITMDUMP)


@pytest.fixture(scope="session")
def egress_target() -> Iterator[EgressTarget]:
    running = start_egress_target(ALLOWED)
    yield running.target
    running.shutdown()


@pytest.fixture(scope="session")
def workspace_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small pristine git checkout."""
    path = tmp_path_factory.mktemp("checkout")
    (path / "README.md").write_text("# demo\n")
    (path / ".gitignore").write_text("node_modules/\n")
    (path / "src").mkdir()
    (path / "src" / "app.py").write_text("print('hi')\n")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run(git + ["init", "-q"], cwd=path, check=True)
    subprocess.run(git + ["add", "."], cwd=path, check=True)
    subprocess.run(git + ["commit", "-qm", "init"], cwd=path, check=True)
    return path


@pytest.fixture
def workspace_files(tmp_path: Path) -> Callable[[dict[str, str]], Path]:
    """Makes a pristine git checkout holding `files` (relative path -> text)."""

    def make(files: dict[str, str]) -> Path:
        path = tmp_path / "checkout"
        for name, text in files.items():
            (path / name).parent.mkdir(parents=True, exist_ok=True)
            (path / name).write_text(text)
        git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
        subprocess.run(git + ["init", "-q"], cwd=path, check=True)
        subprocess.run(git + ["add", "."], cwd=path, check=True)
        subprocess.run(git + ["commit", "-qm", "init"], cwd=path, check=True)
        return path

    return make


SandboxFactory = Callable[..., DockerSandbox]


@functools.cache
def helper_binary() -> str:
    """The resident helper built from the current source (tasks/sandbox/helper_build.py; gcc)."""
    return str(helper_build.build(ROOT / ".cache" / "sandbox-helper"))


def _stop_all(made: list[DockerSandbox], runtime: Path) -> None:
    """Stop the sandboxes a fixture made and remove their runtime folder. A stopped setup phase
    starts the next sandbox's proxy ahead (tasks/sandbox/egress/spare.py) in that folder: it is
    stopped first, or it made the folder again after its removal and left it in /tmp."""
    for sandbox in made:
        sandbox.stop()
    spare.stop_spare()
    shutil.rmtree(runtime, ignore_errors=True)


def _short_dir() -> Path:
    # Unix socket paths are limited to ~108 bytes; pytest's tmp_path can be longer.
    return Path(tempfile.mkdtemp(prefix="cxsb-"))


def _factory(
    docker_engine: docker.DockerClient,
    mitmdump: str,
    egress_target: EgressTarget,
    workspace_dir: Path,
    runtime_dir: Path,
) -> tuple[SandboxFactory, list[DockerSandbox]]:
    made: list[DockerSandbox] = []
    counter = iter(range(1, 10_000))

    def make(
        *,
        start: bool = True,
        warm_cache_hours: float = 0.0,
        upstream_ca: str | None = None,
        allow_private: tuple[str, ...] = LOOPBACK,
        target: EgressTarget | None = None,
        resolve: dict[str, str] | None = None,
        egress_resolve: dict[str, str] | None = None,
        pool_size: int = 0,
        spare_proxy: bool = False,
        proxy_program: str | None = None,
        helper: bool = True,
        **fields: object,
    ) -> DockerSandbox:
        """A sandbox for SandboxSpec `fields`. The proxy sends ALLOWED to `target` (default:
        the session's target) and trusts the target's certificate upstream unless `upstream_ca`
        says otherwise ("" = this host's system store plus the spec's extra CA), and lets the
        sandbox reach `allow_private` (loopback, where the target listens; () to see the
        production default), with `pool_size` pre-started containers (tasks/sandbox/pool.py;
        none by default). `resolve` maps more names ("name" or "name:port" -> "ip:port");
        `egress_resolve` replaces the whole mapping (another target); `proxy_program` runs
        instead of the session's mitmdump (a wrapper that delays it, to catch a start);
        `helper` off runs every command with an exec of its own (no resident helper)."""
        target = target or egress_target
        spec_fields: dict[str, object] = {
            "owner": SandboxOwner.attempt(900_000 + next(counter)),
            "image": IMAGE,
            "workspace": workspace_dir,
            "memory_mb": 512,
            "pids": 128,
            "cpus": 1.0,
            "disk_mb": 1024,
            "wall_seconds": 300,
            "labels": {"org.codexweb.test": "1"},
        }
        spec_fields.update(fields)
        config = DockerConfig(
            runtime_dir=runtime_dir,
            mitmdump=proxy_program or mitmdump,
            warm_cache_hours=warm_cache_hours,
            disk_watch_seconds=0.5,
            # HTTPS (port 443) goes to the target's TLS listener, anything else to plain HTTP.
            egress_resolve=egress_resolve
            or {
                ALLOWED: target.address,
                f"{ALLOWED}:443": target.tls_address,
                **(resolve or {}),
            },
            egress_upstream_ca=target.cert_file if upstream_ca is None else upstream_ca,
            allow_private=allow_private,
            pool_size=pool_size,
            spare_proxy=spare_proxy,
            helper_binary=helper_binary() if helper else "",
        )
        sandbox = DockerSandbox(SandboxSpec(**spec_fields), config=config, client=docker_engine)  # type: ignore[arg-type]
        made.append(sandbox)
        if start:
            sandbox.start()
        return sandbox

    return make, made


@pytest.fixture
def make_sandbox(
    docker_engine, mitmdump, egress_target, workspace_dir, tmp_path
) -> Iterator[SandboxFactory]:  # noqa: ANN001
    runtime = _short_dir()
    make, made = _factory(docker_engine, mitmdump, egress_target, workspace_dir, runtime)
    yield make
    _stop_all(made, runtime)


@pytest.fixture(scope="module")
def module_sandbox_factory(
    docker_engine,
    mitmdump,
    egress_target,
    workspace_dir,  # noqa: ANN001
) -> Iterator[SandboxFactory]:
    runtime = _short_dir()
    make, made = _factory(docker_engine, mitmdump, egress_target, workspace_dir, runtime)
    yield make
    _stop_all(made, runtime)
