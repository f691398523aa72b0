"""One command inside a running container, its output streamed as it arrives.

`StreamedExec` starts the command with an exec of its own (as a process group of its own, stdin
closed), hands chunks to an `OutputCollector`, and lets its owner poll for timeouts,
cancellation and limits while it runs. `QueuedRun` is what it shares with a command run by the
resident helper (helper.py): output arrives on a queue a reader thread fills. Killing is the
owner's job: it knows which user runs what and how to restore the container.
"""

from __future__ import annotations

import queue
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

from tasks.sandbox.output import OutputCollector

# Runs `$1` with bash in a process group of its own (set -m), stdin from /dev/null, and writes
# the group id to a file so a later command can kill the whole group. The wrapper's own stderr
# goes to /dev/null (job-control chatter); the command's goes where it should (fd 3).
WRAPPER = (
    "exec 3>&2 2>/dev/null; set -m; "
    'bash -c "$1" </dev/null 2>&3 3>&- & pid=$!; '
    'echo "$pid" > "/tmp/.codexweb-exec-$2"; '
    'wait "$pid"; rc=$?; rm -f "/tmp/.codexweb-exec-$2"; exit "$rc"'
)


class QueuedRun:
    """A running command whose output a reader thread puts on a queue: ("stdout"|"stderr",
    bytes), ("error", exception), then ("eof", None) once."""

    def __init__(self, collector: OutputCollector) -> None:
        self.collector = collector
        self._queue: queue.Queue[tuple[str, bytes | BaseException | None]] = queue.Queue()
        self.done = False
        self.stream_error: BaseException | None = None

    def pump(self, wait: float) -> bool:
        """Deliver whatever arrives within `wait` seconds; True once the output has ended."""
        deadline = time.monotonic() + max(wait, 0)
        while not self.done:
            remaining = deadline - time.monotonic()
            due = self.collector.flush_in()  # gathered output is delivered on time
            try:
                kind, data = self._queue.get(
                    timeout=max(remaining if due is None else min(remaining, due), 0.001)
                )
            except queue.Empty:
                self.collector.flush_due()
                if time.monotonic() >= deadline:
                    return False
                continue
            if kind == "eof":
                self.done = True
                self.collector.finish()
            elif kind == "error":
                assert isinstance(data, BaseException)
                self.stream_error = data
            else:
                assert isinstance(data, bytes)
                self.collector.feed(kind, data)  # type: ignore[arg-type]
            if remaining <= 0:
                break
        return self.done

    def exit_code(self) -> int | None:
        """The command's exit status once it ended (128 + N when signal N killed it), None when
        nobody can say."""
        raise NotImplementedError


class StreamedExec(QueuedRun):
    def __init__(
        self,
        api: Any,
        container_id: str,
        command: str,
        *,
        user: str,
        cwd: str,
        environment: Mapping[str, str],
        collector: OutputCollector,
    ) -> None:
        super().__init__(collector)
        self.api = api
        self.container_id = container_id
        self.token = uuid.uuid4().hex
        self.exec_id = api.exec_create(
            container_id,
            ["bash", "-c", WRAPPER, "codexweb-exec", command, self.token],
            stdout=True,
            stderr=True,
            stdin=False,
            tty=False,
            user=user,
            workdir=cwd,
            environment=dict(environment),
        )["Id"]
        stream = api.exec_start(self.exec_id, stream=True, demux=True)
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    @property
    def pid_file(self) -> str:
        return f"/tmp/.codexweb-exec-{self.token}"  # noqa: S108 — inside the container

    def _read(self, stream: Iterator[tuple[bytes | None, bytes | None]]) -> None:
        try:
            for out, err in stream:
                if out:
                    self._queue.put(("stdout", out))
                if err:
                    self._queue.put(("stderr", err))
        except Exception as exc:  # the connection broke (container killed): report, then end
            self._queue.put(("error", exc))
        finally:
            self._queue.put(("eof", None))

    def exit_code(self) -> int | None:
        try:
            info = self.api.exec_inspect(self.exec_id)
        except Exception:
            return None
        if info.get("Running"):
            return None
        code = info.get("ExitCode")
        return int(code) if code is not None else None
