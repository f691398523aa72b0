"""What the stack benches share (bench/attempt.py, bench/load.py, bench/faults.py): the real
embedded stack (`codexweb serve`) against the scripted model server with the Docker sandbox,
the people and repositories made inside it, the small Python project the scripted tasks fix,
and reading an attempt back through the REST API."""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from tests.support.model_server import ScriptedModelServer  # noqa: E402
from tests.support.processes import EmbeddedStack, stack_environment  # noqa: E402
from tests.support.services import free_port  # noqa: E402

OPS = "def add(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a * b\n"
PROJECT = {
    "calc/__init__.py": "from calc.ops import add, mul\n\n__all__ = ['add', 'mul']\n",
    "calc/ops.py": OPS,
    "tests/test_ops.py": (
        "from calc import add, mul\n\n\ndef test_add():\n    assert add(2, 3) == 5\n\n\n"
        "def test_mul():\n    assert mul(2, 3) == 6\n"
    ),
    "pyproject.toml": '[project]\nname = "calc"\nversion = "0.1"\n',
    "README.md": "# calc\n\nRun `python3 -m pytest -q`.\n",
}
TEST = "python3 -m pytest -q -p no:cacheprovider"
FIX = (
    "*** Begin Patch\n*** Update File: calc/ops.py\n@@ def add(a, b):\n-    return a - b\n"
    "+    return a + b\n*** End Patch"
)


def make_project(folder: Path) -> Path:
    """The project as a local git repository with one commit on main."""
    folder.mkdir(parents=True)
    for name, text in PROJECT.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    git = ["git", "-c", "user.name=Bench", "-c", "user.email=bench@example.test"]
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=folder, check=True)
    subprocess.run(["git", "add", "."], cwd=folder, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "calc"], cwd=folder, check=True)
    return folder


@dataclass
class BenchStack:
    """A started embedded stack: its environment, processes and web address."""

    work: Path  # a temporary folder: var/, the repositories (GIT_LOCAL_ROOTS)
    env: dict[str, str]
    stack: EmbeddedStack

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.stack.web_port}"

    def django(self, script: str, *args: str) -> dict[str, Any]:
        """Run `script` (it calls django.setup() and prints JSON last) in the stack's
        environment, e.g. to make people, teams and repositories; its JSON."""
        done = subprocess.run(
            [sys.executable, "-c", script, *args], cwd=ROOT, capture_output=True, text=True,
            check=False, env={**self.env, "DJANGO_SETTINGS_MODULE": "codexweb.settings"},
        )
        if done.returncode != 0:
            raise SystemExit(f"setting up the bench failed:\n{done.stderr[-3000:]}")
        return dict(json.loads(done.stdout.strip().splitlines()[-1]))


@contextlib.contextmanager
def bench_stack(
    model: ScriptedModelServer, *, prefix: str, wait: float = 120, **settings: str
) -> Iterator[BenchStack]:
    """Start `codexweb serve` (SQLite in a temporary var/ unless DATABASE_URL is given, its
    own redis, daphne and worker) with the Docker sandbox and `model`; repositories may be
    registered by path from the temporary folder (GIT_LOCAL_ROOTS). Stopped and removed after;
    the stack's output is printed when the block fails."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    env = stack_environment(
        work / "var", free_port(),
        **{
            "SANDBOX_BACKEND": "docker", "OPENAI_BASE_URL": model.url,
            "OPENAI_API_KEY": "sk-bench", "MODEL_STRONG_API": "chat", "MODEL_FAST_API": "chat",
            "MODEL_STRONG_REASONING_EFFORT": "", "LOG_LEVEL": "WARNING",
            "GIT_LOCAL_ROOTS": str(work),
            # The bench's own API reads (submits, polls, every event after) are not the load
            # measured: at 20 attempts they passed the per-token limit (429) and ended a round.
            "API_RATE_LIMIT_PER_MINUTE": "100000", **settings,
        },
    )
    env.pop("SECRET_KEY", None)  # the embedded default: keys generated in var/
    stack = EmbeddedStack(env, free_port())
    try:
        stack.wait_started(timeout=wait)
        yield BenchStack(work, env, stack)
    except BaseException:
        print(f"--- the stack's output ---\n{stack.tail(80)}", file=sys.stderr)
        raise
    finally:
        stack.stop()
        shutil.rmtree(work, ignore_errors=True)


def attempt_events(base: str, headers: dict[str, str], attempt_id: int) -> list[dict[str, Any]]:
    """Every event of a finished attempt, page by page (`after`, as the CLI follows them)."""
    events: list[dict[str, Any]] = []
    for _ in range(1000):
        page = requests.get(f"{base}/api/v1/attempts/{attempt_id}/events", headers=headers,
                            params={"after": events[-1]["seq"] if events else 0}, timeout=30)
        page.raise_for_status()
        body = page.json()
        events += body["events"]
        if body["finished"]:
            break
    return events


def parse_time(text: str | None) -> float:
    """An API timestamp as seconds since the epoch."""
    assert text, "a timestamp the attempt should have is missing"
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


