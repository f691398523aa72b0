"""One attempt from claim to finish on a worker: prepare, setup, agent, collect.

The Celery job (tasks/jobs.py) calls `attempt_run` with a claimed attempt's id. Everything slow
happens here, never in a request. Tokens are used on the host only (the mirror fetch); the
container gets a pristine checkout, and only text comes back.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from django.conf import settings

from repos.environments import environment_snapshot, secret_values_for_setup, secret_versions
from repos.github import GitHubError
from repos.installation import install_id
from repos.mirror import GitError, git_env
from repos.models import Repository
from repos.workspace import PrepareError, workspace_checkout
from tasks import event_kinds as kinds
from tasks import events
from tasks.jobs import attempt_fail
from tasks.models import Attempt, Mode, Status
from tasks.resilience import with_db_retry
from tasks.sandbox.base import ExecResult, OutputChunk, Sandbox, SandboxError
from tasks.sandbox.masking import MaskedOutput, mask
from tasks.worker.agent import cancel_watch, finish_attempt, run_agent_for_attempt
from tasks.worker.sandbox_settings import make_sandbox, spec_from_snapshot

logger = logging.getLogger(__name__)


def attempt_run(attempt_id: int) -> None:
    """Run a claimed (running) attempt to its end; every path records how it ended. What it
    does not expect (and a database that stays away) it raises to the job (tasks/jobs.py),
    which ends the attempt."""
    attempt = Attempt.objects.select_related("task__repository", "requested_by", "parent").get(
        pk=attempt_id
    )
    try:
        with tempfile.TemporaryDirectory(prefix=f"codexweb-attempt-{attempt_id}-") as tmp:
            workspace, base, setup_tree = _prepare_workspace(attempt, Path(tmp))
            if _cancelled(attempt_id):
                return
            _run_in_sandbox(attempt, workspace, base, setup_tree)
    except (PrepareError, SandboxError, GitError, GitHubError) as exc:
        attempt_fail(attempt_id, _sentence(str(exc)))


def _sentence(text: str) -> str:
    """A sandbox reason ("the container engine restarted …") as the start of a sentence."""
    text = text.strip()
    return text[:1].upper() + text[1:]


def _cancelled(attempt_id: int) -> bool:
    return with_db_retry(
        lambda: Attempt.objects.filter(pk=attempt_id, status=Status.CANCELLED).exists(),
        what="check for cancellation",
    )


def _phase(attempt_id: int, phase: str, message: str) -> None:
    events.publish(attempt_id, kinds.PHASE, {"phase": phase, "message": message})


def _prepare_workspace(attempt: Attempt, folder: Path) -> tuple[Path, str, Path | None]:
    """Update the host mirror and check out the base under `folder`. The fetch uses the token of
    the person who started this attempt (`requested_by`: the author, or whoever followed up or
    retried), host-side only, after re-checking their access; never anyone else's. Returns the
    workspace, the base commit the attempt's patch is taken against, and for a follow-up the
    pristine checkout of the base that setup runs on (else None).

    A follow-up starts from its parent's final tree: the parent's patch is applied on top and
    committed, while the base stays the branch's commit, so the follow-up's patch holds the
    whole change (what a pull request from it needs), not only the latest step. The setup script
    never runs on that tree: the agent wrote it, and setup holds the secrets.
    """
    dest = folder / "workspace"
    task = attempt.task
    repository: Repository = task.repository
    _phase(
        attempt.pk,
        "prepare",
        f"Fetching {repository.full_name} and checking out {task.base_branch}.",
    )
    commit = workspace_checkout(
        repository=repository,
        user=attempt.requested_by,
        ref=task.base_branch,
        dest=dest,
        need_push=task.mode == Mode.CODE,
    )
    setup_tree = None
    if attempt.parent is not None and attempt.parent.patch.strip():
        setup_tree = folder / "setup-tree"
        shutil.copytree(dest, setup_tree, symlinks=True)
        _apply_parent_patch(dest, attempt.parent.patch)
    _phase(attempt.pk, "prepare", f"Checked out {commit[:12]}.")
    return dest, commit, setup_tree


def _apply_parent_patch(workspace: Path, patch: str) -> None:
    result = subprocess.run(
        ["git", "-c", "core.hooksPath=/dev/null", "apply", "--whitespace=nowarn", "-"],
        cwd=workspace,
        input=patch,
        text=True,
        capture_output=True,
        timeout=120,
        env=git_env(),
        check=False,
    )
    if result.returncode != 0:
        raise PrepareError(
            "The earlier attempt's changes no longer apply to this branch: "
            + (result.stderr.strip() or "git apply failed")
        )
    for args in (
        ["add", "-A"],
        [
            "-c",
            "user.name=codexweb",
            "-c",
            "user.email=codexweb@localhost",
            "commit",
            "-q",
            "--no-verify",
            "-m",
            "Earlier attempt's changes",
        ],
    ):
        subprocess.run(
            ["git", "-c", "core.hooksPath=/dev/null", *args],
            cwd=workspace,
            capture_output=True,
            timeout=120,
            env=git_env(),
            check=True,
        )


def _run_in_sandbox(attempt: Attempt, workspace: Path, base: str, setup_tree: Path | None) -> None:
    task = attempt.task
    # The environment as it was when the attempt was claimed: later edits don't reach it.
    snapshot = attempt.environment_snapshot
    if not snapshot:
        snapshot = environment_snapshot(task.repository)
        Attempt.objects.filter(pk=attempt.pk).update(environment_snapshot=snapshot)
    secrets = secret_values_for_setup(snapshot["environment_id"], snapshot["secret_names"])
    spec = spec_from_snapshot(
        snapshot,
        attempt_id=attempt.pk,
        workspace=workspace,
        read_only=task.mode == Mode.ASK,
        secrets=secrets,
        install_id=install_id(),
        # The code setup runs: the base commit's own tree, also for a follow-up (whose
        # workspace holds its parent's changes on top).
        commit=base,
        setup_workspace=setup_tree,
        secret_versions=secret_versions(snapshot["environment_id"], snapshot["secret_names"]),
        labels={"org.codexweb.task": str(task.pk)},
    )
    setup_log = SetupOutputPublisher(attempt.pk, secrets.values())
    sandbox = make_sandbox(spec, on_setup_output=setup_log.output)
    setup_log.script = lambda: (
        "maintenance" if getattr(sandbox, "maintenance_ran", False) else "setup"
    )
    try:
        _phase(
            attempt.pk,
            "setup",
            "Starting the container"
            + (" and running the setup script." if spec.setup_script.strip() else "."),
        )
        try:
            # A cancel while the container starts or setup runs stops it there.
            with cancel_watch(attempt.pk, sandbox):
                sandbox.start()
        except SandboxError as exc:
            # The message may quote the setup script's output.
            raise SandboxError(mask(str(exc), secrets.values())) from None
        finally:
            setup_log.finish(getattr(sandbox, "setup_result", None))
        del secrets, setup_log
        with cancel_watch(attempt.pk, sandbox):
            result = run_agent_for_attempt(attempt.pk, sandbox, base_commit=base)
            _publish_egress(attempt.pk, sandbox)
            finish_attempt(attempt.pk, result, sandbox=sandbox, base_commit=base)
    finally:
        sandbox.stop()


class SetupOutputPublisher:
    """Publishes the setup script's output live as one terminal chunk (`setup-<attempt id>`):
    `command` when the first output arrives, masked `output` lines, then `command_end`. On a
    warm start the maintenance script's output goes the same way; `script` names which ran.

    Secret values are masked line by line before anything is published (see
    tasks/sandbox/masking.py); `finish` flushes the last line and ends the chunk.
    """

    def __init__(self, attempt_id: int, secrets: Iterable[str]) -> None:
        self.attempt_id = attempt_id
        self.chunk = f"setup-{attempt_id}"
        self.output = MaskedOutput(secrets, self._publish_output)
        self._opened = False
        self.script: Callable[[], str] = lambda: "setup"

    def _open(self) -> None:
        if not self._opened:
            self._opened = True
            events.publish(
                self.attempt_id,
                kinds.COMMAND,
                {
                    "call_id": self.chunk,
                    "chunk_id": self.chunk,
                    "command": f"({self.script()} script)",
                    "cwd": "/workspace",
                },
            )

    def _publish_output(self, chunk: OutputChunk) -> None:
        self._open()
        events.publish(
            self.attempt_id,
            kinds.OUTPUT,
            {"chunk_id": self.chunk, "stream": chunk.stream, "text": chunk.text, "at": chunk.at},
        )

    def finish(self, result: ExecResult | None) -> None:
        """End the chunk; without a result (no setup script, warm image) nothing is shown."""
        self.output.close()
        if result is None:
            return
        self._open()
        events.publish(
            self.attempt_id,
            kinds.COMMAND_END,
            {
                "call_id": self.chunk,
                "chunk_id": self.chunk,
                "exit_code": result.exit_code,
                "duration": result.duration,
                "truncated": result.truncated,
                "timed_out": result.timed_out,
                "error": result.error,
            },
        )


def _publish_egress(attempt_id: int, sandbox: Sandbox) -> None:
    records = getattr(sandbox, "egress_records", None)
    if records is None:
        return
    for record in records()[: settings.EGRESS_EVENTS_MAX]:
        events.publish(
            attempt_id,
            kinds.EGRESS,
            {"domain": record.host, "method": record.method, "allowed": record.allowed},
        )
