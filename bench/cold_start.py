"""Cold-start benchmark: `DockerSandbox.start()` with no prepared image (issue 18's cold column),
step by step.

    .venv/bin/python bench/cold_start.py [--code DIR] [--against DIR] [--runs 5]
                                         [--cache-hours 0] [--setup-network on] [--steps]

Each start is a fresh sandbox for the calc project of bench/stack.py with setup `true` and the
setup phase's internet `on` (the default an environment gets), on the universal image (the
default choice). `--cache-hours 0` (the default) is bench/attempt.py's cold column: nothing is
committed; with hours > 0 every start has its own installation id, so it is cold and ends with
the commit of its warm image (a repository's first attempt).

`--code DIR` imports the sandbox from another checkout of codexweb (e.g. an export of the
commit before a change); `--against DIR` runs this script once per round for each of `--code`
and DIR, alternating, so both versions meet the same load; medians are printed for each.
Each process first makes one untimed start (a worker's first cold start, which finds no setup
proxy started ahead: egress/spare.py); the timed ones adopt the one the previous start's setup
left starting (the bench waits for it between starts, as an attempt's agent phase would).
`--no-spare` turns that off.
`--steps`: the seconds spent in each step of the start (wrapped functions, summed per start,
median over the runs): where the time goes. Figures only, with the load average (the machine
is shared).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--code", type=Path, default=ROOT, help="the codexweb checkout to time")
    parser.add_argument("--against", type=Path, help="another checkout, alternated with --code")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cache-hours", type=float, default=0.0)
    parser.add_argument("--setup-network", default="on", choices=["on", "off"])
    parser.add_argument("--steps", action="store_true", help="time each step of the start")
    parser.add_argument("--no-spare", action="store_true",
                        help="no setup proxy started ahead (SANDBOX_SPARE_PROXY=false)")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)  # one round
    parser.add_argument("--image", default=os.environ.get(
        "SANDBOX_IMAGE", "codexweb-sandbox-universal:latest"))
    return parser.parse_args()


# The steps `--steps` times: (module, attribute path) in the checkout being timed. Missing ones
# (an older checkout) are skipped.
STEPS = [
    ("tasks.sandbox.docker", "choose_image"),
    ("tasks.sandbox.docker", "create_container"),
    ("tasks.sandbox.docker", "DockerSandbox._setup_phase"),
    ("tasks.sandbox.docker", "DockerSandbox._exec"),
    ("tasks.sandbox.docker", "DockerSandbox._end_user_processes"),
    ("tasks.sandbox.docker", "DockerSandbox._set_network"),
    ("tasks.sandbox.container", "ContainerShell.replace_workspace"),
    ("tasks.sandbox.container", "ContainerShell.clear_ipc"),
    ("tasks.sandbox.container", "ContainerShell.start_bridge"),
    ("tasks.sandbox.container", "ContainerShell.stop_bridges"),
    ("tasks.sandbox.container", "ContainerShell.kill_user_processes"),
    ("tasks.sandbox.egress.proxy", "EgressProxy.start"),
    ("tasks.sandbox.egress.proxy", "EgressProxy.adopt"),
    ("tasks.sandbox.egress.spare", "take"),
    ("tasks.sandbox.egress.proxy", "EgressProxy.stop"),
    ("tasks.sandbox.images", "commit_warm_image"),
]


def wrap_steps(times: dict[str, float]) -> None:
    """Add each step's seconds to `times[step]` whenever it runs (any thread)."""
    import importlib

    for module_name, path in STEPS:
        try:
            owner: Any = importlib.import_module(module_name)
        except ImportError:  # an older checkout
            continue
        *parents, name = path.split(".")
        for parent in parents:
            owner = getattr(owner, parent, None)
        original = getattr(owner, name, None) if owner is not None else None
        if original is None:
            continue

        def timed(*args: Any, _f: Callable[..., Any] = original, _k: str = path,
                  **kwargs: Any) -> Any:
            started = time.monotonic()
            try:
                return _f(*args, **kwargs)
            finally:
                times[_k] = times.get(_k, 0.0) + time.monotonic() - started

        setattr(owner, name, functools.wraps(original)(timed))


def one_round(args: argparse.Namespace) -> dict[str, Any]:
    """`--runs` cold starts with this process's code; their seconds and steps."""
    sys.path.insert(0, str(args.code.resolve()))
    sys.path.insert(1, str(ROOT))
    from bench.stack import make_project
    from tasks.sandbox.base import NetworkPolicy, SandboxOwner, SandboxSpec
    from tasks.sandbox.config import DockerConfig
    from tasks.sandbox.docker import DockerSandbox
    from tasks.sandbox.engine import docker_client
    from tasks.sandbox.images import WARM_REPOSITORY

    steps: list[dict[str, float]] = []
    current: dict[str, float] = {}
    if args.steps:
        wrap_steps(current)
    client = docker_client()
    work = Path(tempfile.mkdtemp(prefix="cxbench-cold-"))
    mitmdump = str(ROOT / ".venv-proxy" / "bin" / "mitmdump")
    options: dict[str, Any] = {"warm_cache_hours": args.cache_hours}
    if "spare_proxy" in {f.name for f in dataclasses.fields(DockerConfig)}:
        options["spare_proxy"] = not args.no_spare  # as the worker runs it (settings default)
    config = DockerConfig(runtime_dir=work / "rt", mitmdump=mitmdump, **options)
    repo = make_project(work / "repo")
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, check=True,
                          capture_output=True, text=True).stdout.strip()
    install = f"bench-cold-{uuid.uuid4().hex[:8]}"
    starts: list[float] = []
    try:
        for n in range(-1, args.runs):  # -1: untimed, the worker process's first start
            spec = SandboxSpec(
                owner=SandboxOwner.attempt(970_001 + n), image=args.image, workspace=repo,
                wall_seconds=600, setup_script="true", install_id=f"{install}-{n}",
                repository="bench/calc", commit=head,
                setup_network=NetworkPolicy(mode=args.setup_network),
            )
            sandbox = DockerSandbox(spec, config=config, client=client)
            current.clear()
            started = time.monotonic()
            try:
                sandbox.start()
                if n >= 0:
                    starts.append(time.monotonic() - started)
                assert not sandbox.warm_hit, "a prepared image was reused"
            finally:
                sandbox.stop()
            if n >= 0:
                steps.append(dict(current))
            # An attempt's agent phase comes between two starts: the spare the setup phase left
            # starting is ready by then (attempts back to back without one: a worker's burst).
            with contextlib.suppress(ImportError):
                from tasks.sandbox.egress import spare

                spare.settle()
    finally:
        for image in client.images.list(name=WARM_REPOSITORY):
            if (image.labels or {}).get("org.codexweb.warm.install", "").startswith(install):
                client.images.remove(image.id, force=True)
        subprocess.run(["rm", "-rf", str(work)], check=False)
    return {"starts": starts, "steps": steps}


def report(label: str, starts: list[float], steps: list[dict[str, float]]) -> None:
    print(f"{label}: start() median {statistics.median(starts):.2f} s, "
          f"min {min(starts):.2f} s, max {max(starts):.2f} s over {len(starts)}")
    names = sorted({k for s in steps for k in s}, key=lambda k: [p for _, p in STEPS].index(k))
    for name in names:
        values = [s.get(name, 0.0) for s in steps]
        print(f"    {name:36s} {statistics.median(values):6.2f} s")


def main() -> int:
    args = arguments()
    if args.json:
        print(json.dumps(one_round(args)))
        return 0
    sys.path.append(str(ROOT))  # after --code's checkout, which one_round() puts first
    from bench.machine import load_average

    versions = [args.code] + ([args.against] if args.against else [])
    results: dict[Path, dict[str, list[Any]]] = {v: {"starts": [], "steps": []} for v in versions}
    print(f"load average before: {load_average()}; image {args.image}; setup `true`, "
          f"setup internet {args.setup_network}, cache hours {args.cache_hours}", flush=True)
    rounds = args.runs if args.against else 1
    per_round = 1 if args.against else args.runs
    for n in range(rounds):
        for version in versions:
            command = [sys.executable, __file__, "--json", "--code", str(version),
                       "--runs", str(per_round), "--cache-hours", str(args.cache_hours),
                       "--setup-network", args.setup_network, "--image", args.image]
            command += ["--steps"] * args.steps + ["--no-spare"] * args.no_spare
            out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            found = json.loads(out.strip().splitlines()[-1])
            results[version]["starts"] += found["starts"]
            results[version]["steps"] += found["steps"]
            print(f"round {n + 1} {version}: "
                  + ", ".join(f"{s:.2f} s" for s in found["starts"])
                  + f" (load {load_average()})", flush=True)
    for version in versions:
        report(str(version), results[version]["starts"], results[version]["steps"])
    print(f"load average after: {load_average()} ({os.cpu_count()} cores)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
