"""An attempt's setup output as one terminal chunk (`setup-<attempt id>`) on its live page."""

from __future__ import annotations

from tasks import event_kinds as kinds
from tasks import events
from tasks.sandbox.base import OutputChunk, SetupScript, StartReport


class SetupTerminal:
    """A `SetupOutput` publishing `command` when the first output arrives (named after the
    script that runs: setup, or maintenance on a warm start), the (already masked) `output`,
    then `command_end`. Without a script run (none set, warm image) nothing is shown."""

    def __init__(self, attempt_id: int) -> None:
        self.attempt_id = attempt_id
        self.chunk = f"setup-{attempt_id}"
        self._opened = False

    def _open(self, script: SetupScript) -> None:
        if not self._opened:
            self._opened = True
            events.publish(
                self.attempt_id,
                kinds.COMMAND,
                {
                    "call_id": self.chunk,
                    "chunk_id": self.chunk,
                    "command": f"({script} script)",
                    "cwd": "/workspace",
                },
            )

    def output(self, chunk: OutputChunk, script: SetupScript) -> None:
        self._open(script)
        events.publish(
            self.attempt_id,
            kinds.OUTPUT,
            {"chunk_id": self.chunk, "stream": chunk.stream, "text": chunk.text, "at": chunk.at},
        )

    def finish(self, report: StartReport) -> None:
        result = report.setup_result
        if result is None:
            return
        self._open(report.script or "setup")
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
