"""A running attempt whose agent was just refused a host, as the worker leaves it: claimed, its
environment snapshot taken under the given internet policy, and the refusal published as an
`egress` event (approvable under an allowlist). For the approval tests of the API, the CLI,
the page and the security suite."""

from __future__ import annotations

import time

from repos.environments.services import environment_for, environment_snapshot
from tasks import event_kinds as kinds
from tasks import events, services
from tasks.models import Attempt
from tests.support import factories

BLOCKED = "packages.example.com"


def refused_attempt(repository, author, *, mode: str = "code", policy: str = "allowlist",
                    host: str = BLOCKED) -> Attempt:
    """A running attempt of a new task on `repository` whose agent was refused `host`."""
    attempt = factories.make_task(repository, author, mode=mode).attempts.get()
    services.attempt_claim(attempt_id=attempt.pk)
    return mark_refused(attempt, policy=policy, host=host)


def mark_refused(attempt: Attempt, *, policy: str = "allowlist", host: str = BLOCKED) -> Attempt:
    """What the worker does for a running `attempt` whose agent is refused `host`: its snapshot
    under `policy` (set on its repository's environment first), then the refusal's event."""
    repository = attempt.task.repository
    environment = environment_for(repository)
    environment.internet_policy = policy
    environment.allowed_domains = ["pypi.org"] if policy == "allowlist" else []
    environment.save()
    Attempt.objects.filter(pk=attempt.pk).update(
        environment_snapshot=environment_snapshot(repository)
    )
    events.publish(attempt.pk, kinds.EGRESS, {
        "domain": host, "method": "GET", "allowed": False, "at": time.time(), "port": 443,
        "url": f"https://{host}/left-pad", "approvable": policy == "allowlist",
        "reason": f"domain {host!r} is not on this repository's allowlist",
    })
    attempt.refresh_from_db()
    return attempt
