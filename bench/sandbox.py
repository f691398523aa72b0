"""Sandbox benchmark: container start (no setup, warm), the Docker API calls a start makes, and
the in-sandbox/host ratio of a workload; optionally the cold image builds.

    .venv/bin/python bench/sandbox.py                  # slim image, workspace on a volume vs not
    .venv/bin/python bench/sandbox.py --runs 7 --images codexweb-sandbox-universal:latest
    .venv/bin/python bench/sandbox.py --build          # also the image builds (many minutes)

Every figure is printed with the load average (1 min) at the time: on a shared machine absolute
figures are noisy, so compare the two workspace layouts, which run alternately in the same
minutes (`--layouts volume,layer`).

The workload is the same Python script on the host and in the sandbox: CPU-bound pure Python,
then 2,000 small files written, read and deleted in the working folder (a folder next to the
sandbox runtime folder on the host, /workspace in the sandbox, where a repository's tests write)
and the same in /tmp. The ratio compares medians of interleaved runs, every other round in
reverse order (on a host like this one, a run that follows another's 2,000 deletions pays for
them); with the workspace on a volume the host also runs in that volume's own folder, the same
place on the same disk. Targets (issue 18): total <= 1.10x, container start without setup
<= 0.5 s, warm start <= 0.5 s.
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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import docker  # noqa: E402

from tasks.sandbox.base import SandboxOwner, SandboxSpec  # noqa: E402
from tasks.sandbox.config import DockerConfig  # noqa: E402
from tasks.sandbox.docker import DockerSandbox  # noqa: E402
from tasks.sandbox.engine import docker_client  # noqa: E402
from tasks.sandbox.images import WARM_REPOSITORY  # noqa: E402

# argv[1]: folder for the small files ("" = the current folder). Prints cpu, files, tmp seconds.
WORKLOAD = r"""
import hashlib, os, sys, tempfile, time

def files(base):
    t = time.perf_counter()
    with tempfile.TemporaryDirectory(dir=base) as d:
        for i in range(2000):
            p = os.path.join(d, f"f{i}.txt")
            with open(p, "w") as f:
                f.write(str(i) * 50)
            with open(p) as f:
                hashlib.sha256(f.read().encode()).hexdigest()
    return time.perf_counter() - t

t = time.perf_counter()
total = 0
for i in range(4_000_000):
    total += (i * i) % 7
cpu = time.perf_counter() - t
print(f"{cpu:.4f} {files(sys.argv[1] or os.getcwd()):.4f} {files(tempfile.gettempdir()):.4f}")
"""

BENCH_SLIM = "codexweb-sandbox-slim:bench"
BENCH_UNIVERSAL = "codexweb-sandbox-universal:bench"
LAYOUTS = {"volume": True, "layer": False}  # the workspace on its own volume, or in the layer


def load() -> str:
    return f"load {os.getloadavg()[0]:.1f}"


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


def builds(client: docker.DockerClient) -> None:
    cache = Path(tempfile.mkdtemp(prefix="cxbench-cache-"))
    try:
        cold = build(cache)
        print(f"image build, empty cache (slim + universal): {cold:.0f} s ({load()})", flush=True)
        cached = build(cache)
        print(f"image build, cache filled (slim + universal): {cached:.0f} s ({load()})")
        for name in (BENCH_SLIM, BENCH_UNIVERSAL):
            print(f"{name} size: {client.images.get(name).attrs['Size'] / 1e6:.0f} MB")
    finally:
        shutil.rmtree(cache, ignore_errors=True)
        for name in (BENCH_UNIVERSAL, BENCH_SLIM):
            subprocess.run(["docker", "rmi", name], capture_output=True, check=False)


@contextmanager
def api_calls(client: docker.DockerClient) -> Iterator[list[tuple[str, float]]]:
    """Record every Docker API request the client makes (method, path, seconds) meanwhile."""
    calls: list[tuple[str, float]] = []
    api = client.api
    original = api.request

    def timed(method: str, url: str, *args: object, **kwargs: object) -> object:
        started = time.monotonic()
        try:
            return original(method, url, *args, **kwargs)  # type: ignore[arg-type]
        finally:
            path = url.split("/v1.", 1)[-1].split("/", 1)[-1].split("?")[0]
            calls.append((f"{method} /{path}", time.monotonic() - started))

    api.request = timed  # type: ignore[method-assign]
    try:
        yield calls
    finally:
        api.request = original  # type: ignore[method-assign]


def shorten(call: str) -> str:
    """`POST /containers/<64 hex>/start` -> `POST /containers/…/start`."""
    return "/".join("…" if len(part) >= 32 else part for part in call.split("/"))


class Bench:
    def __init__(self, image: str, client: docker.DockerClient, config: DockerConfig) -> None:
        self.image = image
        self.client = client
        self.config = config
        self.workspace = Path(tempfile.mkdtemp(prefix="cxbench-ws-"))
        (self.workspace / "README.md").write_text("bench\n")
        self.attempts = iter(range(1, 10_000))
        self.setup = f"python3 -m venv ~/venv && echo prepared-{time.time_ns()} > ~/marker"

    def spec(self, **fields: object) -> SandboxSpec:
        return SandboxSpec(
            owner=SandboxOwner.attempt(next(self.attempts)),
            image=self.image,
            workspace=self.workspace,
            wall_seconds=600,
            install_id="cxbench",
            repository="1:bench:bench/sandbox",
            commit="0" * 40,
            **fields,  # type: ignore[arg-type]
        )

    def start(
        self, spec: SandboxSpec, config: DockerConfig, *, warm: bool = False
    ) -> tuple[float, DockerSandbox]:
        sandbox = DockerSandbox(spec, config=config, client=self.client)
        started = time.monotonic()
        report = sandbox.start()
        seconds = time.monotonic() - started
        if report.warm_hit != warm:
            sandbox.stop()
            raise RuntimeError(f"expected warm_hit={warm}, the start report says otherwise")
        return seconds, sandbox


def timed_starts(
    bench: Bench, configs: dict[str, DockerConfig], runs: int
) -> dict[str, dict[str, list[float]]]:
    """Median-able start times per layout, alternating layouts run by run."""
    figures: dict[str, dict[str, list[float]]] = {
        name: {"plain": [], "warm": []} for name in configs
    }
    for name, config in configs.items():  # one cold start per layout makes its warm image
        setup = f"{bench.setup} # {name}"
        cold, sandbox = bench.start(bench.spec(setup_script=setup), config)
        sandbox.stop()
        print(f"[{name}] cold start (setup runs, image saved): {cold:.2f} s ({load()})")
    for _ in range(runs):
        for name, config in configs.items():
            seconds, sandbox = bench.start(bench.spec(), config)
            sandbox.stop()
            figures[name]["plain"].append(seconds)
            setup = f"{bench.setup} # {name}"
            seconds, sandbox = bench.start(bench.spec(setup_script=setup), config, warm=True)
            sandbox.stop()
            figures[name]["warm"].append(seconds)
    return figures


def trace_start(bench: Bench, config: DockerConfig, label: str) -> None:
    """The Docker API calls of one start without setup, in order, with their durations."""
    with api_calls(bench.client) as calls:
        started = time.monotonic()
        sandbox = DockerSandbox(bench.spec(), config=config, client=bench.client)
        sandbox.start()
        total = time.monotonic() - started
    sandbox.stop()
    print(f"[{label}] API calls of one start without setup ({total:.2f} s, {load()}):")
    for call, seconds in calls:
        print(f"    {seconds * 1000:7.1f} ms  {shorten(call)}")
    print(f"    {sum(s for _, s in calls) * 1000:7.1f} ms  in {len(calls)} calls", flush=True)


def run_on_host(python: str, folder: Path) -> tuple[float, ...]:
    """The workload's figures (cpu, files, tmp seconds) run on the host, files in `folder`."""
    done = subprocess.run(
        [python, "-c", WORKLOAD, str(folder)], capture_output=True, text=True, check=True
    )
    return tuple(float(x) for x in done.stdout.split())


def volume_folder(bench: Bench, sandbox: DockerSandbox) -> Path | None:
    """The host folder of the sandbox's /workspace volume; None when /workspace is no volume.

    On a host whose file system makes creating files slow after many deletions (ext4 without a
    journal scans recently freed inodes, bench/README.md "Session 21"), two folders in different
    places of the disk differ by more than the sandbox costs: the host's run in this very folder
    is the fair comparison of the sandbox's own overhead. Creating files there also costs more
    right after the other's run deleted 2,000 of them, hence the order reversed every other
    round."""
    info = bench.client.api.inspect_container(sandbox.container_id)
    for mount in info.get("Mounts") or []:
        if mount.get("Destination") == "/workspace" and mount.get("Type") == "volume":
            return Path(mount["Source"])
    return None


def workload_ratios(
    bench: Bench, configs: dict[str, DockerConfig], runs: int, host_dir: Path
) -> None:
    # Debian's own python3 on the host when there is one: the same interpreter build as in the
    # image, so the ratio measures the sandbox and not two differently compiled Pythons.
    host_python = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable
    sandboxes = {name: bench.start(bench.spec(), config)[1] for name, config in configs.items()}
    try:
        host: list[tuple[float, ...]] = []
        box: dict[str, list[tuple[float, ...]]] = {name: [] for name in configs}
        for sandbox in sandboxes.values():
            sandbox.write_file("workload.py", WORKLOAD)
        shared = {name: volume_folder(bench, sandbox) for name, sandbox in sandboxes.items()}
        shared = {name: folder for name, folder in shared.items() if folder is not None}
        host_there: dict[str, list[tuple[float, ...]]] = {name: [] for name in shared}

        def in_sandbox(name: str) -> Callable[[], None]:
            def run() -> None:
                result = sandboxes[name].exec("python3 workload.py ''", timeout=600)
                if result.exit_code != 0:
                    raise RuntimeError(f"workload failed in the sandbox: {result.output}")
                box[name].append(tuple(float(x) for x in result.output.split()))

            return run

        def on_host(folder: Path, into: list[tuple[float, ...]]) -> Callable[[], None]:
            return lambda: into.append(run_on_host(host_python, folder))

        steps = [on_host(host_dir, host)]
        steps += [on_host(folder, host_there[name]) for name, folder in shared.items()]
        steps += [in_sandbox(name) for name in sandboxes]
        loads = []
        for round_ in range(runs):
            # Interleaved, so load from elsewhere hits all alike; every other round backwards,
            # because a run pays for the files the run just before it deleted (above).
            loads.append(os.getloadavg()[0])
            for step in steps if round_ % 2 == 0 else steps[::-1]:
                step()
        print(
            f"workload, median of {runs} interleaved runs (load {min(loads):.1f}-{max(loads):.1f};"
            f" host interpreter {host_python}):"
        )
        parts: tuple[tuple[str, Callable[[tuple[float, ...]], float]], ...] = (
            ("CPU (pure Python)", lambda r: r[0]),
            ("2,000 small files in the working folder", lambda r: r[1]),
            ("2,000 small files in /tmp", lambda r: r[2]),
            ("total (CPU + working folder)", lambda r: r[0] + r[1]),
        )
        for label, pick in parts:
            on_host = statistics.median(pick(r) for r in host)
            shown = ", ".join(
                f"{name} {statistics.median(pick(r) for r in runs_) / on_host:.2f}x"
                for name, runs_ in box.items()
            )
            print(f"    {label}: host {on_host:.3f} s; sandbox/host: {shown}")
        print("    (target: total <= 1.10x)", flush=True)
        for name in shared:
            print(
                f"    [{name}] the host's run in the very folder the sandbox's /workspace is "
                "(same disk place, so the same allocator state):"
            )
            for label, pick in parts[1:2] + parts[3:]:
                on_host = statistics.median(pick(r) for r in host_there[name])
                inside = statistics.median(pick(r) for r in box[name])
                print(
                    f"        {label}: host {on_host:.3f} s; sandbox/host {inside / on_host:.2f}x"
                )
        sys.stdout.flush()
    finally:
        for sandbox in sandboxes.values():
            sandbox.stop()


def measure(image: str, runs: int, configs: dict[str, DockerConfig], client) -> None:  # noqa: ANN001
    bench = Bench(image, client, next(iter(configs.values())))
    host_dir = Path(tempfile.mkdtemp(prefix="cxbench-host-", dir=bench.config.runtime_dir))
    print(f"-- {image}", flush=True)
    try:
        # The first start of a process also probes the engine once (disk quotas): not counted.
        _, sandbox = bench.start(bench.spec(), next(iter(configs.values())))
        sandbox.stop()
        for name, config in configs.items():
            trace_start(bench, config, name)
        figures = timed_starts(bench, configs, runs)
        for name, times in figures.items():
            print(
                f"[{name}] container start, no setup script: median "
                f"{statistics.median(times['plain']):.2f} s, warm start (prepared image reused):"
                f" median {statistics.median(times['warm']):.2f} s over {runs} each"
                f" ({load()}; goal <= 0.5 s)",
                flush=True,
            )
        workload_ratios(bench, configs, runs, host_dir)
    finally:
        shutil.rmtree(bench.workspace, ignore_errors=True)
        shutil.rmtree(host_dir, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", action="store_true", help="also time the image builds")
    parser.add_argument("--no-build", action="store_true", help=argparse.SUPPRESS)  # the default
    parser.add_argument(
        "--images",
        default=os.environ.get("SANDBOX_SLIM_IMAGE", "codexweb-sandbox-slim:latest"),
        help="comma-separated images to start and run the workload in",
    )
    parser.add_argument(
        "--layouts",
        default="volume,layer",
        help="where the workspace lives, alternated: volume (its own volume), layer (the "
        "container's writable layer)",
    )
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    client = docker_client()
    if args.build:
        builds(client)
    runtime = Path(tempfile.mkdtemp(prefix="cxbench-"))
    base = DockerConfig(
        runtime_dir=runtime,
        mitmdump=str(ROOT / ".venv-proxy" / "bin" / "mitmdump"),
        warm_cache_hours=1,
    )
    configs = {
        name: replace(base, workspace_volume=LAYOUTS[name]) for name in args.layouts.split(",")
    }
    before = {image.id for image in client.images.list(name=WARM_REPOSITORY)}
    try:
        for image in args.images.split(","):
            measure(image, args.runs, configs, client)
    finally:
        # Only the warm images this run made: the engine may be shared.
        for image in client.images.list(name=WARM_REPOSITORY):
            if image.id not in before:
                try:
                    client.images.remove(image.id, force=True)
                except docker.errors.APIError:
                    continue
        shutil.rmtree(runtime, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
