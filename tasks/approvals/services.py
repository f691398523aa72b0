"""Approving a host the egress proxy refused, while the attempt runs; the worker taking the
approvals it has not applied yet.

Views, the API and the worker go through these. Who may approve: "Allow once for this
attempt" anyone who may steer or follow up the attempt (they may act on its repository now,
`task_access_require`); "Add to this repository's allowlist" only a team admin, as on the
environment page. Only a host the agent was refused for not being on the allowlist can be
approved (an `egress` event marked `approvable`), and only while the attempt runs under an
allowlist policy: with the internet off there is no proxy to open (see `approval_impossible`).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import transaction

from codexweb.accounts.selectors import is_team_admin
from codexweb.audit import actions
from codexweb.audit.services import audit_record
from repos.domains import DomainError
from repos.environments.allowlist import environment_allow_domain
from tasks import event_kinds as kinds
from tasks import events
from tasks.approvals.models import ApprovalScope, EgressApproval
from tasks.handover import take_queued
from tasks.models import Attempt
from tasks.sandbox.egress.policy import normalize_host
from tasks.sandbox.snapshot import EnvironmentSnapshot
from tasks.services import TaskError, task_access_require


class ApprovalDenied(TaskError):
    """The person may not approve this (no access to the repository, or not a team admin)."""


class ApprovalImpossible(TaskError):
    """Nothing can be approved for this attempt now (finished, or no allowlist proxy)."""


OFF_MESSAGE = (
    "Internet access is off for this attempt: it has no network and no proxy, so nothing can "
    "be approved. A team admin can set the repository's internet policy to an allowlist — an "
    "empty allowlist refuses everything too, but lets people approve hosts as the agent needs "
    "them."
)
ON_MESSAGE = "Internet access is on for this attempt: there is no allowlist to add a host to."


def approval_impossible(attempt: Attempt) -> str | None:
    """Why no host can be approved for `attempt` now, or None when one can."""
    if attempt.is_finished:
        return (
            f"Attempt {attempt.index} has already finished ({attempt.status}); "
            "approvals apply to a running attempt."
        )
    snapshot = attempt.environment_snapshot
    if not snapshot:
        return "The attempt has not started yet: wait until the agent asks for a host."
    mode = EnvironmentSnapshot.from_json(snapshot).agent_policy.mode
    if mode == "off":
        return OFF_MESSAGE
    if mode == "on":
        return ON_MESSAGE
    return None


def egress_approve(
    *, attempt: Attempt, by: User, host: str, scope: str = ApprovalScope.ATTEMPT
) -> EgressApproval:
    """Let `attempt`'s agent reach `host` from its next request on (the worker adds it to the
    proxy's rules and tells the agent); with scope "repository", also add it to the
    repository's allowlist. Audited, and shown in the attempt's log (`egress_approval`).

    Raises ApprovalDenied (no access; not an admin for "repository"), ApprovalImpossible (the
    attempt finished, has not started, or its policy is off or on) and TaskError (an unknown
    scope, or a host the agent was not refused for)."""
    if scope not in ApprovalScope.values:
        raise TaskError(f"Unknown scope {scope!r}: use attempt or repository.")
    host = normalize_host(host)
    if not host:
        raise TaskError("Name the host to allow.")
    task = attempt.task
    try:
        task_access_require(user=by, task=task)
    except TaskError as exc:
        raise ApprovalDenied(str(exc)) from exc
    if scope == ApprovalScope.REPOSITORY and not is_team_admin(by, task.team):
        raise ApprovalDenied(
            "Only a team admin can add a domain to the repository's allowlist; you can allow "
            "it once for this attempt."
        )
    with transaction.atomic():
        current = Attempt.objects.select_for_update().select_related("task__team").get(
            pk=attempt.pk
        )
        why = approval_impossible(current)
        if why:
            raise ApprovalImpossible(why)
        if not _was_refused(current, host):
            raise TaskError(
                f"The agent of attempt {current.index} was not refused {host}; only a host it "
                "tried and the allowlist refused can be approved."
            )
        where = f"task #{task.pk} attempt {current.index}"
        if scope == ApprovalScope.REPOSITORY:
            try:
                environment_allow_domain(
                    repository=task.repository, actor=by, domain=host,
                    reason=f"approved from {where}",
                )
            except DomainError as exc:
                raise TaskError(str(exc)) from exc
        approval = EgressApproval.objects.create(
            attempt=current, host=host, scope=scope, approved_by=by
        )
        audit_record(
            team=task.team,
            actor=by,
            action=actions.EGRESS_APPROVED,
            target=f"{where}: {host}",
            changes={"host": host, "scope": scope, "task": task.pk, "attempt": current.index},
        )
        events.publish(
            current.pk,
            kinds.EGRESS_APPROVAL,
            {"host": host, "scope": scope, "by": by.get_username()},
        )
    return approval


def _was_refused(attempt: Attempt, host: str) -> bool:
    return attempt.events.filter(
        kind=kinds.EGRESS, payload__domain=host, payload__approvable=True
    ).exists()


@dataclass(frozen=True)
class TakenApproval:
    host: str
    scope: str
    by: str


def egress_approvals_take(*, attempt_id: int) -> list[TakenApproval]:
    """The approvals the worker has not applied yet, oldest first, marked as taken (each is
    applied once)."""
    pending = take_queued(EgressApproval, attempt_id=attempt_id, with_person="approved_by")
    return [TakenApproval(a.host, a.scope, a.approved_by.get_username()) for a in pending]
