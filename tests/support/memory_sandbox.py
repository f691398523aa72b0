"""An in-memory stand-in for a Sandbox, for the agent loop's millisecond tests.

It executes nothing: files live in a dict, the tool's own plumbing commands (finding AGENTS.md,
inspecting paths, mkdir/rm, the final git commit) are answered from that dict, and any other
command gets the reply of `on_command(command, cwd)` (default: exit 0, no output). Behaviour that
depends on a real shell is tested against the Docker sandbox in tests/agent/test_real_sandbox.py.
"""

from __future__ import annotations

import posixpath
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field

from tasks.agent.instructions import FIND_AGENTS_FILES
from tasks.sandbox.base import (
    EgressRecord,
    ExecResult,
    OnOutput,
    OutputChunk,
    Phase,
    SandboxError,
    StartReport,
)


@dataclass
class MemorySandbox:
    files: dict[str, str] = field(default_factory=dict)
    symlinks: set[str] = field(default_factory=set)
    read_only: bool = False
    on_command: Callable[[str, str], ExecResult] = lambda command, cwd: ExecResult(0, "")
    commands: list[tuple[str, str]] = field(default_factory=list)  # the model's commands only
    commits: int = 0
    cancelled: bool = False
    _committed: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._committed = dict(self.files)

    phase: Phase = "agent"

    def start(self) -> StartReport:
        return StartReport()

    def egress_records(self, since: int = 0) -> list[EgressRecord]:
        return []

    def stop(self) -> None:
        pass

    def cancel(self) -> None:
        self.cancelled = True

    def exec(self, command: str, *, cwd: str = "/workspace", timeout: float = 600,
             on_output: OnOutput | None = None, max_output_bytes: int = 1_000_000) -> ExecResult:
        if command == FIND_AGENTS_FILES:
            found = sorted((p for p in self.files if posixpath.basename(p) == "AGENTS.md"),
                           key=lambda p: (p.count("/"), p))
            return ExecResult(0, "".join(f"{p}\n" for p in found))
        if command.startswith("bash -c ") and " stat " in command:
            args = shlex.split(command)[4:]
            return ExecResult(0, "".join(f"{self._kind(p)}\t{p}\n" for p in args))
        if command.startswith("mkdir -p -- "):
            return ExecResult(0, "")
        if command.startswith("rm -f -- "):
            for path in shlex.split(command)[3:]:
                self._writable()
                self.files.pop(path, None)
            return ExecResult(0, "")
        if command.startswith("git add -A"):
            if self.read_only:
                return ExecResult(128, "fatal: read-only")
            if self.files == self._committed:
                return ExecResult(0, "NOTHING\n")
            self.commits += 1
            self._committed = dict(self.files)
            return ExecResult(0, "COMMITTED\n")
        self.commands.append((command, cwd))
        result = self.on_command(command, cwd)
        if on_output and result.output:
            on_output(OutputChunk("stdout", result.output, 0.01))
        return result

    def _kind(self, path: str) -> str:
        parts = path.split("/")
        if any("/".join(parts[: i + 1]) in self.symlinks for i in range(len(parts))):
            return "L"
        if path in self.files:
            return "F"
        if any(f.startswith(path + "/") for f in self.files):
            return "D"
        return "N"

    def read_file(self, path: str, *, max_bytes: int = 1_000_000) -> str:
        if path not in self.files:
            raise SandboxError(f"{path}: no such file")
        return self.files[path]

    def write_file(self, path: str, content: str) -> None:
        self._writable()
        self.files[path] = content

    def _writable(self) -> None:
        if self.read_only:
            raise SandboxError("the workspace is read-only")
