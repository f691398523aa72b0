"""An in-memory stand-in for a Sandbox, for the agent loop's millisecond tests.

It executes nothing: files live in a dict, the tool's own plumbing commands are answered from
that dict, and any other command gets the reply of `on_command(command, cwd)` (default: exit 0, no
output). Behaviour that depends on a real shell is tested against the Docker sandbox in
tests/agent/test_real_sandbox.py.

apply_patch's one-exec program is told to take the step-by-step path (it needs a real
container's Python and file system).

Plumbing is recognised by what the command does, not by its exact text, so rewording a command in
the agent does not break these tests. The command is split into words (shell operators become
words of their own) and its first simple command decides:
- `find ... -name AGENTS.md ...`: the AGENTS.md files, shallowest first, one a line;
- `bash -c SCRIPT stat PATH...` (a script whose $0 is `stat`): "KIND<TAB>PATH" a path, KIND one of
  F (file), D (directory), L (a symlink on the way), N (absent);
- `mkdir ...`: nothing to do (directories are implied by the files' paths);
- `rm ... PATH...`: the files are deleted;
- tasks/agent/tree_exec.py's program (reading cited files; listing and reading the AGENTS.md
  files when the command starts with `mapfile`): its JSON answer from the dict;
- `git add ...` followed by a `commit` in the same command: "COMMITTED" when the files changed
  since the last commit, else "NOTHING" (the words the agent's commit command prints).
A model's command of one of these shapes is answered the same way (no test's model runs one).
"""

from __future__ import annotations

import base64
import json
import posixpath
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field

from tasks.agent import patch_exec, program_launch, tree_exec
from tasks.agent.instructions import AGENTS_FILE
from tasks.sandbox.base import (
    CredentialUse,
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
    # Notes the sandbox queues on its own (a real one: processes ended between commands).
    notes: list[str] = field(default_factory=list)
    _committed: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._committed = dict(self.files)

    phase: Phase = "agent"

    def start(self) -> StartReport:
        return StartReport()

    def egress_records(self, since: int = 0) -> list[EgressRecord]:
        return []

    def egress_allow(self, domains) -> None:  # noqa: ANN001
        raise SandboxError("no allowlist proxy runs for the agent now (internet off or on)")

    def credential_uses(self) -> list[CredentialUse]:
        return []

    def take_notes(self) -> list[str]:
        taken, self.notes = self.notes, []
        return taken

    def stop(self, *, remove_later: bool = False) -> None:
        pass

    def cancel(self) -> None:
        self.cancelled = True

    def exec(self, command: str, *, cwd: str = "/workspace", timeout: float = 600,
             on_output: OnOutput | None = None, max_output_bytes: int = 1_000_000) -> ExecResult:
        words = _words(command)
        argv = _first_command(words)
        program = argv[0] if argv else ""
        if program == "find" and AGENTS_FILE in argv:
            return ExecResult(0, "".join(f"{p}\n" for p in self._agents_files()))
        if program == "mapfile" and tree_exec.MARKER in command and AGENTS_FILE in command:
            return ExecResult(0, self._read_tree(self._agents_files(), keep_files=1_000_000))
        if argv[:2] == ["bash", "-c"] and argv[3:4] == ["stat"]:
            return ExecResult(0, "".join(f"{self._kind(p)}\t{p}\n" for p in argv[4:]))
        if command.startswith(program_launch.PYTHON) and patch_exec.MARKER in command:
            # apply_patch's one-exec program needs the container's Python and file system: say
            # so the way an image without it does, and the tool takes its step-by-step path.
            return ExecResult(0, patch_exec.MARKER + '{"error": "steps"}\n')
        if command.startswith(program_launch.PYTHON) and tree_exec.MARKER in command:
            # python3 -I -S -c BOOT marker code text | root keep_files keep_bytes paths...
            return ExecResult(0, self._read_tree(argv[11:], keep_files=int(argv[9])))
        if program == "mkdir":
            return ExecResult(0, "")
        if program == "rm":
            for path in _operands(argv):
                self._writable()
                self.files.pop(path, None)
            return ExecResult(0, "")
        if argv[:2] == ["git", "add"] and "commit" in words:
            return self._commit()
        self.commands.append((command, cwd))
        result = self.on_command(command, cwd)
        if on_output and result.output:
            on_output(OutputChunk("stdout", result.output, 0.01))
        return result

    def _commit(self) -> ExecResult:
        if self.read_only:
            return ExecResult(128, "fatal: read-only")
        if self.files == self._committed:
            return ExecResult(0, "NOTHING\n")
        self.commits += 1
        self._committed = dict(self.files)
        return ExecResult(0, "COMMITTED\n")

    def _agents_files(self) -> list[str]:
        return sorted((p for p in self.files if posixpath.basename(p) == AGENTS_FILE),
                      key=lambda p: (p.count("/"), p))

    def _read_tree(self, paths: list[str], *, keep_files: int) -> str:
        """What tree_exec's program prints: per path its kind, and a file's lines and text."""
        found = []
        for n, path in enumerate(paths):
            kind = self._kind(path)
            entry: dict[str, object] = {"kind": kind, "path": path}
            if kind == "F":
                data = self.files[path].encode()
                entry["lines"] = len(self.files[path].splitlines())
                if n < keep_files and len(data) <= tree_exec.KEEP_BYTES:
                    entry["data"] = base64.b64encode(data).decode()
            found.append(entry)
        return tree_exec.MARKER + json.dumps(found) + "\n"

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


_OPERATORS = {"&&", "||", ";", "|", "&"}


def _words(command: str) -> list[str]:
    """The command's shell words, each operator (`&&`, `|`, `;`...) a word of its own; none when
    the command does not parse (an unclosed quote): then it is not plumbing."""
    lexer = shlex.shlex(command, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    try:
        return list(lexer)
    except ValueError:
        return []


def _first_command(words: list[str]) -> list[str]:
    """The words of the first simple command: up to the first operator."""
    for index, word in enumerate(words):
        if word in _OPERATORS:
            return words[:index]
    return words


def _operands(argv: list[str]) -> list[str]:
    """A command's operands: its arguments that are not options (all of them after `--`)."""
    args = argv[1:]
    if "--" in args:
        return args[args.index("--") + 1:]
    return [a for a in args if not a.startswith("-")]
