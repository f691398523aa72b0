"""The loop in a Review task, with the scripted model and an in-memory sandbox: the model gets
the diff and no write tool; the findings block becomes a "review" event (after the summary,
which no longer carries it); a malformed block is reported and the attempt still succeeds."""

from __future__ import annotations

import json

from tasks import event_kinds as kinds
from tests.support.agent_run import make_spec, run
from tests.support.memory_sandbox import MemorySandbox
from tests.support.model_server import call, reply

DIFF = ("diff --git a/calc.py b/calc.py\n--- a/calc.py\n+++ b/calc.py\n@@ -1,2 +1,2 @@\n"
        " def add(a, b):\n-    return a + b\n+    return a - b\n")
FINDING = {"file": "calc.py", "line": 2, "severity": "blocker",
           "explanation": "`add` now subtracts 【F:calc.py†L2】."}


def sandbox() -> MemorySandbox:
    return MemorySandbox(files={"calc.py": "def add(a, b):\n    return a - b\n"})


def test_the_model_gets_the_diff_and_the_findings_become_a_review_event(model_server):
    model_server.add(
        reply(call("apply_patch", {"patch": "*** Begin Patch\n*** End Patch"})),
        reply(f"A regression 【F:calc.py†L1-L2】.\n\n```findings\n{json.dumps([FINDING])}\n```"),
    )
    box = sandbox()
    outcome = run(make_spec(model_server, mode="review", prompt="Check the math.",
                            review_diff=DIFF), box)

    assert outcome.result.outcome == "succeeded"
    first = model_server.requests[0]
    assert first.tool_names() == ["shell"]
    assert "Review task" in first.system and "```findings" in first.system
    assert first.user_texts()[0] == f"Check the math.\n\n<diff_to_review>\n{DIFF.rstrip()}\n" \
                                    "</diff_to_review>"
    assert "not available in a Review task" in outcome.of(kinds.TOOL_ERROR)[0]["error"]
    assert box.commits == 0
    assert outcome.kinds[-2:] == [kinds.SUMMARY, kinds.REVIEW]
    assert outcome.of(kinds.SUMMARY)[0]["text"] == "A regression 【F:calc.py†L1-L2】."
    assert outcome.result.final_message == "A regression 【F:calc.py†L1-L2】."
    (finding,) = outcome.of(kinds.REVIEW)[0]["findings"]
    assert finding["line"] == 2 and finding["citations"][0]["valid"] is True
    # The worker keeps the files the findings cite, as it does for the summary's.
    assert [c.target for c in outcome.result.citations] == ["calc.py", "calc.py"]


def test_a_malformed_block_is_reported_and_the_attempt_still_succeeds(model_server):
    model_server.add(reply("Looks wrong.\n\n```findings\nnot json at all\n```"))
    outcome = run(make_spec(model_server, mode="review", review_diff=DIFF), sandbox())

    assert outcome.result.outcome == "succeeded"
    review = outcome.of(kinds.REVIEW)[0]
    assert review["findings"] == []
    (malformed,) = review["malformed"]
    assert malformed["text"] == "not json at all"
    assert malformed["problem"].startswith("The block is not JSON")
