"""Run one real Ask and one real Code task against the model at OPENAI_BASE_URL.

    OPENAI_BASE_URL=http://127.0.0.1:8001/v1 MODEL_FAST=qwen MODEL_FAST_API=chat \\
        .venv/bin/python bench/agent_smoke.py [-v]

Each task runs in a Docker sandbox (codexweb-sandbox-universal:latest, `make sandbox-image`) on a
small fixture repository with a failing test. Prints time, turns, tokens, cost and the result;
exits 1 if a task did not succeed, 0 without doing anything when OPENAI_BASE_URL is unset.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FILES = {
    "calc.py": "def add(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a * b\n",
    "test_calc.py": (
        "import unittest\n\nfrom calc import add, mul\n\n\n"
        "class CalcTest(unittest.TestCase):\n"
        "    def test_add(self):\n        self.assertEqual(add(2, 3), 5)\n\n"
        "    def test_mul(self):\n        self.assertEqual(mul(2, 3), 6)\n"
    ),
    "AGENTS.md": "Run `python3 -m unittest -v` from the repository root before finishing.\n",
}
TASKS = [
    (
        "ask",
        "fast",
        "Why does the test suite fail? Answer briefly, citing the code and a test run.",
    ),
    ("code", "strong", "Make the failing test pass without changing the tests."),
]


def make_repo(root: Path) -> Path:
    repo = root / "repo"
    repo.mkdir()
    for name, text in FILES.items():
        (repo / name).write_text(text)
    git = ["git", "-c", "user.name=Bench", "-c", "user.email=bench@example.test"]
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True)
    subprocess.run(["git", "add", "."], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "fixture"], cwd=repo, check=True)
    return repo


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="print every event")
    parser.add_argument(
        "--image", default=os.environ.get("SANDBOX_IMAGE", "codexweb-sandbox-universal:latest")
    )
    args = parser.parse_args()
    if not os.environ.get("OPENAI_BASE_URL"):
        print("OPENAI_BASE_URL is not set; nothing to do.")
        return 0
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "codexweb.settings")
    import django

    django.setup()
    from tasks.agent.collect import collect_patch, head_commit
    from tasks.agent.config import AgentSpec
    from tasks.agent.loop import run_agent
    from tasks.agent.model import ModelClient
    from tasks.sandbox.base import SandboxOwner, SandboxSpec
    from tasks.sandbox.config import DockerConfig
    from tasks.sandbox.docker import DockerSandbox
    from tasks.worker.agent import agent_config

    failures = 0
    with tempfile.TemporaryDirectory(prefix="agent-smoke-") as tmp:
        repo = make_repo(Path(tmp))
        for number, (mode, tier, prompt) in enumerate(TASKS, start=1):
            config = agent_config(tier)
            print(f"== {mode} task on {config.model.model} ({config.model.api} API)")
            sandbox = DockerSandbox(
                SandboxSpec(
                    owner=SandboxOwner.attempt(990_000 + number),
                    image=args.image,
                    workspace=repo,
                    read_only=mode == "ask",
                    wall_seconds=1800,
                ),
                config=DockerConfig(
                    runtime_dir=Path(tmp) / "runtime", mitmdump="", warm_cache_hours=0
                ),
            )
            started = time.monotonic()
            sandbox.start()
            try:
                base = head_commit(sandbox)
                spec = AgentSpec(
                    attempt_id=number,
                    mode=mode,
                    prompt=prompt,
                    config=config,  # type: ignore[arg-type]
                    repository="bench/calc",
                    base_commit=base,
                )

                def on_event(kind: str, payload: dict[str, Any]) -> None:
                    if args.verbose and kind != "output":
                        print(f"   {kind}: {str(payload)[:300]}")
                    elif kind == "command_end":
                        print(
                            f"   command exited {payload['exit_code']} ({payload['duration']:.1f}s)"
                        )

                result = run_agent(spec, sandbox, ModelClient(config.model), on_event)
                patch = collect_patch(sandbox, base) if result.committed else ""
            finally:
                sandbox.stop()
            elapsed = time.monotonic() - started
            valid = sum(c.valid for c in result.citations)
            print(f"   result: {result.outcome} ({result.stop_reason}) {result.error}")
            print(
                f"   time {elapsed:.1f}s, turns {len(result.steps)}, tokens "
                f"{result.usage.input_tokens} in / {result.usage.output_tokens} out, "
                f"cost ${result.cost:.4f}"
            )
            print(f"   citations {valid}/{len(result.citations)} valid; flags: {result.flags}")
            if patch:
                print("   patch:\n" + "\n".join("     " + line for line in patch.splitlines()))
            print(
                "   final message:\n"
                + "\n".join("     " + line for line in result.final_message.splitlines())
            )
            failures += result.outcome != "succeeded"
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
