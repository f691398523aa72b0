"""Sandbox benchmark: cold image build, cold and warm container start, in-sandbox/host ratio.

    .venv/bin/python bench/sandbox.py            # everything (the build takes minutes)
    .venv/bin/python bench/sandbox.py --no-build # skip the cold image build

The image build goes to a separate tag (codexweb-sandbox:bench) so the real one is untouched.
The workload is the same Python script on the host and in the sandbox (CPU-bound pure Python
plus small-file I/O, like a test suite); the ratio compares medians of several runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tasks.sandbox.base import SandboxSpec  # noqa: E402
from tasks.sandbox.config import DockerConfig  # noqa: E402
from tasks.sandbox.docker import DockerSandbox, docker_client  # noqa: E402
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


def cold_build() -> float:
    env = dict(os.environ, SANDBOX_IMAGE="codexweb-sandbox:bench", SANDBOX_IMAGE_FORCE="1")
    started = time.monotonic()
    subprocess.run([str(ROOT / "scripts" / "sandbox-image.sh")], env=env, check=True)
    return time.monotonic() - started


def timed_start(spec: SandboxSpec, config: DockerConfig, client) -> tuple[float, DockerSandbox]:  # noqa: ANN001
    sandbox = DockerSandbox(spec, config=config, client=client)
    started = time.monotonic()
    sandbox.start()
    return time.monotonic() - started, sandbox


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-build", action="store_true", help="skip the cold image build")
    parser.add_argument(
        "--image", default=os.environ.get("SANDBOX_IMAGE", "codexweb-sandbox:latest")
    )
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    if not args.no_build:
        print(f"cold image build (offline path, no cache): {cold_build():.1f} s", flush=True)

    client = docker_client()
    runtime = Path(tempfile.mkdtemp(prefix="cxbench-"))
    config = DockerConfig(
        runtime_dir=runtime,
        mitmdump=str(ROOT / ".venv-proxy" / "bin" / "mitmdump"),
        warm_cache_hours=1,
    )
    workspace = Path(tempfile.mkdtemp(prefix="cxbench-ws-"))
    (workspace / "README.md").write_text("bench\n")
    setup = f"python3 -m venv ~/venv && echo prepared-{time.time_ns()} > ~/marker"

    def spec(attempt: int, **fields: object) -> SandboxSpec:
        return SandboxSpec(
            attempt_id=attempt, image=args.image, workspace=workspace, wall_seconds=600, **fields
        )  # type: ignore[arg-type]

    plain, sb = timed_start(spec(1), config, client)
    sb.stop()
    cold, sb = timed_start(spec(2, setup_script=setup), config, client)
    sb.stop()
    warm, sandbox = timed_start(spec(3, setup_script=setup), config, client)
    assert sandbox.warm_hit
    print(f"container start, no setup script:           {plain:.2f} s")
    print(f"cold start (setup script runs, image saved): {cold:.2f} s")
    print(f"warm start (prepared image reused):          {warm:.2f} s")

    # Debian's own python3 on the host when there is one: the same interpreter build as in the
    # image, so the ratio measures the sandbox and not two differently compiled Pythons.
    host_python = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable
    try:
        host_runs: list[tuple[float, float]] = []
        box_runs: list[tuple[float, float]] = []
        sandbox.write_file("workload.py", WORKLOAD)
        for _ in range(args.runs):  # interleaved, so load from elsewhere hits both alike
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
            f"(median of {args.runs}; host interpreter {host_python}; target <= 1.15x)"
        )
    finally:
        sandbox.stop()
        for image in client.images.list(name=WARM_REPOSITORY):
            if any(t.startswith(WARM_REPOSITORY) for t in image.tags):
                try:
                    client.images.remove(image.id, force=True)
                except Exception:  # noqa: BLE001, S112 — best-effort cleanup
                    continue
    return 0


if __name__ == "__main__":
    sys.exit(main())
