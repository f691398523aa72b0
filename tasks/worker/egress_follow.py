"""Following an attempt's egress while its agent runs (issue 14 item 3).

A thread reads the proxy's record (`Sandbox.egress_records(since)`) every `interval` seconds
and publishes one `egress` event per decision, in the order they happened and with the
proxy's own time (`at`), so the log shows each request when it happens instead of all of
them at the end. A refusal a person could lift (an allowlist policy, a host not on it) is
marked `approvable`; the first one per host tells the person who started the attempt
(`ATTEMPT_BLOCKED`). Each round also takes the approvals people gave meanwhile
(tasks/approvals/), adds their hosts to the running proxy (`Sandbox.egress_allow`: it re-reads
its rules, no restart) and queues a note the agent reads after its next tool call (or, if it
answers instead, in a message before its answer is taken).

At most EGRESS_EVENTS_MAX allowed decisions are published per attempt (a build can make
thousands); refusals are always published, since people act on them.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator

from django.conf import settings

from tasks import event_kinds as kinds
from tasks import events
from tasks.approvals.services import TakenApproval, egress_approvals_take
from tasks.background import every
from tasks.notifications.attention import attempt_needs_attention
from tasks.notifications.payloads import ATTEMPT_BLOCKED
from tasks.sandbox.base import EgressRecord, Sandbox, SandboxError

logger = logging.getLogger(__name__)

FOLLOW_SECONDS = 0.5
UNLISTED = "domain "  # how policy.decide starts the reason of a host not on the allowlist


class EgressFollower:
    """Publishes `sandbox`'s egress decisions as events and applies approvals; `notes()` hands
    the agent loop what it should tell the agent (thread-safe)."""

    def __init__(self, attempt_id: int, sandbox: Sandbox, *, allowlist: bool) -> None:
        self.attempt_id = attempt_id
        self.sandbox = sandbox
        self.allowlist = allowlist  # the agent policy is an allowlist: refusals are approvable
        self.limit = settings.EGRESS_EVENTS_MAX
        self._seen = 0
        self._published_allowed = 0
        self._setup_records = len(sandbox.egress_records())  # before the agent phase
        self._notified: set[str] = set()
        self._notes: list[str] = []
        self._lock = threading.Lock()  # a round from the thread vs the final one

    def notes(self) -> list[str]:
        """The notes queued since the last call (for the agent's next tool result)."""
        with self._lock:
            taken, self._notes = self._notes, []
        return taken

    def step(self) -> bool:
        """One round: publish new decisions, apply new approvals. Never ends the thread."""
        with self._lock:
            self._publish_new()
            if self.allowlist:  # only an allowlist proxy takes approvals (egress_allow)
                self._apply(egress_approvals_take(attempt_id=self.attempt_id))
        return False

    def drain(self) -> None:
        """Publish the decisions not published yet (the last ones of the run)."""
        with self._lock:
            self._publish_new()

    def _publish_new(self) -> None:
        records = self.sandbox.egress_records(self._seen)
        for record in records:
            agent_phase = self._seen >= self._setup_records
            self._seen += 1
            approvable = agent_phase and self._approvable(record)
            if record.allowed:
                if self._published_allowed >= self.limit:
                    continue
                self._published_allowed += 1
            events.publish(self.attempt_id, kinds.EGRESS, payload(record, approvable=approvable))
            if approvable and record.host not in self._notified:
                self._notified.add(record.host)
                attempt_needs_attention(self.attempt_id, ATTEMPT_BLOCKED, host=record.host)

    def _approvable(self, record: EgressRecord) -> bool:
        return (
            self.allowlist
            and not record.allowed
            and record.method not in ("-", "TCP")
            and record.reason.startswith(UNLISTED)
        )

    def _apply(self, approvals: list[TakenApproval]) -> None:
        for approval in approvals:
            try:
                self.sandbox.egress_allow([approval.host])
            except SandboxError as exc:
                logger.warning("attempt %s: approval of %s not applied: %s",
                               self.attempt_id, approval.host, exc)
                events.publish(self.attempt_id, kinds.ERROR, {
                    "message": f"The approval of {approval.host} could not be applied: {exc}."
                })
                continue
            self._notes.append(approval_note(approval))


def payload(record: EgressRecord, *, approvable: bool) -> dict[str, object]:
    """The `egress` event of one decision (tasks/event_kinds.py, EgressPayload)."""
    return {
        "domain": record.host,
        "method": record.method,
        "allowed": record.allowed,
        "at": record.at,
        "port": record.port,
        "url": record.url,
        "reason": record.reason,
        "approvable": approvable,
    }


def approval_note(approval: TakenApproval) -> str:
    """What the agent reads in its next tool result after a person approved a host."""
    also = (
        " and added it to the repository's allowlist"
        if approval.scope == "repository"
        else " for this attempt"
    )
    return (
        f"{approval.by} approved requests to {approval.host}{also}. The egress proxy lets "
        "them through now: retry what was refused."
    )


@contextlib.contextmanager
def follow_egress(
    attempt_id: int, sandbox: Sandbox, *, allowlist: bool, interval: float = FOLLOW_SECONDS,
    proxied: bool = True,
) -> Iterator[EgressFollower]:
    """While the block runs, publish egress decisions as they happen and apply approvals;
    on leaving, publish what is left (the last decisions of the run). Without an agent-phase
    proxy (`proxied` False: internet off) nothing can happen meanwhile, so no thread polls
    (twenty attempts at once made forty database round trips a second for nothing)."""
    follower = EgressFollower(attempt_id, sandbox, allowlist=allowlist)
    # The setup phase's decisions now, before the agent's first step: with no thread polling
    # (internet off for the agent) they would otherwise land after the agent's last one.
    follower.drain()
    try:
        if proxied:
            with every(interval, follower.step, name=f"egress-follow-{attempt_id}"):
                yield follower
        else:
            yield follower
    finally:
        follower.drain()
