"""apply_patch benchmark: the ways of applying one patch, alternating in one container.

    .venv/bin/python bench/apply_patch.py [--rounds 15] [--image codexweb-sandbox-slim:latest]

Starts one Docker sandbox on a small repository and applies a one-line patch (and its
reverse, so every round changes the file), alternating the ways round by round so all see the
same machine load:
- "one exec": the agent's Toolbox as it runs (tasks/agent/patch_exec.py's program, its code
  object precompiled here: program_launch.py);
- "one exec, compiled in the container": the same command as if the container's Python took
  other bytecode, so the program's text is compiled there (the way before precompiling);
- "steps": the path it falls back to (inspect, read, write: one exec each);
- "exec of `true`": the floor, one exec round trip with no program.
Prints the median and p90 of each, the execs each made, and the load average.
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

FORWARD = ("*** Begin Patch\n*** Update File: calc.py\n@@ def add(a, b):\n-    return a - b\n"
           "+    return a + b\n*** End Patch")
BACKWARD = FORWARD.replace("-    return a - b\n+    return a + b",
                           "-    return a + b\n+    return a - b")


class Counting:
    """The sandbox, counting its execs (each one a round trip to the engine)."""

    def __init__(self, sandbox: object) -> None:
        self.sandbox = sandbox
        self.execs = 0

    def __getattr__(self, name: str) -> object:
        if name in ("exec", "read_file", "write_file"):
            self.execs += 1
        return getattr(self.sandbox, name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--image", default="codexweb-sandbox-slim:latest")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "codexweb.settings")
    from tasks.agent import patch_exec, program_launch
    from tasks.agent.config import AgentConfig, ModelConfig
    from tasks.agent.instructions import WORKSPACE, AgentsFiles
    from tasks.agent.patch import parse_patch
    from tasks.agent.tools import Toolbox
    from tasks.sandbox.base import SandboxOwner, SandboxSpec
    from tasks.sandbox.config import DockerConfig
    from tasks.sandbox.docker import DockerSandbox

    with tempfile.TemporaryDirectory(prefix="bench-patch-") as tmp:
        repo = Path(tmp) / "repo"
        repo.mkdir()
        (repo / "calc.py").write_text("def add(a, b):\n    return a - b\n")
        subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True)
        sandbox = DockerSandbox(
            SandboxSpec(owner=SandboxOwner.attempt(990_100), image=args.image, workspace=repo,
                        wall_seconds=600),
            config=DockerConfig(runtime_dir=Path(tmp) / "runtime", mitmdump="",
                                warm_cache_hours=0),
        )
        sandbox.start()
        try:
            counting = Counting(sandbox)
            config = AgentConfig(model=ModelConfig(base_url="", api_key="", model="none"))
            box = Toolbox(sandbox=counting, config=config, mode="code",  # type: ignore[arg-type]
                          attempt_id=1, emit=lambda kind, payload: None,
                          agents=AgentsFiles(paths=[]), remaining_seconds=lambda: 600.0)
            compiled_there = program_launch.launch(patch_exec.MARKER, patch_exec.program(),
                                                   magic=b"\x00\x00\r\n")

            def in_container(text: str) -> list[tuple[str, bool]]:
                line = patch_exec.command(text, WORKSPACE)
                assert line is not None
                line = line.replace(program_launch.launch(patch_exec.MARKER,
                                                          patch_exec.program()), compiled_there)
                done = counting.exec(line, cwd=WORKSPACE, timeout=60)
                return list(patch_exec.outcome(done.exit_code, done.output, done.error).changes)

            def floor(text: str) -> list[tuple[str, bool]]:
                counting.exec("true", cwd=WORKSPACE, timeout=60)
                return [("calc.py", False)]

            ways = {
                "one exec": box._apply_in_one_exec,
                "one exec, compiled in the container": in_container,
                "steps": lambda text: box._apply_in_steps(parse_patch(text)),
                "exec of `true`": floor,
            }
            times: dict[str, list[float]] = {way: [] for way in ways}
            execs: dict[str, int] = {}
            text = FORWARD
            for _ in range(args.rounds):
                for way, apply in ways.items():
                    counting.execs = 0
                    started = time.perf_counter()
                    changed = apply(text)
                    times[way].append(time.perf_counter() - started)
                    execs[way] = counting.execs
                    assert changed == [("calc.py", False)], (way, changed)
                    if way != "exec of `true`":
                        text = BACKWARD if text == FORWARD else FORWARD
        finally:
            sandbox.stop()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"| apply_patch of a one-line change | median | p90 | execs | (load {load}, "
          f"{os.cpu_count()} cores) |")
    print("| --- | --- | --- | --- |")
    for way, values in times.items():
        ordered = sorted(values)
        print(f"| {way} | {statistics.median(values):.3f} s | "
              f"{ordered[int(0.9 * (len(ordered) - 1))]:.3f} s | {execs[way]} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
