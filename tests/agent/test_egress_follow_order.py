"""The setup phase's egress decisions reach the attempt's log before the agent's first step,
also when the agent's internet is off and no thread polls the proxy (session 7's walkthrough:
setup's pypi.org requests showed after "Final summary written")."""

from __future__ import annotations

from tasks import event_kinds as kinds
from tasks import events
from tasks.models import Event
from tasks.sandbox.base import EgressRecord
from tasks.worker.egress_follow import follow_egress
from tests.support import factories
from tests.support.memory_sandbox import MemorySandbox


class SetupRecordsSandbox(MemorySandbox):
    """A sandbox whose proxy decided two setup-phase requests before the agent started."""

    def egress_records(self, since: int = 0) -> list[EgressRecord]:
        records = [
            EgressRecord(at=1.0, host="pypi.org", port=443, method="CONNECT", allowed=True,
                         reason="domain is on the allowlist", url="pypi.org:443"),
            EgressRecord(at=2.0, host="evil.test", port=443, method="CONNECT", allowed=False,
                         reason="domain 'evil.test' is not on this repository's allowlist"),
        ]
        return records[since:]


def test_setup_decisions_come_before_the_agents_first_event(acme_repo, alice):
    attempt = factories.make_task(acme_repo, alice).attempts.get()
    with follow_egress(attempt.pk, SetupRecordsSandbox(), allowlist=False, proxied=False):
        # The agent's first step, as run_agent_in_sandbox publishes it.
        events.publish(attempt.pk, kinds.PHASE, {"phase": "agent", "message": "Agent started."})

    kinds_in_order = list(Event.objects.filter(attempt=attempt).order_by("seq")
                          .values_list("kind", "payload__domain"))
    assert kinds_in_order == [(kinds.EGRESS, "pypi.org"), (kinds.EGRESS, "evil.test"),
                              (kinds.PHASE, None)]
    # Setup-phase refusals are never offered for approval (the agent phase never asked).
    refused = Event.objects.get(attempt=attempt, payload__domain="evil.test")
    assert refused.payload["approvable"] is False
