"""Step 5 of an attempt: take the patch (Code tasks), keep the cited files' text, record the
tokens and how the attempt ended (the egress decisions are published as they happen:
`egress_follow.py`)."""

from __future__ import annotations

import shlex

from tasks import event_kinds as kinds
from tasks import events, services
from tasks.agent.collect import collect_patch
from tasks.agent.instructions import WORKSPACE
from tasks.agent.records import AgentResult
from tasks.models import Attempt, Status
from tasks.resilience import with_db_retry
from tasks.sandbox.base import Sandbox, SandboxError
from tasks.steering.services import steer_take

OUTCOME_STATUS = {
    "succeeded": Status.SUCCEEDED,
    "failed": Status.FAILED,
    "stopped": Status.STOPPED,
    "cancelled": Status.CANCELLED,
}


def collect_and_finish(
    attempt_id: int, result: AgentResult, *, sandbox: Sandbox, base_commit: str,
    rebased: bool = False,
) -> Attempt:
    """Take the patch (Code tasks), record tokens and the end of the attempt. The patch was
    usually taken with the commit, in the same exec (`result.patch`); else it is taken now.

    `rebased` (a resolve attempt): the agent committed itself (rebase or merge), so the patch is
    taken whenever it ended with its work kept, and only when its HEAD contains `base_commit`
    (else the patch would take the branch's new commits back out)."""
    patch = ""
    error = result.error
    if result.committed and result.patch is not None and not rebased:
        patch = result.patch
    elif result.committed or (rebased and result.outcome in ("succeeded", "stopped")):
        events.publish(
            attempt_id, kinds.PHASE, {"phase": "collect", "message": "Taking the patch."}
        )
        try:
            if rebased:
                require_on_base(sandbox, base_commit)
            patch = collect_patch(sandbox, base_commit)
        except SandboxError as exc:
            # An attempt whose patch could not be taken never succeeds.
            error = error or f"Could not take the patch: {exc}"
            events.publish(attempt_id, kinds.ERROR, {"message": f"Could not take the patch: {exc}"})
            if result.outcome == "succeeded":
                result.outcome = "failed"
    cited = cited_files_of(result)

    def record() -> Attempt:
        attempt_record_usage(attempt_id=attempt_id, result=result)
        services.attempt_store_cited_files(attempt_id=attempt_id, files=cited)
        return services.attempt_finish(
            attempt_id=attempt_id,
            status=OUTCOME_STATUS[result.outcome],
            error=error,
            summary=result.final_message,
            patch=patch,
        )

    finished = with_db_retry(record, what="record the end of the attempt")
    publish_late_messages(attempt_id)
    return finished


def publish_late_messages(attempt_id: int) -> None:
    """Messages sent after the agent's last turn boundary but before the attempt ended never
    reached the model: say so in the log (no message is dropped silently). Once the attempt is
    finished no new message can arrive (`steer_send` checks under the row lock)."""
    late = with_db_retry(lambda: steer_take(attempt_id=attempt_id), what="take late messages")
    for steer in late:
        events.publish(
            attempt_id,
            kinds.STEER,
            {"text": steer.text, "by": steer.by, "stop": steer.stop, "late": True},
        )


NOT_REBASED = (
    "the work is not on the branch's current head ({base}): the rebase or merge was not "
    "finished, so the patch would undo the branch's new commits"
)


def require_on_base(sandbox: Sandbox, base_commit: str) -> None:
    """SandboxError unless the workspace's HEAD contains `base_commit` (asked in the sandbox)."""
    check = sandbox.exec(
        f"git merge-base --is-ancestor {shlex.quote(base_commit)} HEAD", cwd=WORKSPACE,
        timeout=120)
    if check.exit_code != 0:
        raise SandboxError(NOT_REBASED.format(base=base_commit[:12]))


def attempt_record_usage(*, attempt_id: int, result: AgentResult) -> None:
    """Store the attempt's token totals, cost and conversation (also in its usage events)."""
    services.attempt_record_usage(
        attempt_id=attempt_id,
        input_tokens=result.usage.input_tokens,
        output_tokens=result.usage.output_tokens,
        cost=result.cost,
        conversation=list(result.conversation),
    )


def cited_files_of(result: AgentResult) -> dict[str, str]:
    """The final text of each file a valid citation names, as the agent read it once when it
    checked the citations (bounded in count and size: tasks/agent/tree_exec.py)."""
    return dict(result.cited_files)
