"""Container pool benchmark: `DockerSandbox.start()` with the pool on and off, alternating.

    .venv/bin/python bench/pool.py [--rounds 8] [--image codexweb-sandbox-slim:latest]

Each round starts one sandbox with the pool off (create + start, as before) and one with the
pool on (a pre-started container claimed), in the same minutes, for an attempt that qualifies
(internet off, no setup or maintenance script: tasks/sandbox/pool.py); before each pooled start
the previous start's background refill is awaited, as it is between attempts. Prints the median
and p90 of `start()` per mode, how many pooled starts were served from the pool, and the load
average: the machine is shared. Prints figures; exits 1 when a pooled start missed the pool.
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
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.machine import load_average  # noqa: E402
from tasks.sandbox import pool  # noqa: E402
from tasks.sandbox.base import SandboxOwner, SandboxSpec  # noqa: E402
from tasks.sandbox.config import DockerConfig  # noqa: E402
from tasks.sandbox.docker import DockerSandbox  # noqa: E402
from tasks.sandbox.engine import docker_client  # noqa: E402


def checkout(folder: Path) -> Path:
    """A small git checkout (a few files), like the bench project."""
    (folder / "calc").mkdir(parents=True)
    (folder / "calc" / "__init__.py").write_text("")
    (folder / "calc" / "ops.py").write_text("def add(a, b):\n    return a + b\n")
    (folder / "README.md").write_text("# calc\n")
    git = ["git", "-c", "user.name=b", "-c", "user.email=b@example.invalid"]
    subprocess.run([*git, "init", "-q"], cwd=folder, check=True)
    subprocess.run([*git, "add", "."], cwd=folder, check=True)
    subprocess.run([*git, "commit", "-qm", "init"], cwd=folder, check=True)
    return folder


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--image", default="codexweb-sandbox-slim:latest")
    args = parser.parse_args()
    client = docker_client()
    work = Path(tempfile.mkdtemp(prefix="bench-pool-"))
    runtime = Path(tempfile.mkdtemp(prefix="bpool-"))
    install = f"bench-pool-{uuid.uuid4().hex[:8]}"
    workspace = checkout(work / "checkout")
    times: dict[str, list[float]] = {"off": [], "on": []}
    hits = 0
    keys: set[str] = set()
    refill = None
    print(f"load average before: {load_average()}")
    try:
        for n in range(args.rounds):
            for mode in ("off", "on"):
                if mode == "on" and refill is not None:
                    refill.join(timeout=120)
                spec = SandboxSpec(
                    owner=SandboxOwner.attempt(600_000 + n * 2 + (mode == "on")),
                    image=args.image,
                    workspace=workspace,
                    install_id=install,
                    memory_mb=1024,
                    wall_seconds=600,
                )
                config = DockerConfig(
                    runtime_dir=runtime,
                    mitmdump=str(ROOT / ".venv-proxy" / "bin" / "mitmdump"),
                    warm_cache_hours=0,
                    pool_size=1 if mode == "on" else 0,
                )
                sandbox = DockerSandbox(spec, config=config, client=client)
                started = time.monotonic()
                try:
                    sandbox.start()
                    times[mode].append(time.monotonic() - started)
                finally:
                    sandbox.stop()
                if mode == "on":
                    refill = sandbox.pool_refill
                    keys.add(sandbox.pool_key)
                    hits += sandbox.pooled and n > 0
            print(
                f"round {n + 1}: off {times['off'][-1]:.2f} s, on {times['on'][-1]:.2f} s "
                f"(load {load_average()})"
            )
        if refill is not None:
            refill.join(timeout=120)
    finally:
        for key in keys:
            for info in client.api.containers(
                all=True, filters={"label": f"{pool.LABEL_POOL}={key}"}
            ):
                client.api.remove_container(info["Id"], force=True, v=True)
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(runtime, ignore_errors=True)
    print("\n| start() | median | p90 |\n| --- | --- | --- |")
    for mode, label in (("off", "pool off (create + start)"), ("on", "pool on (claimed)")):
        # The first pooled start misses (the pool is learned from use): left out.
        values = sorted(times[mode][1:] if mode == "on" else times[mode])
        p90 = values[min(len(values) - 1, int(len(values) * 0.9))]
        print(f"| {label} | {statistics.median(values):.2f} s | {p90:.2f} s |")
    print(f"pooled starts served from the pool: {hits}/{args.rounds - 1}")
    print(f"load average after: {load_average()} ({os.cpu_count()} cores)")
    return 0 if hits == args.rounds - 1 else 1


if __name__ == "__main__":
    sys.exit(main())
