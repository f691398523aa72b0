"""A finished best-of-2 task whose attempts were re-verified (tasks/verification/), for the API,
page and CLI tests of the ranking and hunk pick; a slow check and the container lookups for the
worker-side verification tests."""

from __future__ import annotations

import subprocess

from tasks import services
from tasks.models import Status
from tasks.sandbox import removal
from tasks.sandbox.spec import LABEL_FOR, LABEL_SANDBOX
from tasks.verification import services as verification
from tasks.verification.models import Verification
from tests.support import factories
from tests.support.calc_repo import FIX_DIFF

TESTS = "pytest -q"
ADDS = FIX_DIFF
BREAKS = ADDS.replace("a + b", "a * b") + (
    "diff --git a/README b/README\nnew file mode 100644\n--- /dev/null\n+++ b/README\n"
    "@@ -0,0 +1 @@\n+calc\n"
)


def best_of_two(repo, author, *, first_passes: bool = True):
    """A finished best-of-2 task; attempt 2's patch fails the tests, attempt 1's passes (or the
    other way round)."""
    task = factories.make_task(repo, author, mode="code", attempts=2)
    first, second = task.attempts.order_by("index")
    for attempt, patch in ((first, ADDS), (second, BREAKS)):
        services.attempt_finish(attempt_id=attempt.pk, status=Status.SUCCEEDED, patch=patch)
    verification.verifications_start(task_id=task.pk)
    for attempt, ok in ((first, first_passes), (second, not first_passes)):
        row = Verification.objects.get(attempt=attempt)
        verification.verification_claim(verification_id=row.pk)
        verification.verification_finish(
            verification_id=row.pk,
            verdict="passed" if ok else "checks_failed",
            reason=f"The check passes: `{TESTS}`." if ok
            else f"`{TESTS}` failed with exit code 1.",
            results=[{"command": TESTS, "exit_code": 0 if ok else 1, "timed_out": False,
                      "output_tail": "1 passed\n" if ok else "E assert 6 == 5\n1 failed\n",
                      "duration": 0.5, "error": ""}],
        )
    return task, first, second


SLOW_TEST = (
    "import time\nimport unittest\n\nfrom calc import add\n\n\n"
    "class AddTest(unittest.TestCase):\n"
    "    def test_add(self):\n        time.sleep(60)\n        self.assertEqual(add(2, 3), 5)\n"
)


def slow_tests(repo) -> None:
    (repo / "test_calc.py").write_text(SLOW_TEST)
    git = ["git", "-c", "user.name=Fixture", "-c", "user.email=fixture@example.test"]
    subprocess.run([*git, "commit", "-q", "-am", "slow tests"], cwd=repo, check=True)


def verification_containers(client, verification_id: int) -> list[str]:  # noqa: ANN001
    """Its sandbox containers, once this process's queued removals are done
    (tasks/sandbox/removal.py)."""
    assert removal.drain(60), "this process's container removals took over 60 s"
    found = client.api.containers(
        all=True, filters={"label": [LABEL_SANDBOX, f"{LABEL_FOR}=verification:{verification_id}"]}
    )
    return [c["Id"] for c in found]


def running_its_check(verification: Verification) -> bool:
    row = Verification.objects.get(pk=verification.pk)
    return any(r.get("running") for r in row.results)
