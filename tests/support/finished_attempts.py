"""A finished Code attempt with a greeting change and the worker's verdict on its answer, for the
pull-request text tests (tests/github/test_pull_request_text.py and
tests/api/test_pull_request_draft.py)."""

from __future__ import annotations

from tasks.models import Attempt, Event, Status
from tests.support import factories
from tests.support.connected_github import serve
from tests.support.summaries import worker_summary

PATCH = """diff --git a/app.py b/app.py
--- a/app.py
+++ b/app.py
@@ -1,2 +1,2 @@
-print('v1')
+print('v2 from the agent')
 print('end')
"""
ANSWER = ("Title: Make the greeting say v2\n\n"
          "Summary: the greeting now says v2 【F:app.py†L1】. The tests pass.")
VERDICT = {"text": ANSWER, "citations": [
    {"raw": "【F:app.py†L1】", "kind": "F", "target": "app.py", "start": 1, "end": 1,
     "valid": True, "reason": ""},
    {"raw": "【F:gone.py†L4】", "kind": "F", "target": "gone.py", "start": 4, "end": 4,
     "valid": False, "reason": "gone.py does not exist in the final tree"}],
    "flags": ["Claims tests pass without citing a test run: “The tests pass”"]}


def greeting_webapp(gh, tmp_path):
    """The stand-in's acme/webapp with the greeting app.py, alice-gh a writer."""
    gh.state.add_user("alice-gh", name="Alice Liddell")
    gh.state.add_org("acme", members={"alice-gh": "write"})
    return serve(gh, tmp_path, "acme", "webapp", {"app.py": "print('v1')\nprint('end')\n"})


def finished(repository, author, *, patch=PATCH, answer=ANSWER, verdict=None):
    task = factories.make_task(repository, author, mode="code",
                               prompt="The test suite fails (AGENTS.md says how to run it). "
                                      "Find the cause, fix it, and make sure the tests pass.")
    attempt = task.attempts.get()
    attempt.status, attempt.patch, attempt.summary = Status.SUCCEEDED, patch, answer
    attempt.save()
    task.status = Status.SUCCEEDED
    task.save()
    if verdict is not None:
        Event.objects.create(attempt=attempt, seq=1, kind="summary", payload=verdict)
    return attempt


# The follow-up's patch holds the whole change against the base, as the worker takes it
# (tasks/worker/workspace.py): the parent's greeting plus a new ending and a test file.
FOLLOW_UP_PATCH = """diff --git a/app.py b/app.py
--- a/app.py
+++ b/app.py
@@ -1,2 +1,2 @@
-print('v1')
-print('end')
+print('v2 from the agent')
+print('the end')
diff --git a/test_app.py b/test_app.py
new file mode 100644
--- /dev/null
+++ b/test_app.py
@@ -0,0 +1 @@
+import app
"""
FOLLOW_UP_ANSWER = ("Title: Say the end politely\n\n"
                    "The ending now says “the end” 【F:app.py†L2】 and a test imports the app.")
FOLLOW_UP_PROMPT = "Also make the ending say 'the end', and add a test."


def follow_up(parent, *, patch=FOLLOW_UP_PATCH, answer=FOLLOW_UP_ANSWER,
              prompt=FOLLOW_UP_PROMPT, by=None):
    """A succeeded follow-up of `parent` (the next index of its task), as the worker leaves it,
    with the worker's verdict on its answer checked against FOLLOW_UP_PATCH's final tree."""
    attempt = Attempt.objects.create(
        task=parent.task, index=parent.task.attempts.count() + 1, parent=parent,
        follow_up_prompt=prompt, requested_by=by or parent.requested_by,
        status=Status.SUCCEEDED, patch=patch, summary=answer)
    tree = {"app.py": "print('v2 from the agent')\nprint('the end')\n",
            "test_app.py": "import app\n"}
    Event.objects.create(attempt=attempt, seq=1, kind="summary",
                         payload=worker_summary(attempt, answer, tree))
    return attempt
