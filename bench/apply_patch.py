"""apply_patch benchmark: one exec round trip against the step-by-step path, same container.

    .venv/bin/python bench/apply_patch.py [--rounds 15] [--image codexweb-sandbox-slim:latest]

Starts one Docker sandbox on a small repository and applies a one-line patch (and its
reverse, so every round changes the file) through the agent's Toolbox, alternating the two
paths round by round so both see the same machine load: the one-exec program
(tasks/agent/patch_exec.py) and the step path it falls back to (inspect, read, write: one exec
each). Prints the median and p90 of each, the execs each made, and the load average.
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
    from tasks.agent.config import AgentConfig, ModelConfig
    from tasks.agent.instructions import AgentsFiles
    from tasks.agent.patch import parse_patch
    from tasks.agent.tools import Toolbox
    from tasks.sandbox.base import SandboxSpec
    from tasks.sandbox.config import DockerConfig
    from tasks.sandbox.docker import DockerSandbox

    with tempfile.TemporaryDirectory(prefix="bench-patch-") as tmp:
        repo = Path(tmp) / "repo"
        repo.mkdir()
        (repo / "calc.py").write_text("def add(a, b):\n    return a - b\n")
        subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True)
        sandbox = DockerSandbox(
            SandboxSpec(attempt_id=990_100, image=args.image, workspace=repo, wall_seconds=600),
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
            times: dict[str, list[float]] = {"one exec": [], "steps": []}
            execs: dict[str, int] = {}
            for n in range(args.rounds * 2):
                text = FORWARD if n % 2 == 0 else BACKWARD
                way = "one exec" if (n // 2) % 2 == 0 else "steps"
                counting.execs = 0
                started = time.perf_counter()
                if way == "one exec":
                    changed = box._apply_in_one_exec(text)
                else:
                    changed = box._apply_in_steps(parse_patch(text))
                times[way].append(time.perf_counter() - started)
                execs[way] = counting.execs
                assert changed == [("calc.py", False)], changed
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
