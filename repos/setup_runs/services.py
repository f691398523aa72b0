"""The "run setup now" service: request a run of an environment's setup script, claim it,
record its end.

The Celery job `repos.run_setup` (repos/jobs.py) does the slow part in repos/setup_runs/flow.py.
At most one run per environment is queued or running (a database constraint backs the check);
a run older than the sandbox's time limit plus a grace period counts as abandoned (its worker
died) and no longer blocks a new one.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from codexweb.accounts.selectors import is_team_admin
from codexweb.audit import actions
from repos.audit import repository_audit
from repos.environments.services import environment_for
from repos.models import Environment, Repository
from repos.setup_runs.models import SetupRun

logger = logging.getLogger(__name__)

ABANDONED_GRACE_SECONDS = 600
NO_SANDBOX = "No sandbox is configured on this server (SANDBOX_BACKEND=none)."
NO_SCRIPT = "There is no setup script to run: save one first."
ALREADY_RUNNING = (
    "The setup script of this environment is already queued or running; wait until it ends."
)


class SetupRunError(ValueError):
    """A setup run that cannot be requested; the message is for the person."""


def setup_run_unavailable_reason(environment: Environment | None = None) -> str:
    """Why "Run setup now" cannot run here, or "" when it can (the button is disabled then)."""
    if settings.SANDBOX_BACKEND in ("", "none"):
        return NO_SANDBOX
    if environment is not None and not environment.setup_script.strip():
        return NO_SCRIPT
    return ""


def _abandoned_before() -> datetime:
    return timezone.now() - timedelta(
        seconds=settings.ATTEMPT_TIMEOUT_SECONDS + ABANDONED_GRACE_SECONDS
    )


def _expire_abandoned(environment: Environment) -> None:
    SetupRun.objects.filter(
        environment=environment,
        status__in=SetupRun.ACTIVE,
        created_at__lt=_abandoned_before(),
    ).update(
        status=SetupRun.Status.FAILED,
        error="The worker stopped before this run ended.",
        finished_at=timezone.now(),
    )


@transaction.atomic
def setup_run_request(*, repository: Repository, actor: User) -> SetupRun:
    """Queue a run of the environment's setup script on the default branch, as `actor`.

    Only team admins may; `actor`'s GitHub token is used for the host-side fetch. Raises
    SetupRunError when `actor` is not an admin, no sandbox is configured, there is no setup
    script, or another run of this environment is queued or running. Audited; the job is
    enqueued when the transaction commits.
    """
    if not is_team_admin(actor, repository.team):
        raise SetupRunError("Only team admins can run the setup script.")
    environment = environment_for(repository)
    reason = setup_run_unavailable_reason(environment)
    if reason:
        raise SetupRunError(reason)
    # Serialises requests for one environment, so the check below sees every earlier run.
    environment = Environment.objects.select_for_update().get(pk=environment.pk)
    _expire_abandoned(environment)
    if environment.setup_runs.filter(status__in=SetupRun.ACTIVE).exists():
        raise SetupRunError(ALREADY_RUNNING)
    try:
        with transaction.atomic():
            run = SetupRun.objects.create(
                environment=environment, requested_by=actor, branch=repository.default_branch
            )
    except IntegrityError as exc:  # the constraint, should the lock ever be bypassed
        raise SetupRunError(ALREADY_RUNNING) from exc
    repository_audit(repository, actor=actor, action=actions.SETUP_RUN,
                     changes={"run": run.pk, "branch": run.branch})
    transaction.on_commit(partial(_enqueue, run.pk))
    return run


def _enqueue(run_id: int) -> None:
    from repos.jobs import run_setup  # the job module imports this one

    try:
        run_setup.delay(run_id)
    except OperationalError:
        logger.warning("could not enqueue setup run %s", run_id, exc_info=True)
        SetupRun.objects.filter(pk=run_id, status=SetupRun.Status.QUEUED).update(
            status=SetupRun.Status.FAILED,
            error="The job queue is not reachable; try again later.",
            finished_at=timezone.now(),
        )


def setup_run_claim(*, run_id: int) -> bool:
    """Mark a queued run running; False when it is not queued (another worker has it)."""
    return bool(
        SetupRun.objects.filter(pk=run_id, status=SetupRun.Status.QUEUED).update(
            status=SetupRun.Status.RUNNING, started_at=timezone.now()
        )
    )


def setup_run_finish(
    *,
    run_id: int,
    succeeded: bool,
    error: str = "",
    exit_code: int | None = None,
    warm_hit: bool = False,
    warm_image: str = "",
) -> bool:
    """Record how a running run ended; False when it was not running (nothing changes)."""
    return bool(
        SetupRun.objects.filter(pk=run_id, status=SetupRun.Status.RUNNING).update(
            status=SetupRun.Status.SUCCEEDED if succeeded else SetupRun.Status.FAILED,
            error=error,
            exit_code=exit_code,
            warm_hit=warm_hit,
            warm_made=bool(succeeded and warm_image and not warm_hit),
            warm_image=warm_image[:200],
            finished_at=timezone.now(),
        )
    )
