"""Worker-step benchmark: the warm start, and what runs after the final reply (issue 18).

    .venv/bin/python bench/worker_steps.py [--code DIR] [--runs 7] [--files 300] [--finish]
                                           [--stop]

Warm start: a small project (the calc package of bench/stack.py plus `--files` small files, like
a real repository) is prepared once (setup `true`, image committed), then `--runs` sandboxes
start from that warm image one after another; prints the median and p90 of `start()`.
`--code DIR` imports the sandbox from another checkout of codexweb (e.g. an export of the
commit before a change), so two versions can be measured in the same minutes.

`--finish` (this checkout's code only): in one started sandbox, round by round alternately,
the steps after the final reply for a one-line change citing two files — the old way
(commit; inspect + read per cited file for the check; read each again to keep it; `git diff`)
and the new one (`commit_changes` with the patch in the same exec; `read_tree`: every cited
file inspected and read once, in one exec). Prints medians. Figures only; the load average is
printed with them (the machine is shared).

`--stop` (this checkout's code only): warm sandboxes of the tree, stopped alternately the old way
(`stop()`: the container and its workspace volume removed before it returns, the worker's slot
held) and the new (`stop(remove_later=True)`: killed, then removed by the remover thread);
prints how long the caller waited, and for the new way also until the removal was done.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--code", type=Path, default=ROOT, help="the codexweb checkout to time")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--files", type=int, default=300, help="extra small files in the tree")
    parser.add_argument("--finish", action="store_true", help="also time the finishing steps")
    parser.add_argument("--stop", action="store_true", help="also time stop(), old and new")
    parser.add_argument("--image", default=os.environ.get(
        "SANDBOX_SLIM_IMAGE", "codexweb-sandbox-slim:latest"))
    return parser.parse_args()


ARGS = arguments()
sys.path.insert(0, str(ARGS.code.resolve()))  # `tasks` from the checkout timed
sys.path.insert(1, str(ROOT))


def _this_checkouts(name: str):  # noqa: ANN202 - this checkout's bench/NAME.py, whatever --code is
    found = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    assert found is not None and found.loader is not None
    module = importlib.util.module_from_spec(found)
    sys.modules[f"bench_{name}"] = module  # its dataclasses look themselves up there
    found.loader.exec_module(module)
    return module


load_average = _this_checkouts("machine").load_average
make_project = _this_checkouts("stack").make_project

from tasks.sandbox.base import NetworkPolicy, SandboxOwner, SandboxSpec  # noqa: E402
from tasks.sandbox.config import DockerConfig  # noqa: E402
from tasks.sandbox.docker import DockerSandbox  # noqa: E402
from tasks.sandbox.engine import docker_client  # noqa: E402
from tasks.sandbox.images import WARM_REPOSITORY  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * (len(ordered) - 1) + 0.5))]


def project(folder: Path, files: int) -> tuple[Path, str]:
    repo = make_project(folder)
    for n in range(files):
        path = repo / "pkg" / f"mod{n // 50}" / f"file{n}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"VALUE = {n}\n" * 20)
    # No automatic gc: with thousands of new objects it runs in the background and changes
    # .git while the sandbox packs the tree ("file changed as we read it").
    git = ["git", "-c", "user.name=Bench", "-c", "user.email=bench@example.test",
           "-c", "gc.auto=0", "-c", "maintenance.auto=false"]
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "files"], cwd=repo, check=True)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, check=True,
                          capture_output=True, text=True).stdout.strip()
    return repo, head


def finishing_rounds(sandbox: DockerSandbox, base: str, runs: int) -> None:
    """Old and new finishing steps, alternating, in one sandbox."""
    from tasks.agent.collect import collect_patch, commit_changes
    from tasks.agent.tools import stat_paths
    from tasks.agent.tree_exec import read_tree

    cited = ["calc/ops.py", "tests/test_ops.py"]
    old: list[float] = []
    new: list[float] = []
    for n in range(runs * 2):
        sandbox.write_file("calc/ops.py", f"def add(a, b):\n    return a + b  # {n}\n")
        started = time.monotonic()
        if n % 2 == 0:
            sandbox.exec("git add -A && git -c user.name=b -c user.email=b@x commit -qm x "
                         "--no-verify && echo COMMITTED")
            for path in cited:  # the citation check, then cited_files_of
                if stat_paths(sandbox, [path]).get(path) == "F":
                    sandbox.read_file(path)
            for path in cited:
                sandbox.read_file(path, max_bytes=256_000)
            collect_patch(sandbox, base)
            old.append(time.monotonic() - started)
        else:
            done = commit_changes(sandbox, name="b", email="b@x", title="x", base_commit=base)
            assert done.committed and done.patch, done
            tree = read_tree(sandbox, cited)
            assert all(f.text is not None for f in tree.values()), tree
            new.append(time.monotonic() - started)
    print(f"after the final reply, old (commit, 3 execs per cited file, diff): median "
          f"{statistics.median(old):.2f} s, p90 {percentile(old, 0.9):.2f} s; 2 cited files")
    print(f"after the final reply, new (commit + diff, one read of the cited files): median "
          f"{statistics.median(new):.2f} s, p90 {percentile(new, 0.9):.2f} s "
          f"(load {load_average()})")


def stopping_rounds(start: Callable[[], DockerSandbox], runs: int) -> None:
    """stop() and stop(remove_later=True), alternating, each on a freshly started sandbox."""
    from tasks.sandbox import removal

    old: list[float] = []
    new: list[float] = []
    removed: list[float] = []
    for n in range(runs * 2):
        sandbox = start()
        started = time.monotonic()
        if n % 2 == 0:
            sandbox.stop()
            old.append(time.monotonic() - started)
        else:
            sandbox.stop(remove_later=True)
            new.append(time.monotonic() - started)
            assert removal.drain(120), "the removal took over 120 s"
            removed.append(time.monotonic() - started)
    print(f"stop(), removed before it returns: median {statistics.median(old):.2f} s, p90 "
          f"{percentile(old, 0.9):.2f} s")
    print(f"stop(remove_later=True): the caller waits median {statistics.median(new):.2f} s, "
          f"p90 {percentile(new, 0.9):.2f} s; removed after median "
          f"{statistics.median(removed):.2f} s (load {load_average()})")


def main() -> int:
    client = docker_client()
    work = Path(tempfile.mkdtemp(prefix="cxbench-steps-"))
    config = DockerConfig(runtime_dir=work / "runtime", mitmdump="", warm_cache_hours=1)
    install = f"bench-{uuid.uuid4().hex[:12]}"
    repo, head = project(work / "repo", ARGS.files)
    owner = iter(range(1, 10_000))

    def spec() -> SandboxSpec:
        return SandboxSpec(
            owner=SandboxOwner.attempt(900_000 + next(owner)), image=ARGS.image,
            workspace=repo, wall_seconds=600, setup_script="true", install_id=install,
            repository="bench/calc", commit=head, setup_network=NetworkPolicy(mode="off"),
        )

    print(f"code: {ARGS.code}; image {ARGS.image}; {ARGS.files + 5} files; "
          f"load average before: {load_average()}", flush=True)
    try:
        primer = DockerSandbox(spec(), config=config, client=client)
        primer.start()
        primer.stop()
        starts: list[float] = []
        for _ in range(ARGS.runs):
            sandbox = DockerSandbox(spec(), config=config, client=client)
            started = time.monotonic()
            sandbox.start()
            starts.append(time.monotonic() - started)
            assert sandbox.warm_hit, "the prepared image was not reused"
            if ARGS.finish and len(starts) == ARGS.runs:
                finishing_rounds(sandbox, head, ARGS.runs)
            sandbox.stop()
        print(f"warm start: median {statistics.median(starts):.2f} s, p90 "
              f"{percentile(starts, 0.9):.2f} s over {ARGS.runs} (load {load_average()})")
        if ARGS.stop:

            def warm_sandbox() -> DockerSandbox:
                sandbox = DockerSandbox(spec(), config=config, client=client)
                sandbox.start()
                return sandbox

            stopping_rounds(warm_sandbox, ARGS.runs)
    finally:
        for image in client.images.list(name=WARM_REPOSITORY):
            if (image.labels or {}).get("org.codexweb.warm.install") == install:
                client.images.remove(image.id, force=True)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
