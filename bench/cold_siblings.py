"""Starts of one repository's setup at once with no warm image yet (a best-of-N task, or an Ask
beside it, on a repository's first run): each running the setup script and committing the image
(before) against the first setting up and the others starting from its image
(tasks/sandbox/warm_flight.py), alternating round by round.

    .venv/bin/python bench/cold_siblings.py [--starts 4] [--rounds 5] [--setup 'true']
                                            [--setup-network off|on] [--files 300]
                                            [--image codexweb-sandbox-universal:latest]

Every round keys its warm image by an installation of its own (so it starts cold) and removes
the images it made; before each way the machine gets `sync` and 3 s. "Before" is the same code
with every start leading (warm_flight.lead_or_follow patched in this process only). Prints, per
way, the median and worst time until every start() had returned, how many ran the setup script,
and the load average: the machine is shared.
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.machine import load_average  # noqa: E402
from bench.sibling_starts import bench_sandbox  # noqa: E402
from bench.workspace_archive import made_tree  # noqa: E402
from tasks.sandbox import warm_flight  # noqa: E402
from tasks.sandbox.base import NetworkPolicy  # noqa: E402
from tasks.sandbox.config import DockerConfig  # noqa: E402
from tasks.sandbox.docker import DockerSandbox  # noqa: E402
from tasks.sandbox.engine import docker_client  # noqa: E402

WAYS = ("each sets up", "one sets up")
_real_lead_or_follow = warm_flight.lead_or_follow


def always_lead(key: str) -> tuple[warm_flight.Lead | None, threading.Event | None]:
    return warm_flight.Lead(key), None


def cold_starts(
    way: str,
    *,
    tree: Path,
    work: Path,
    image: str,
    starts: int,
    setup: str,
    network: str,
    first_owner: int,
) -> tuple[float, int]:
    """Start `starts` sandboxes of one cold warm key at once; (seconds until all had started,
    how many ran the setup script). Sandboxes stopped and warm images removed before returning."""
    warm_flight.lead_or_follow = always_lead if way == WAYS[0] else _real_lead_or_follow  # type: ignore[assignment]
    client = docker_client()
    runtime = Path(tempfile.mkdtemp(prefix="bcold-", dir=work))
    mitmdump = str(ROOT / ".venv-proxy" / "bin" / "mitmdump")
    config = DockerConfig(runtime_dir=runtime, mitmdump=mitmdump, warm_cache_hours=1.0, pool_size=1)
    install = f"bench-cold-{uuid.uuid4().hex[:8]}"
    sandboxes = [
        bench_sandbox(
            first_owner + n,
            image=image,
            tree=tree,
            config=config,
            client=client,
            setup_script=setup,
            setup_network=NetworkPolicy(mode=network),  # type: ignore[arg-type]
            install_id=install,
            repository="1:git:bench/cold",
            commit="c" * 40,
        )
        for n in range(starts)
    ]
    barrier = threading.Barrier(starts)

    def start(sandbox: DockerSandbox) -> None:
        barrier.wait(timeout=60)
        sandbox.start()

    began = time.monotonic()
    try:
        with ThreadPoolExecutor(starts) as pool:
            list(pool.map(start, sandboxes))
        return time.monotonic() - began, sum(s.setup_result is not None for s in sandboxes)
    finally:
        made = {s.warm_image for s in sandboxes if s.warm_image}
        for sandbox in sandboxes:
            if sandbox.pool_refill is not None:
                sandbox.pool_refill.join(timeout=60)
            sandbox.stop()
        for info in client.api.containers(all=True, filters={"label": "org.codexweb.pool"}):
            if any(info.get("Image") == tag for tag in made):
                client.api.remove_container(info["Id"], force=True, v=True)
        for tag in made:
            client.images.remove(tag, force=True)
        shutil.rmtree(runtime, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--setup", default="true")
    parser.add_argument("--files", type=int, default=300)
    parser.add_argument("--setup-network", choices=("off", "on"), default="off")
    parser.add_argument("--image", default="codexweb-sandbox-universal:latest")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-cold-"))
    tree = work / "tree"
    made_tree(tree, args.files)
    print(f"{args.starts} cold starts at once of {args.image}, setup {args.setup!r} with the "
          f"internet {args.setup_network}, {args.files} files; load {load_average()}")
    totals: dict[str, list[float]] = {way: [] for way in WAYS}
    owner = 710_000 + uuid.uuid4().int % 10_000 * 100
    try:
        for n in range(args.rounds):
            for way in WAYS if n % 2 == 0 else WAYS[::-1]:
                subprocess.run(["sync"], check=False)
                time.sleep(3)
                total, ran = cold_starts(way, tree=tree, work=work, image=args.image,
                                         starts=args.starts, setup=args.setup,
                                         network=args.setup_network, first_owner=owner)
                owner += args.starts
                totals[way].append(total)
                print(f"round {n + 1} {way}: all started in {total:.2f} s, setup ran {ran}× "
                      f"(load {load_average()})")
    finally:
        warm_flight.lead_or_follow = _real_lead_or_follow
        shutil.rmtree(work, ignore_errors=True)
    print("\n| way | all started, median | worst |")
    print("| --- | --- | --- |")
    for way in WAYS:
        print(f"| {way} | {statistics.median(totals[way]):.2f} s | {max(totals[way]):.2f} s |")
    print(f"load average after: {load_average()} ({os.cpu_count()} cores)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
