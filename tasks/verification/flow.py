"""One re-verification on a worker: check out the task's branch, apply the patch on the host
(`git apply`, hooks off, as a follow-up's parent patch), then in a fresh sandbox started the way
an attempt's is (tasks/worker/sandbox_start.py, same environment snapshot and setup) run the
checks and keep each one's exit code and output tail. Every path records a verdict; a heartbeat
lets housekeeping run a verification whose worker died again (tasks/verification/recovery.py).
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import time
from pathlib import Path
from typing import Any

from django.conf import settings

from repos.environments.services import secret_values_for_setup, secret_versions
from repos.git.mirror import GitError
from repos.git.workspace import PrepareError, mirror_ready_for
from repos.github.client import GitHubError
from repos.installation.services import install_id
from tasks import event_kinds as kinds
from tasks.background import every
from tasks.models import Event
from tasks.resilience import TRANSIENT_DB_ERRORS, DatabaseUnavailable
from tasks.sandbox.base import OutputChunk, Sandbox, SandboxError, SandboxOwner, StartReport
from tasks.verification import services
from tasks.verification.checks import Checks, choose_checks
from tasks.verification.models import Verification
from tasks.worker.attempt import attempt_environment
from tasks.worker.cancel import stop_when
from tasks.worker.host_folder import HostFolder
from tasks.worker.sandbox_settings import spec_from_snapshot
from tasks.worker.sandbox_start import start_sandbox
from tasks.worker.shared_checkout import pristine_checkout
from tasks.worker.workspace import apply_parent_patch

logger = logging.getLogger(__name__)

Verdict = Verification.Verdict
OUTPUT_TAIL_CHARS = 3000
AGENTS_MD_MAX_BYTES = 64_000
STOP_POLL_SECONDS = 2.0  # how soon a person's "Stop" reaches the check running
INTERNAL_ERROR = "The worker hit an internal error while verifying this patch; it was not verified."


class _QuietSetup:
    """A `SetupOutput` that keeps nothing: the attempt's own log already shows its setup."""

    def output(self, chunk: OutputChunk, script: str) -> None:
        return None

    def finish(self, report: StartReport) -> None:
        return None


def verification_execute(verification_id: int) -> None:
    """Claim a queued verification and run it to a verdict under a heartbeat. A verification
    already claimed is left alone unless its worker is gone (then it is run again or ended)."""
    if not services.verification_claim(verification_id=verification_id):
        from tasks.verification.recovery import verifications_recover

        verifications_recover(ids=[verification_id])
        return

    def beat() -> bool:
        services.verification_beat(verification_id)
        return False

    with every(settings.ATTEMPT_HEARTBEAT_SECONDS, beat, name=f"verify-{verification_id}"):
        try:
            _verify(verification_id)
        except (PrepareError, GitError, GitHubError, SandboxError) as exc:
            who = services.verification_stopper(verification_id)
            if who:  # the stop cancelled the sandbox's start
                _unverified(verification_id, services.stopped_reason(who, ran=0, of=0))
            else:
                _unverified(verification_id, f"Could not verify: {exc}")
        except DatabaseUnavailable:
            # Housekeeping runs it again once the heartbeat is stale.
            logger.exception("verification %s lost its database", verification_id)
        except TRANSIENT_DB_ERRORS:
            logger.exception("verification %s lost its database", verification_id)
        except Exception:
            logger.exception("verification %s failed unexpectedly", verification_id)
            _unverified(verification_id, INTERNAL_ERROR)


def _unverified(verification_id: int, reason: str) -> None:
    services.verification_finish(
        verification_id=verification_id, verdict=Verdict.UNVERIFIED, reason=reason
    )


def _verify(verification_id: int) -> None:
    verification = Verification.objects.select_related(
        "attempt__task__repository", "attempt__requested_by"
    ).get(pk=verification_id)
    attempt = verification.attempt
    task = attempt.task
    with HostFolder(prefix=f"codexweb-verify-{verification_id}-") as folder:
        mirror_ready_for(repository=task.repository, user=attempt.requested_by,
                         ref=task.base_branch)
        # Read only (AGENTS.md, the copy below, setup's tree): the siblings' verifications,
        # which start together, share it (tasks/worker/shared_checkout.py).
        pristine, commit = pristine_checkout(task.repository, ref=task.base_branch, folder=folder)
        workspace = folder.path / "workspace"
        shutil.copytree(pristine, workspace, symlinks=True)
        try:
            apply_parent_patch(workspace, attempt.patch)
        except PrepareError as exc:
            git_says = str(exc).split(": ", 1)[-1]
            services.verification_finish(
                verification_id=verification_id,
                verdict=Verdict.NOT_APPLIED,
                reason=f"The patch does not apply to {task.base_branch} at {commit[:12]}: "
                f"{git_says}",
            )
            return
        checks = choose_checks(_agents_md(pristine), _commands_ran(task.pk))
        if not checks.commands:
            services.verification_finish(
                verification_id=verification_id,
                verdict=Verdict.NO_CHECKS,
                reason=f"The patch applies to {task.base_branch} at {commit[:12]}; neither "
                "AGENTS.md nor the attempts' own runs name a test command, so nothing was run.",
            )
            return
        results = _run_checks(verification_id, attempt, checks, folder, workspace, pristine, commit)
    _finish_with(verification_id, results)


def _agents_md(tree: Path) -> str:
    """The root AGENTS.md of the pristine checkout ("" when absent, a symlink or not a file)."""
    path = tree / "AGENTS.md"
    if path.is_symlink() or not path.is_file():
        return ""
    with path.open("rb") as handle:
        return handle.read(AGENTS_MD_MAX_BYTES).decode("utf-8", errors="replace")


def _commands_ran(task_id: int) -> list[str]:
    """Every shell command the task's attempts ran, in order."""
    payloads = Event.objects.filter(attempt__task_id=task_id, kind=kinds.COMMAND).order_by(
        "attempt__index", "seq"
    )
    return [str(p.get("command", "")) for p in payloads.values_list("payload", flat=True)]


def _run_checks(
    verification_id: int,
    attempt: Any,
    checks: Checks,
    folder: HostFolder,
    workspace: Path,
    pristine: Path,
    commit: str,
) -> list[dict[str, Any]]:
    environment = attempt_environment(attempt)
    names = list(environment.secret_names)
    secrets = secret_values_for_setup(environment.environment_id, names)
    spec = spec_from_snapshot(
        environment,
        owner=SandboxOwner.verification(verification_id),
        workspace=workspace,
        read_only=False,
        secrets=secrets,
        install_id=install_id(),
        commit=commit,
        setup_workspace=pristine,
        secret_versions=secret_versions(environment.environment_id, names),
        labels={"org.codexweb.task": str(attempt.task_id)},
    )
    commands = list(checks.commands)
    results: list[dict[str, Any]] = []
    services.verification_progress(
        verification_id=verification_id, commands=commands, source=checks.source, results=[]
    )

    def stop_watch(sandbox: Sandbox) -> contextlib.AbstractContextManager[None]:
        """A person's "Stop" cancels the start or the check running within STOP_POLL_SECONDS."""
        return stop_when(
            lambda: bool(services.verification_stopper(verification_id)),
            sandbox,
            interval=STOP_POLL_SECONDS,
            name=f"verify-stop-{verification_id}",
        )

    started = start_sandbox(
        spec, secrets=secrets.values(), setup_output=_QuietSetup(), watch=stop_watch
    )
    del secrets
    folder.release()  # the container has its copies of both trees
    try:
        with stop_watch(started.sandbox):
            return _run_in(started.sandbox, verification_id, checks, results)
    finally:
        started.sandbox.stop(remove_later=True)  # the worker's slot is free meanwhile


def _run_in(
    sandbox: Sandbox, verification_id: int, checks: Checks, results: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + settings.VERIFY_TIMEOUT_SECONDS
    commands = list(checks.commands)
    for command in commands:
        if services.verification_stopper(verification_id):
            break  # the rest is not run; _finish_with says who stopped it
        left = deadline - time.monotonic()
        if left < 1:
            results.append(
                {
                    "command": command,
                    "exit_code": None,
                    "timed_out": True,
                    "output_tail": "",
                    "duration": 0.0,
                    "error": "Not run: the verification's time limit was reached.",
                }
            )
            continue
        services.verification_progress(
            verification_id=verification_id,
            commands=commands,
            source=checks.source,
            results=[*results, {"command": command, "running": True}],
        )
        ran = sandbox.exec(
            command,
            timeout=min(float(settings.VERIFY_COMMAND_TIMEOUT_SECONDS), left),
            max_output_bytes=200_000,
        )
        results.append(
            {
                "command": command,
                "exit_code": ran.exit_code,
                "timed_out": ran.timed_out,
                "output_tail": ran.output[-OUTPUT_TAIL_CHARS:],
                "duration": round(ran.duration, 2),
                "error": ran.error,
            }
        )
        services.verification_progress(
            verification_id=verification_id,
            commands=commands,
            source=checks.source,
            results=list(results),
        )
    return results


def _finish_with(verification_id: int, results: list[dict[str, Any]]) -> None:
    who = services.verification_stopper(verification_id)
    if who:
        verification = Verification.objects.get(pk=verification_id)
        # The check the stop cancelled did not finish: it does not count as run.
        ran = sum(1 for r in results if r["exit_code"] is not None)
        services.verification_finish(
            verification_id=verification_id,
            verdict=Verdict.UNVERIFIED,
            reason=services.stopped_reason(who, ran=ran, of=len(verification.commands)),
            results=results,
        )
        return
    failed = [r for r in results if r["exit_code"] != 0]
    if not failed:
        named = ", ".join(f"`{r['command']}`" for r in results)
        reason = f"All {len(results)} checks pass: {named}." if len(results) > 1 else (
            f"The check passes: {named}.")
        verdict = Verdict.PASSED
    else:
        first = failed[0]
        if first["timed_out"]:
            how = "timed out"
        elif first["exit_code"] is None:
            how = f"did not finish ({first['error'] or 'it was stopped'})"
        else:
            how = f"failed with exit code {first['exit_code']}"
        reason = f"`{first['command']}` {how}" + (
            f" (and {len(failed) - 1} more failed)." if len(failed) > 1 else "."
        )
        verdict = Verdict.CHECKS_FAILED
    services.verification_finish(
        verification_id=verification_id, verdict=verdict, reason=reason, results=results
    )
