"""Best-of-N siblings starting their containers at once from one shared checkout: each packing
the tree for its own container (before) against one tar packed once and copied in by each
(tasks/worker/shared_checkout.shared_archive), alternating round by round.

    .venv/bin/python bench/sibling_starts.py [--source DIR] [--files 7000] [--siblings 3]
                                             [--rounds 5] [--image codexweb-sandbox-slim:latest]

`--source` starts from that folder as it is (e.g. a checkout of a large project); without it a
tree of `--files` files is made (as bench/workspace_archive.py makes it). Each round runs both
ways, in alternating order; before each way the engine has removed the last containers, `sync`
has run and 3 s have passed. Prints, per way, the median and worst time until every sibling's
`start()` returned (the shared tar's packing included) and the median single `start()`, with the
load average: the machine is shared.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import docker

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.machine import load_average  # noqa: E402
from bench.workspace_archive import made_tree  # noqa: E402
from tasks.sandbox.base import SandboxOwner, SandboxSpec  # noqa: E402
from tasks.sandbox.config import DockerConfig  # noqa: E402
from tasks.sandbox.docker import DockerSandbox  # noqa: E402
from tasks.sandbox.engine import docker_client  # noqa: E402
from tasks.sandbox.workspace_archive import pack_workspace  # noqa: E402

WAYS = ("each packs", "one tar")


def bench_sandbox(
    attempt_id: int,
    *,
    image: str,
    tree: Path,
    config: DockerConfig,
    client: docker.DockerClient,
    **spec_fields: Any,
) -> DockerSandbox:
    """A sandbox of attempt `attempt_id` copying `tree`, as the benchmarks start them."""
    spec = SandboxSpec(owner=SandboxOwner.attempt(attempt_id), image=image, workspace=tree,
                       memory_mb=1024, wall_seconds=600, **spec_fields)
    return DockerSandbox(spec, config=config, client=client)


def siblings_start(
    way: str, *, tree: Path, work: Path, image: str, siblings: int, first_owner: int
) -> tuple[float, list[float]]:
    """Start `siblings` sandboxes of `tree` at once; (seconds until all had started, each
    start()'s own seconds). The sandboxes are stopped before returning."""
    client = docker_client()
    runtime = Path(tempfile.mkdtemp(prefix="bsib-", dir=work))
    mitmdump = str(ROOT / ".venv-proxy" / "bin" / "mitmdump")
    config = DockerConfig(runtime_dir=runtime, mitmdump=mitmdump, warm_cache_hours=0, pool_size=0)
    barrier = threading.Barrier(siblings)
    archive: Path | None = None
    began = time.monotonic()
    if way == "one tar":
        archive = work / f"shared-{first_owner}.tar"
        with archive.open("xb") as out:
            pack_workspace(tree, out)
    sandboxes = [
        bench_sandbox(first_owner + n, image=image, tree=tree, config=config, client=client,
                      workspace_archive=archive)
        for n in range(siblings)
    ]

    def start(sandbox: DockerSandbox) -> float:
        barrier.wait(timeout=60)
        started = time.monotonic()
        sandbox.start()
        return time.monotonic() - started

    try:
        with ThreadPoolExecutor(siblings) as pool:
            each = list(pool.map(start, sandboxes))
        return time.monotonic() - began, each
    finally:
        for sandbox in sandboxes:
            sandbox.stop()
        if archive is not None:
            archive.unlink(missing_ok=True)
        shutil.rmtree(runtime, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path)
    parser.add_argument("--files", type=int, default=7000)
    parser.add_argument("--siblings", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--image", default="codexweb-sandbox-slim:latest")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-siblings-"))
    tree = args.source
    if tree is None:
        tree = work / "tree"
        made_tree(tree, args.files)
    files = sum(len(names) for _, _, names in os.walk(tree))
    print(f"{args.siblings} siblings of {tree} ({files} files); load {load_average()}")
    totals: dict[str, list[float]] = {way: [] for way in WAYS}
    singles: dict[str, list[float]] = {way: [] for way in WAYS}
    owner = 700_000 + uuid.uuid4().int % 10_000 * 100
    try:
        for n in range(args.rounds):
            order = WAYS if n % 2 == 0 else WAYS[::-1]
            for way in order:
                subprocess.run(["sync"], check=False)
                time.sleep(3)
                total, each = siblings_start(way, tree=tree, work=work, image=args.image,
                                             siblings=args.siblings, first_owner=owner)
                owner += args.siblings
                totals[way].append(total)
                singles[way].extend(each)
                print(f"round {n + 1} {way}: all started in {total:.2f} s "
                      f"(each {', '.join(f'{s:.2f}' for s in each)}; load {load_average()})")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("\n| way | all started, median | worst | one start(), median |")
    print("| --- | --- | --- | --- |")
    for way in WAYS:
        print(f"| {way} | {statistics.median(totals[way]):.2f} s | {max(totals[way]):.2f} s "
              f"| {statistics.median(singles[way]):.2f} s |")
    print(f"load average after: {load_average()} ({os.cpu_count()} cores)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
