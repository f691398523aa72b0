"""Step 5 of an attempt: take the patch (Code tasks), keep the cited files' text, record the
tokens, the egress decisions and how the attempt ended."""

from __future__ import annotations

from django.conf import settings

from tasks import event_kinds as kinds
from tasks import events, services
from tasks.agent.collect import collect_patch
from tasks.agent.records import AgentResult
from tasks.models import Attempt, Status
from tasks.resilience import with_db_retry
from tasks.sandbox.base import Sandbox, SandboxError

OUTCOME_STATUS = {
    "succeeded": Status.SUCCEEDED,
    "failed": Status.FAILED,
    "stopped": Status.STOPPED,
    "cancelled": Status.CANCELLED,
}


def collect_and_finish(
    attempt_id: int, result: AgentResult, *, sandbox: Sandbox, base_commit: str
) -> Attempt:
    """Take the patch (Code tasks), record tokens and the end of the attempt."""
    patch = result.patch if result.committed and result.patch is not None else ""
    error = result.error
    if result.committed and result.patch is None:  # not taken with the commit: take it now
        events.publish(
            attempt_id, kinds.PHASE, {"phase": "collect", "message": "Taking the patch."}
        )
        try:
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

    return with_db_retry(record, what="record the end of the attempt")


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


def publish_egress(attempt_id: int, sandbox: Sandbox) -> None:
    """The egress proxy's decisions as events (the first EGRESS_EVENTS_MAX)."""
    for record in sandbox.egress_records()[: settings.EGRESS_EVENTS_MAX]:
        events.publish(
            attempt_id,
            kinds.EGRESS,
            {"domain": record.host, "method": record.method, "allowed": record.allowed},
        )
