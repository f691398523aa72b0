"""Sandbox benchmark: cold image builds (slim and universal) with their sizes, cold and warm
container start and the in-sandbox/host ratio on each image.

    .venv/bin/python bench/sandbox.py            # everything (the builds take many minutes)
    .venv/bin/python bench/sandbox.py --no-build # skip the image builds

The builds go to separate tags (codexweb-sandbox-{slim,universal}:bench, removed afterwards) so
the real images are untouched: first with an empty build cache (what a fresh CI machine does),
then again with the cache that run filled (downloaded .deb files and tools; what a rebuild on the
same machine does). The workload is the same Python script on the host and in the sandbox
(CPU-bound pure Python plus small-file I/O, like a test suite); the ratio compares medians.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tasks.sandbox.base import SandboxOwner, SandboxSpec  # noqa: E402
from tasks.sandbox.config import DockerConfig  # noqa: E402
from tasks.sandbox.docker import DockerSandbox  # noqa: E402
from tasks.sandbox.engine import docker_client  # noqa: E402
from tasks.sandbox.images import WARM_REPOSITORY  # noqa: E402

WORKLOAD = r"""
import hashlib, os, tempfile, time
t = time.perf_counter()
total = 0
for i in range(4_000_000):
    total += (i * i) % 7
cpu = time.perf_counter() - t
with tempfile.TemporaryDirectory() as d:
    for i in range(2000):
        p = os.path.join(d, f"f{i}.txt")
        with open(p, "w") as f:
            f.write(str(i) * 50)
        with open(p) as f:
            hashlib.sha256(f.read().encode()).hexdigest()
print(f"{cpu:.4f} {time.perf_counter() - t - cpu:.4f}")
"""


BENCH_SLIM = "codexweb-sandbox-slim:bench"
BENCH_UNIVERSAL = "codexweb-sandbox-universal:bench"


def build(cache: Path) -> float:
    """Build both images under the bench tags from scratch with `cache` as the build cache."""
    env = dict(
        os.environ,
        SANDBOX_IMAGE=BENCH_UNIVERSAL,
        SANDBOX_SLIM_IMAGE=BENCH_SLIM,
        SANDBOX_IMAGE_FORCE="1",
        SANDBOX_BUILD_CACHE=str(cache),
    )
    started = time.monotonic()
    subprocess.run([str(ROOT / "scripts" / "sandbox-image.sh"), "all"], env=env, check=True)
    return time.monotonic() - started


def image_mb(client, name: str) -> float:  # noqa: ANN001
    return client.images.get(name).attrs["Size"] / 1e6


def builds(client) -> None:  # noqa: ANN001
    cache = Path(tempfile.mkdtemp(prefix="cxbench-cache-"))
    try:
        cold = build(cache)
        print(f"image build, empty cache (slim + universal): {cold:.0f} s", flush=True)
        cached = build(cache)
        print(f"image build, cache filled (slim + universal): {cached:.0f} s", flush=True)
        print(f"slim image size: {image_mb(client, BENCH_SLIM):.0f} MB")
        print(f"universal image size: {image_mb(client, BENCH_UNIVERSAL):.0f} MB", flush=True)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
        for name in (BENCH_UNIVERSAL, BENCH_SLIM):
            subprocess.run(["docker", "rmi", name], capture_output=True, check=False)


def timed_start(spec: SandboxSpec, config: DockerConfig, client) -> tuple[float, DockerSandbox]:  # noqa: ANN001
    sandbox = DockerSandbox(spec, config=config, client=client)
    started = time.monotonic()
    sandbox.start()
    return time.monotonic() - started, sandbox


def measure(image: str, runs: int, config: DockerConfig, client) -> None:  # noqa: ANN001
    workspace = Path(tempfile.mkdtemp(prefix="cxbench-ws-"))
    (workspace / "README.md").write_text("bench\n")
    setup = f"python3 -m venv ~/venv && echo prepared-{time.time_ns()} > ~/marker"
    attempt = iter(range(1, 100))

    def spec(**fields: object) -> SandboxSpec:
        return SandboxSpec(
            owner=SandboxOwner.attempt(next(attempt)),
            image=image,
            workspace=workspace,
            wall_seconds=600,
            **fields,  # type: ignore[arg-type]
        )

    print(f"-- {image}", flush=True)
    plain, sb = timed_start(spec(), config, client)
    sb.stop()
    cold, sb = timed_start(spec(setup_script=setup), config, client)
    sb.stop()
    warm, sandbox = timed_start(spec(setup_script=setup), config, client)
    assert sandbox.warm_hit
    print(f"container start, no setup script:           {plain:.2f} s")
    print(f"cold start (setup script runs, image saved): {cold:.2f} s")
    print(f"warm start (prepared image reused):          {warm:.2f} s (goal <= 0.5 s)")

    # Debian's own python3 on the host when there is one: the same interpreter build as in the
    # image, so the ratio measures the sandbox and not two differently compiled Pythons.
    host_python = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable
    try:
        host_runs: list[tuple[float, float]] = []
        box_runs: list[tuple[float, float]] = []
        sandbox.write_file("workload.py", WORKLOAD)
        for _ in range(runs):  # interleaved, so load from elsewhere hits both alike
            done = subprocess.run(
                [host_python, "-c", WORKLOAD], capture_output=True, text=True, check=True
            )
            cpu, files = done.stdout.split()
            host_runs.append((float(cpu), float(files)))
            result = sandbox.exec("python3 workload.py", timeout=300)
            cpu, files = result.output.split()
            box_runs.append((float(cpu), float(files)))
        for label, index in (("CPU (pure Python)", 0), ("small files (2000)", 1)):
            host = statistics.median(r[index] for r in host_runs)
            box = statistics.median(r[index] for r in box_runs)
            print(
                f"workload {label}: host {host:.3f} s, sandbox {box:.3f} s, ratio {box / host:.2f}x"
            )
        host = statistics.median(sum(r) for r in host_runs)
        box = statistics.median(sum(r) for r in box_runs)
        print(
            f"workload total: host {host:.3f} s, sandbox {box:.3f} s, ratio {box / host:.2f}x "
            f"(median of {runs}; host interpreter {host_python}; target <= 1.15x)",
            flush=True,
        )
    finally:
        sandbox.stop()
        shutil.rmtree(workspace, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-build", action="store_true", help="skip the image builds")
    parser.add_argument(
        "--images",
        default=",".join(
            (
                os.environ.get("SANDBOX_SLIM_IMAGE", "codexweb-sandbox-slim:latest"),
                os.environ.get("SANDBOX_IMAGE", "codexweb-sandbox-universal:latest"),
            )
        ),
        help="comma-separated images to start and run the workload in",
    )
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    client = docker_client()
    if not args.no_build:
        builds(client)
    runtime = Path(tempfile.mkdtemp(prefix="cxbench-"))
    config = DockerConfig(
        runtime_dir=runtime,
        mitmdump=str(ROOT / ".venv-proxy" / "bin" / "mitmdump"),
        warm_cache_hours=1,
    )
    before = {image.id for image in client.images.list(name=WARM_REPOSITORY)}
    try:
        for image in args.images.split(","):
            measure(image, args.runs, config, client)
    finally:
        # Only the warm images this run made: the engine may be shared.
        for image in client.images.list(name=WARM_REPOSITORY):
            if image.id not in before:
                try:
                    client.images.remove(image.id, force=True)
                except Exception:  # noqa: BLE001, S112 — best-effort cleanup
                    continue
        shutil.rmtree(runtime, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
