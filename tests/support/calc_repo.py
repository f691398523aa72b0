"""The small repository the real-sandbox and worker tests share, and the engine to run it in.

calc.py's `add` subtracts, test_calc.py says so, AGENTS.md tells the agent how to run the tests;
FIX is the patch that makes them pass. Fixtures (registered through tests/support/agent_run.py):
`docker_engine` (skips, naming what is missing, without an engine or IMAGE) and `fixture_repo` (a
fresh git repository with that content). `summary_citing_the_green_run` is a scripted model reply
that cites the last test run's "OK" line.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support.model_server import CHUNK_ID, reply
from tests.support.sandbox_fixtures import IMAGE as SLIM_IMAGE

IMAGE = SLIM_IMAGE  # what these tests need (Python) is in the smaller image
CALC = "def add(a, b):\n    return a - b\n"
TEST = (
    "import unittest\n\nfrom calc import add\n\n\n"
    "class AddTest(unittest.TestCase):\n"
    "    def test_add(self):\n        self.assertEqual(add(2, 3), 5)\n\n\n"
    "if __name__ == '__main__':\n    unittest.main()\n"
)
AGENTS = "Run `python3 -m unittest -v` from the repository root before finishing.\n"
FIX = ("*** Begin Patch\n*** Update File: calc.py\n@@ def add(a, b):\n-    return a - b\n"
       "+    return a + b\n*** End Patch")
TESTS = "python3 -m unittest -v"
# FIX as the worker takes it back (`git diff`): what re-verification and Create PR apply.
FIX_DIFF = """diff --git a/calc.py b/calc.py
--- a/calc.py
+++ b/calc.py
@@ -1,2 +1,2 @@
 def add(a, b):
-    return a - b
+    return a + b
"""


@pytest.fixture(scope="module")
def docker_engine():
    from tasks.sandbox.engine import docker_client

    try:
        client = docker_client()
        client.images.get(IMAGE)
    except Exception as exc:  # no engine or no image: say what is missing
        pytest.skip(f"needs the Docker engine and {IMAGE} (make sandbox-image): {exc}")
    return client


@pytest.fixture
def fixture_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "calc.py").write_text(CALC)
    (repo / "test_calc.py").write_text(TEST)
    (repo / "AGENTS.md").write_text(AGENTS)
    git = ["git", "-c", "user.name=Fixture", "-c", "user.email=fixture@example.test"]
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True)
    subprocess.run(["git", "add", "."], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "initial"], cwd=repo, check=True)
    return repo


def output_of(tool_output: str) -> list[str]:
    """The command's output lines inside a shell result the model saw."""
    return tool_output.split(" lines):\n", 1)[1].splitlines()


def summary_citing_the_green_run(request):
    last = request.tool_outputs()[-1]
    chunk = CHUNK_ID.search(last).group(1)
    ok_line = output_of(last).index("OK") + 1
    return reply(
        "## Summary\n- `add` subtracted instead of adding; it now adds 【F:calc.py†L1-L2】.\n\n"
        f"## Testing\n- `{TESTS}`: the tests pass 【T:{chunk}†L{ok_line}】"
    )
