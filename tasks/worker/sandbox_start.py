"""Step 3, shared by attempts and "run setup now": start a sandbox whose setup (or
maintenance) script's output is masked before anyone sees it.

The secrets' values reach the sandbox in the spec (for the setup command alone) and appear
nowhere else: every chunk of output, and the error when start fails (it may quote the script's
output), is masked line by line first (tasks/sandbox/masking.py).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from tasks.sandbox.base import (
    EgressRecord,
    OutputChunk,
    Sandbox,
    SandboxError,
    SandboxSpec,
    SandboxStartError,
    SetupScript,
    StartReport,
)
from tasks.sandbox.masking import MaskedOutput, mask
from tasks.worker.sandbox_settings import make_sandbox


class SetupOutput(Protocol):
    """Where a setup script's (masked) output goes: an attempt's terminal, a setup run's log."""

    def output(self, chunk: OutputChunk, script: SetupScript) -> None:
        """A masked piece of the output of `script` (the setup or the maintenance script)."""

    def finish(self, report: StartReport) -> None:
        """The script ended (or never ran: `report.setup_result` is None)."""


@dataclass
class StartedSandbox:
    sandbox: Sandbox
    report: StartReport


def start_sandbox(
    spec: SandboxSpec,
    *,
    secrets: Iterable[str],
    setup_output: SetupOutput,
    watch: Callable[[Sandbox], AbstractContextManager[object]] | None = None,
    on_refused: Callable[[list[EgressRecord]], None] | None = None,
) -> StartedSandbox:
    """Make and start the sandbox for `spec`. `watch(sandbox)` surrounds the start (e.g. a
    cancel watch that stops it). On failure the sandbox is stopped and SandboxStartError (its
    text masked, its report saying what ran) is raised after `setup_output.finish` saw it.
    `on_refused(records)` gets the requests the egress proxy refused during setup, when there
    were any, before the sandbox stops on a failure (its records go with it) or once started."""
    values = list(secrets)
    made: list[Sandbox] = []

    def output(chunk: OutputChunk) -> None:
        setup_output.output(chunk, "maintenance" if made[0].phase == "maintenance" else "setup")

    masked = MaskedOutput(values, output)
    sandbox = make_sandbox(spec, on_setup_output=masked)
    made.append(sandbox)
    report = StartReport()
    try:
        with watch(sandbox) if watch is not None else contextlib.nullcontext():
            report = sandbox.start()
    except SandboxError as exc:
        _tell_refused(sandbox, on_refused)
        sandbox.stop()
        if isinstance(exc, SandboxStartError):
            report = exc.report
        # The message may quote the setup script's output.
        raise SandboxStartError(mask(str(exc), values), report) from None
    except BaseException:
        sandbox.stop()
        raise
    finally:
        masked.close()
        setup_output.finish(report)
    _tell_refused(sandbox, on_refused)
    return StartedSandbox(sandbox=sandbox, report=report)


def _tell_refused(sandbox: Sandbox, on_refused: Callable[[list[EgressRecord]], None] | None,
                  ) -> None:
    if on_refused is None:
        return
    try:
        refused = [r for r in sandbox.egress_records(0) if not r.allowed]
    except SandboxError:
        return  # nothing recorded (no proxy, or it is gone): nothing to tell
    if refused:
        on_refused(refused)
