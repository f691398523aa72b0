"""One attempt on a worker, step by step: claim (tasks/jobs.py, `claim.py`) → prepare the
workspace (`workspace.py`) → start the sandbox (`sandbox_start.py`) → run the agent
(`agent.py`) → collect and finish (`finish.py`).

Everything slow happens here, never in a request. Every path records how the attempt ended:
what a step expects to fail with ends it with its sentence; anything else (and a database that
stays away) ends it with a general one, and while it runs the attempt has a heartbeat.
"""

from __future__ import annotations

import logging

from repos.credentials.services import credentials_for_proxy
from repos.environments.services import (
    environment_snapshot,
    secret_values_for_setup,
    secret_versions,
)
from repos.git.mirror import GitError
from repos.git.workspace import PrepareError
from repos.github.client import GitHubError
from repos.installation.services import install_id
from tasks import events
from tasks.agent.model_abort import ModelAbort
from tasks.models import Attempt, AttemptKind, Mode, Status
from tasks.resilience import DATABASE_UNAVAILABLE_MESSAGE, TRANSIENT_DB_ERRORS, DatabaseUnavailable
from tasks.sandbox.base import SandboxError, SandboxOwner
from tasks.sandbox.snapshot import EnvironmentSnapshot
from tasks.worker.agent import run_agent_in_sandbox
from tasks.worker.cancel import attempt_cancelled, cancel_watch
from tasks.worker.claim import INTERNAL_ERROR_MESSAGE, fail_attempt, missing_configuration
from tasks.worker.credential_uses import record_credential_uses
from tasks.worker.egress_follow import follow_egress
from tasks.worker.finish import collect_and_finish
from tasks.worker.heartbeat import heartbeat
from tasks.worker.host_folder import HostFolder
from tasks.worker.sandbox_settings import spec_from_snapshot
from tasks.worker.sandbox_start import start_sandbox
from tasks.worker.setup_terminal import SetupTerminal
from tasks.worker.shutdown import running
from tasks.worker.workspace import PreparedWorkspace, prepare_workspace, publish_phase

logger = logging.getLogger(__name__)


def run_claimed_attempt(attempt_id: int) -> None:
    """Run a claimed (running) attempt to its end under a heartbeat; never leaves it open.
    While it runs, a worker told to stop ends it (tasks/worker/shutdown.py)."""
    with running(attempt_id), heartbeat(attempt_id):
        try:
            events.publish(
                attempt_id, "status", {"status": Status.RUNNING, "message": "Worker started."}
            )
            missing = missing_configuration()
            if missing:
                fail_attempt(attempt_id, missing)
                return
            run_attempt_steps(attempt_id)
        except DatabaseUnavailable as exc:
            logger.error("attempt %s: %s", attempt_id, exc)
            fail_attempt(attempt_id, DATABASE_UNAVAILABLE_MESSAGE)
        except TRANSIENT_DB_ERRORS:
            logger.exception("attempt %s lost its database", attempt_id)
            fail_attempt(attempt_id, DATABASE_UNAVAILABLE_MESSAGE)
        except Exception:
            logger.exception("attempt %s failed unexpectedly", attempt_id)
            fail_attempt(attempt_id, INTERNAL_ERROR_MESSAGE)


def run_attempt_steps(attempt_id: int) -> None:
    """Prepare, start, run, finish. What a step expects to fail with (the checkout, the
    sandbox, git, GitHub) ends the attempt with its sentence; the rest is raised."""
    attempt = Attempt.objects.select_related("task__repository", "requested_by", "parent").get(
        pk=attempt_id
    )
    try:
        with HostFolder(prefix=f"codexweb-attempt-{attempt_id}-") as folder:
            prepared = prepare_workspace(attempt, folder.path, host_folder=folder)
            if attempt_cancelled(attempt_id):
                return
            _run_in_sandbox(attempt, prepared, folder)
    except (PrepareError, SandboxError, GitError, GitHubError) as exc:
        fail_attempt(attempt_id, _sentence(str(exc)))


def _sentence(text: str) -> str:
    """A sandbox reason ("the container engine restarted …") as the start of a sentence."""
    text = text.strip()
    return text[:1].upper() + text[1:]


def attempt_environment(attempt: Attempt) -> EnvironmentSnapshot:
    """The environment as it was when the attempt was claimed (later edits don't reach it);
    taken now and kept when the attempt has none yet."""
    data = attempt.environment_snapshot
    if not data:
        data = environment_snapshot(attempt.task.repository)
        Attempt.objects.filter(pk=attempt.pk).update(environment_snapshot=data)
    return EnvironmentSnapshot.from_json(data)


def _run_in_sandbox(attempt: Attempt, prepared: PreparedWorkspace, folder: HostFolder) -> None:
    task = attempt.task
    environment = attempt_environment(attempt)
    names = list(environment.secret_names)
    secrets = secret_values_for_setup(environment.environment_id, names)
    spec = spec_from_snapshot(
        environment,
        owner=SandboxOwner.attempt(attempt.pk),
        workspace=prepared.workspace,
        workspace_archive=prepared.workspace_archive,
        read_only=task.mode in (Mode.ASK, Mode.REVIEW),
        secrets=secrets,
        install_id=install_id(),
        # The code setup runs: the base commit's own tree, also for a follow-up (whose
        # workspace holds its parent's changes on top).
        commit=prepared.base_commit,
        setup_workspace=prepared.setup_tree,
        secret_versions=secret_versions(environment.environment_id, names),
        labels={"org.codexweb.task": str(task.pk)},
        # Added by the agent phase's egress proxy; never inside the container.
        egress_credentials=credentials_for_proxy(environment.environment_id),
    )
    publish_phase(
        attempt.pk,
        "setup",
        "Starting the container"
        + (" and running the setup script." if spec.setup_script.strip() else "."),
    )
    # A cancel while the container starts or setup runs stops it there.
    started = start_sandbox(
        spec,
        secrets=secrets.values(),
        setup_output=SetupTerminal(attempt.pk),
        watch=lambda sandbox: cancel_watch(attempt.pk, sandbox),
    )
    del secrets
    folder.release()  # the container has its copy of the checkout (and of a setup tree)
    sandbox, base = started.sandbox, prepared.base_commit
    model_abort = ModelAbort()  # a cancel also ends the model's reply in flight
    try:
        with cancel_watch(attempt.pk, sandbox, model_call=model_abort):
            mode = environment.agent_policy.mode
            with follow_egress(attempt.pk, sandbox, allowlist=mode == "allowlist",
                               proxied=mode != "off") as egress:
                result = run_agent_in_sandbox(
                    attempt.pk, sandbox, base_commit=base, notes=egress.notes,
                    model_abort=model_abort,
                )
            collect_and_finish(attempt.pk, result, sandbox=sandbox, base_commit=base,
                               rebased=attempt.kind == AttemptKind.RESOLVE)
    finally:
        record_credential_uses(sandbox)
        sandbox.stop(remove_later=True)  # the slot is free while the engine deletes its files
