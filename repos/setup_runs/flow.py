"""One "run setup now" on a worker: check out the default branch, start a sandbox that runs the
environment's setup script, keep its masked output on the run, record how it ended.

Secret values are masked line by line before anything is written (tasks/sandbox/masking.py); the
requester's token is used for the host-side fetch only. The sandbox is always stopped. A run that
succeeds leaves the warm image in the cache, so the next attempt starts from it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.db.models import F, TextField, Value
from django.db.models.functions import Concat

from repos.environments.services import (
    environment_snapshot,
    secret_values_for_setup,
    secret_versions,
)
from repos.git.mirror import GitError
from repos.git.workspace import PrepareError, workspace_checkout
from repos.github.client import GitHubError
from repos.installation.services import install_id
from repos.setup_runs.models import SetupRun
from repos.setup_runs.services import setup_run_claim, setup_run_finish
from tasks.sandbox.base import (
    EgressRecord,
    OutputChunk,
    SandboxError,
    SandboxOwner,
    SandboxStartError,
    SetupScript,
    StartReport,
)
from tasks.sandbox.snapshot import EnvironmentSnapshot
from tasks.worker.host_folder import HostFolder
from tasks.worker.sandbox_settings import spec_from_snapshot
from tasks.worker.sandbox_start import start_sandbox

# Refused hosts named in the setup log's note; the rest are counted.
REFUSED_SHOWN = 5

logger = logging.getLogger(__name__)

MAX_LOG_BYTES = 1_000_000
FLUSH_SECONDS = 0.5


class SetupRunLog:
    """Appends (already masked) text to a run's log, writing to the database at most every
    `interval` seconds, and at `flush()`. Keeps `max_bytes` of UTF-8 text; past that a note says
    the log was cut and the rest is dropped."""

    def __init__(
        self,
        run_id: int,
        *,
        max_bytes: int = MAX_LOG_BYTES,
        interval: float = FLUSH_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.run_id = run_id
        self.max_bytes = max_bytes
        self.interval = interval
        self.clock = clock
        self.kept = 0
        self.truncated = False
        self._pending: list[str] = []
        self._last_flush = clock()

    def output(self, chunk: OutputChunk, script: SetupScript = "setup") -> None:
        """A `SetupOutput` (tasks/worker/sandbox_start.py): masked setup output."""
        self.write(chunk.text)

    def finish(self, report: StartReport) -> None:
        """The script ended: what is pending is written."""
        self.flush()

    def note(self, message: str) -> None:
        """A line of our own (what the worker is doing), shown between brackets."""
        self.write(f"[{message}]\n")
        self.flush()

    def write(self, text: str) -> None:
        if self.truncated or not text:
            return
        encoded = text.encode()
        room = self.max_bytes - self.kept
        if len(encoded) > room:
            text = encoded[: max(room, 0)].decode("utf-8", errors="ignore")
            self.truncated = True
            text += f"\n[log truncated: only the first {self.max_bytes} bytes are kept]\n"
        self.kept += len(text.encode())
        self._pending.append(text)
        if self.truncated or self.clock() - self._last_flush >= self.interval:
            self.flush()

    def flush(self) -> None:
        self._last_flush = self.clock()
        if not self._pending:
            return
        text, self._pending = "".join(self._pending), []
        SetupRun.objects.filter(pk=self.run_id).update(
            log=Concat(F("log"), Value(text), output_field=TextField()),
            log_truncated=self.truncated,
        )


def setup_run_execute(run_id: int) -> None:
    """Claim a queued run and run it to its end; every path records how it ended."""
    if not setup_run_claim(run_id=run_id):
        return
    run = SetupRun.objects.select_related("environment__repository", "requested_by").get(pk=run_id)
    log = SetupRunLog(run_id)
    try:
        _run(run, log)
    except (PrepareError, GitError, GitHubError, SandboxError) as exc:
        log.note(str(exc))
        setup_run_finish(run_id=run_id, succeeded=False, error=str(exc))
    except Exception:
        logger.exception("setup run %s failed unexpectedly", run_id)
        setup_run_finish(
            run_id=run_id,
            succeeded=False,
            error="The worker hit an internal error; the log shows how far it got.",
        )
    finally:
        log.flush()


def refused_note(records: list[EgressRecord]) -> str:
    """The setup log's line about requests the egress proxy refused: tools only print "403
    Forbidden" or retry in silence, so without it a person cannot tell why an install failed
    (or "succeeded" without its packages). One reason per host, as the proxy gave it."""
    reasons: dict[str, str] = {}
    for record in records:
        reasons.setdefault(f"{record.host}:{record.port}", record.reason)
    shown = [f"{target} ({why})" for target, why in list(reasons.items())[:REFUSED_SHOWN]]
    more = len(reasons) - len(shown)
    listed = "; ".join(shown) + (f"; and {more} more" if more else "")
    count = f"{len(records)} request{'s' if len(records) != 1 else ''}"
    advice = (
        " An address that is not public is opened by the operator's"
        " SANDBOX_EGRESS_ALLOW_PRIVATE setting."
        if any("public addresses only" in why for why in reasons.values())
        else " Allow what setup needs under the setup phase's internet access on this page."
    )
    return f"The egress proxy refused {count} during setup: {listed}.{advice}"


def _run(run: SetupRun, log: SetupRunLog) -> None:
    repository = run.environment.repository
    if run.requested_by is None:
        raise PrepareError("The person who asked for this run no longer has an account.")
    log.note(f"Fetching {repository.full_name} and checking out {run.branch}.")
    with HostFolder(prefix=f"codexweb-setup-{run.pk}-") as folder:
        workspace = folder.path / "workspace"
        commit = workspace_checkout(
            repository=repository, user=run.requested_by, ref=run.branch, dest=workspace
        )
        SetupRun.objects.filter(pk=run.pk).update(commit=commit)
        # The environment as it is now, like an attempt that starts now would see it.
        environment = EnvironmentSnapshot.from_json(environment_snapshot(repository))
        names = list(environment.secret_names)
        secrets = secret_values_for_setup(environment.environment_id, names)
        spec = spec_from_snapshot(
            environment,
            owner=SandboxOwner.setup_run(run.pk),
            workspace=workspace,
            read_only=False,
            secrets=secrets,
            install_id=install_id(),
            commit=commit,
            secret_versions=secret_versions(environment.environment_id, names),
        )
        log.note(
            f"Checked out {commit[:12]}. Starting the container and running the setup script."
        )
        failure = ""
        try:
            started = start_sandbox(spec, secrets=secrets.values(), setup_output=log,
                                    on_refused=lambda records: log.note(refused_note(records)))
        except SandboxStartError as exc:
            failure, report = str(exc), exc.report
        else:
            report = started.report
            folder.release()  # removed while the container is
            started.sandbox.stop()
    result = report.setup_result
    warm_hit, warm_image = report.warm_hit, report.warm_image
    maintenance_ran = report.script == "maintenance"
    exit_code = result.exit_code if result is not None else None
    script = "maintenance script" if maintenance_ran else "setup script"
    if result is not None and result.exit_code != 0:
        if result.exit_code is None:
            error = f"The {script} did not finish: {result.error or 'it was stopped'}."
        else:
            error = f"The {script} failed with exit code {result.exit_code}."
        log.note(error)
        setup_run_finish(run_id=run.pk, succeeded=False, error=error, exit_code=exit_code)
        return
    if failure:
        error = f"The sandbox could not run the setup: {failure}"
        log.note(error)
        setup_run_finish(run_id=run.pk, succeeded=False, error=error, exit_code=exit_code)
        return
    if maintenance_ran:
        log.note(
            "A current warm image for this setup script exists, so the maintenance script ran on "
            "it instead. Reset the cache to run the setup script again."
        )
    elif warm_hit:
        log.note(
            "A current warm image for this setup script exists, so nothing had to run; attempts "
            "start from it. Reset the cache to run the script again."
        )
    elif warm_image:
        log.note(
            "Setup succeeded. The prepared container was saved: the next attempt starts warm"
            f" when it starts from this commit ({commit[:12]})."
        )
    else:
        log.note("Setup succeeded. No warm image was kept (the cache expiry is 0 hours).")
    setup_run_finish(
        run_id=run.pk,
        succeeded=True,
        exit_code=exit_code,
        warm_hit=warm_hit,
        warm_image=warm_image,
    )
