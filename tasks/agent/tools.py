"""The agent's tools: `shell` (every task) and `apply_patch` (Code tasks only).

Arguments are validated with pydantic; anything wrong (bad JSON, a missing field, an unknown
tool, a patch that does not apply, a path that leaves /workspace) becomes a `ToolFailure`
whose message goes back to the model so it can correct itself.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError, field_validator

from tasks import event_kinds as kinds
from tasks.agent import patch_exec
from tasks.agent.budgets import trim_output
from tasks.agent.config import AgentConfig, AgentSpec, Mode
from tasks.agent.conversation import ToolCall
from tasks.agent.instructions import WORKSPACE, AgentsFiles, agents_reminder
from tasks.agent.patch import ApplyError, Patch, PatchError, compute_changes, parse_patch
from tasks.agent.records import TerminalChunk, ToolCallRecord
from tasks.agent.wire import ToolSpec
from tasks.sandbox.base import OutputChunk, Sandbox, SandboxError, SandboxLost

OnEvent = Callable[[str, dict[str, Any]], None]

SHELL = ToolSpec(
    name="shell",
    description=(
        "Run a bash command in the container and get its exit code and output. The result "
        "starts with `Chunk ID: <id>`; cite output as 【T:<id>†L<first>-L<last>】."
    ),
    parameters={
        "type": "object",
        "properties": {
            "command": {"type": "string", "description": "The bash command line to run."},
            "workdir": {
                "type": "string",
                "description": "Directory to run in, relative to /workspace (default: /workspace).",
            },
            "timeout": {"type": "number", "description": "Seconds before the command is killed."},
        },
        "required": ["command"],
    },
)

APPLY_PATCH = ToolSpec(
    name="apply_patch",
    description=(
        "Edit files with a patch in the Codex format: '*** Begin Patch', then '*** Add File: "
        "path', '*** Update File: path' (optionally '*** Move to: path') with '@@' context hunks, "
        "or '*** Delete File: path', then '*** End Patch'. Paths are relative to /workspace."
    ),
    parameters={
        "type": "object",
        "properties": {"patch": {"type": "string", "description": "The whole patch text."}},
        "required": ["patch"],
    },
)


def tool_specs(mode: Mode) -> list[ToolSpec]:
    """Only Code tasks get a write tool (Ask and Review are read-only)."""
    return [SHELL, APPLY_PATCH] if mode == "code" else [SHELL]


class ToolFailure(Exception):
    """A tool call the model must fix; the message is shown to it."""


class PartialPatch(Exception):
    """Some files of a patch were written before a write failed."""


class ShellArgs(BaseModel):
    model_config = ConfigDict(extra="ignore")

    command: str | list[str]
    workdir: str | None = None
    timeout: float | None = Field(default=None, gt=0)

    @field_validator("command")
    @classmethod
    def _not_empty(cls, value: str | list[str]) -> str | list[str]:
        parts = [value] if isinstance(value, str) else value
        if not any(part.strip() for part in parts):
            raise ValueError("the command is empty")
        return value

    @property
    def command_line(self) -> str:
        if isinstance(self.command, str):
            return self.command
        # ["bash", "-lc", "..."] is how Codex models often send it; run the script itself.
        if len(self.command) == 3 and self.command[0] in ("bash", "sh") and self.command[1] in (
            "-lc", "-c"
        ):
            return self.command[2]
        return shlex.join(self.command)


class PatchArgs(BaseModel):
    model_config = ConfigDict(extra="ignore")

    patch: str = Field(validation_alias=AliasChoices("patch", "input"))


def parse_arguments(model: type[BaseModel], call: ToolCall) -> Any:
    """Validated arguments of `call`, or ToolFailure saying what is wrong with them."""
    try:
        data = _loads_leniently(call.arguments)
    except json.JSONDecodeError as exc:
        raise ToolFailure(
            f"The arguments of {call.name} are not valid JSON ({exc.msg} at character "
            f"{exc.pos}). Send a JSON object, for example {_example(call.name)}."
        ) from exc
    if not isinstance(data, dict):
        raise ToolFailure(f"The arguments of {call.name} must be a JSON object, "
                          f"for example {_example(call.name)}.")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}"
            for e in exc.errors()
        )
        raise ToolFailure(f"Invalid arguments for {call.name}: {problems}.") from exc


def _loads_leniently(arguments: str) -> Any:
    """The arguments as local models send them: one JSON object, possibly followed by stray
    text that holds no second object (a closing tag, an extra brace), possibly encoded twice
    (a JSON string holding the object). Anything else raises JSONDecodeError."""
    text = (arguments or "").strip() or "{}"
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.msg != "Extra data":
            raise
        data, end = json.JSONDecoder().raw_decode(text)
        if not isinstance(data, dict) or "{" in text[end:]:
            raise
    if isinstance(data, str) and data.strip().startswith("{"):
        try:
            return json.loads(data)
        except json.JSONDecodeError:
            pass
    return data


def _example(name: str) -> str:
    return '{"patch": "*** Begin Patch\\n...\\n*** End Patch"}' if name == "apply_patch" else (
        '{"command": "ls -la", "workdir": "src"}'
    )


@dataclass
class Toolbox:
    """Runs tool calls in one attempt's sandbox and records what happened."""

    sandbox: Sandbox
    config: AgentConfig
    mode: Mode
    attempt_id: int
    emit: OnEvent
    agents: AgentsFiles
    remaining_seconds: Callable[[], float]
    chunks: dict[str, TerminalChunk] = field(default_factory=dict)
    edits_since_last_command: bool = False
    sandbox_failures: int = 0  # consecutive; the loop gives up after a few
    sandbox_lost: str = ""  # why the container is gone (engine restarted); the loop gives up
    unusable_calls: int = 0  # consecutive calls of no offered tool or with unreadable arguments

    @classmethod
    def for_attempt(cls, spec: AgentSpec, sandbox: Sandbox, *, emit: OnEvent,
                    agents: AgentsFiles, remaining_seconds: Callable[[], float]) -> Toolbox:
        """The tools of the attempt `spec` describes (its configuration, mode and id)."""
        return cls(sandbox, spec.config, spec.mode, spec.attempt_id, emit, agents,
                   remaining_seconds)

    def run(self, call: ToolCall) -> ToolCallRecord:
        """Run one tool call. Never raises for the model's mistakes; they become observations."""
        record = ToolCallRecord(call.call_id, call.name, call.arguments)
        names = [spec.name for spec in tool_specs(self.mode)]
        usable = False
        try:
            if call.name == "shell":
                shell_args = parse_arguments(ShellArgs, call)
                usable = True
                self._shell(call, shell_args, record)
            elif call.name == "apply_patch" and "apply_patch" in names:
                patch_args = parse_arguments(PatchArgs, call)
                usable = True
                self._apply_patch(call, patch_args, record)
            elif call.name == "apply_patch":
                task = "a Review" if self.mode == "review" else "an Ask"
                raise ToolFailure(
                    f"apply_patch is not available in {task} task: the workspace is read-only."
                )
            else:
                raise ToolFailure(
                    f"Unknown tool {call.name!r}. Available tools: {', '.join(names)}."
                )
        except ToolFailure as exc:
            record.ok = False
            record.observation = f"Error: {exc}"
            self.emit(kinds.TOOL_ERROR, {"call_id": call.call_id, "tool": call.name,
                                         "error": str(exc)})
        self.unusable_calls = 0 if usable else self.unusable_calls + 1
        return record

    # --- shell -----------------------------------------------------------------------------

    def _shell(self, call: ToolCall, args: ShellArgs, record: ToolCallRecord) -> None:
        cwd = resolve_workdir(args.workdir)
        remaining = max(1.0, self.remaining_seconds())
        timeout = min(args.timeout or self.config.shell_default_timeout,
                      self.config.shell_max_timeout, remaining)
        chunk_id = self._new_chunk_id()
        command = args.command_line
        record.chunk_id = chunk_id
        self.emit(kinds.COMMAND, {"call_id": call.call_id, "chunk_id": chunk_id,
                                  "command": command, "cwd": cwd})
        streamed = False

        def on_output(piece: OutputChunk) -> None:
            nonlocal streamed
            streamed = True
            self.emit(kinds.OUTPUT, {"chunk_id": chunk_id, "stream": piece.stream,
                                     "text": piece.text, "at": piece.at})

        started = time.monotonic()
        try:
            result = self.sandbox.exec(command, cwd=cwd, timeout=timeout, on_output=on_output,
                                       max_output_bytes=self.config.max_output_bytes)
        except SandboxError as exc:
            self.sandbox_failures += 1
            self.sandbox_lost = lost_reason(exc)
            self.emit(kinds.COMMAND_END, {"call_id": call.call_id, "chunk_id": chunk_id,
                                          "exit_code": None,
                                          "duration": time.monotonic() - started,
                                          "truncated": False, "timed_out": False,
                                          "error": str(exc)})
            self.chunks[chunk_id] = TerminalChunk(chunk_id, command, cwd, "", None)
            record.ok = False
            record.observation = f"Chunk ID: {chunk_id}\nThe command could not run: {exc}"
            return
        self.sandbox_failures = 0
        if not streamed and result.output:
            self.emit(kinds.OUTPUT, {"chunk_id": chunk_id, "stream": "stdout",
                                     "text": result.output, "at": result.duration})
        self.emit(kinds.COMMAND_END, {"call_id": call.call_id, "chunk_id": chunk_id,
                                      "exit_code": result.exit_code, "duration": result.duration,
                                      "truncated": result.truncated,
                                      "timed_out": result.timed_out, "error": result.error})
        self.chunks[chunk_id] = TerminalChunk(chunk_id, command, cwd, result.output,
                                              result.exit_code, result.timed_out)
        self.edits_since_last_command = False
        record.ok = result.exit_code == 0
        lines = result.output.splitlines()
        header = [f"Chunk ID: {chunk_id}",
                  f"Exit code: {result.exit_code if result.exit_code is not None else 'none'}"]
        if result.timed_out:
            header.append(f"Timed out after {timeout:.0f} seconds; the command was killed.")
        if result.error and not result.timed_out:
            header.append(f"Error: {result.error}")
        header.append(f"Wall time: {result.duration:.1f} seconds")
        header.append(f"Output ({len(lines)} lines):")
        record.observation = "\n".join(header) + "\n" + trim_output(
            result.output, self.config.context_output_chars
        )
        record.observation += self._agents_note([posixpath.relpath(cwd, WORKSPACE)])

    def _new_chunk_id(self) -> str:
        n = len(self.chunks)
        while True:
            chunk_id = hashlib.sha256(f"{self.attempt_id}:{n}".encode()).hexdigest()[:6]
            if chunk_id not in self.chunks:
                return chunk_id
            n += 1

    # --- apply_patch -----------------------------------------------------------------------

    def _apply_patch(self, call: ToolCall, args: PatchArgs, record: ToolCallRecord) -> None:
        try:
            patch = parse_patch(args.patch)
            record.files = patch.paths
            changes = self._apply_in_one_exec(args.patch)
            if changes is None:
                changes = self._apply_in_steps(patch)
        except (PartialPatch, PatchError, ApplyError, SandboxError) as exc:
            self.sandbox_lost = lost_reason(exc)
            self.emit(kinds.PATCH, {"call_id": call.call_id, "ok": False,
                                    "files": record.files, "error": str(exc)})
            record.ok = False
            if isinstance(exc, PartialPatch):  # it says which files were written
                record.observation = f"Error: {exc}"
            else:
                record.observation = f"Error: the patch was not applied; no file was changed. {exc}"
            return
        self.edits_since_last_command = True
        self.emit(kinds.PATCH, {"call_id": call.call_id, "ok": True, "files": record.files,
                                "error": ""})
        summary = ", ".join(
            f"{'deleted' if deleted else 'wrote'} {path}" for path, deleted in changes
        )
        record.observation = f"Patch applied: {summary}." + self._agents_note(record.files)

    def _apply_in_one_exec(self, text: str) -> list[tuple[str, bool]] | None:
        """Apply the patch inside the container in one exec (patch_exec.py): (path, deleted)
        per change, or None when the patch must take the step-by-step path."""
        line = patch_exec.command(text, WORKSPACE)
        if line is None:
            return None
        result = self.sandbox.exec(line, cwd=WORKSPACE, timeout=60, max_output_bytes=1_000_000)
        answer = patch_exec.outcome(result.exit_code, result.output, result.error)
        if answer.error == "":
            return list(answer.changes)
        if answer.error == "steps":
            return None
        failure: Exception
        if answer.error == "patch":
            failure = PatchError(answer.message)
        elif answer.error == "apply":
            failure = ApplyError(answer.message)
        elif answer.error == "link":
            failure = ApplyError(LINK.format(path=answer.path))
        elif answer.error == "other":
            failure = ApplyError(f"{answer.path} is not a regular file.")
        elif answer.error == "read":
            failure = ApplyError(f"Could not read {answer.path}: {answer.message}")
        else:
            failure = SandboxError(f"cannot write {answer.path}: {answer.message}")
        if answer.done:
            raise self._partial(list(answer.done), failure)
        raise failure

    def _apply_in_steps(self, patch: Patch) -> list[tuple[str, bool]]:
        """Inspect, read, write and delete with one exec each: for a patch too large for one
        command line, or an image whose Python cannot run the one-exec program."""
        kinds_by_path = stat_paths(self.sandbox, patch.paths)
        for path, kind in kinds_by_path.items():
            if kind == "L":
                raise ApplyError(LINK.format(path=path))
            if kind in ("D", "O"):
                raise ApplyError(f"{path} is not a regular file.")
        contents = {
            path: self._read(path) for path, kind in kinds_by_path.items() if kind == "F"
        }
        changes = compute_changes(patch, contents.get)
        self._write(changes)
        return [(c.path, c.content is None) for c in changes]

    def _read(self, path: str) -> str:
        try:
            return self.sandbox.read_file(path)
        except SandboxError as exc:
            raise ApplyError(f"Could not read {path}: {exc}") from exc

    def _write(self, changes: list[Any]) -> None:
        """Write every change; if one fails after others were written, say which were."""
        writes = [c for c in changes if c.content is not None]
        deletes = [c.path for c in changes if c.content is None]
        parents = sorted({posixpath.dirname(c.path) for c in writes} - {""})
        if parents:
            _plumbing(self.sandbox, "mkdir -p -- " + " ".join(shlex.quote(p) for p in parents))
        done: list[str] = []
        try:
            for change in writes:
                self.sandbox.write_file(change.path, change.content)
                done.append(change.path)
            if deletes:
                _plumbing(self.sandbox, "rm -f -- " + " ".join(shlex.quote(p) for p in deletes))
        except SandboxError as exc:
            if not done:
                raise
            raise self._partial(done, exc) from exc

    def _partial(self, done: list[str], exc: Exception) -> PartialPatch:
        """Some files were written before `exc`: say which, so the model checks them."""
        self.edits_since_last_command = True
        partial = PartialPatch(
            f"the patch was only partly applied: {', '.join(done)} were written, then: "
            f"{exc}. Check the files with `git diff` before continuing."
        )
        partial.__cause__ = exc
        return partial

    def _agents_note(self, touched: list[str]) -> str:
        touched = [t if t != "." else "" for t in touched]
        new = self.agents.newly_applicable(touched)
        if not new:
            return ""
        return agents_reminder(new, self.agents.contents, limit=self.config.agents_md_max_chars)


LINK = (
    "{path} is or goes through a symbolic link; the patch tool does not write through "
    "symlinks. Edit the link's target by its real path."
)


def resolve_workdir(workdir: str | None) -> str:
    """The absolute working directory under /workspace; ToolFailure if it would leave it."""
    if not workdir or not workdir.strip():
        return WORKSPACE
    raw = workdir.strip()
    joined = posixpath.normpath(raw if raw.startswith("/") else posixpath.join(WORKSPACE, raw))
    if joined != WORKSPACE and not joined.startswith(WORKSPACE + "/"):
        raise ToolFailure(f"workdir {workdir!r} is outside /workspace; use a path inside it.")
    return joined


_STAT = (
    'for p in "$@"; do cur={root}; kind=""; IFS=/ read -ra parts <<< "$p"; '
    'for c in "${{parts[@]}}"; do cur="$cur/$c"; if [ -L "$cur" ]; then kind=L; break; fi; done; '
    'if [ -z "$kind" ]; then if [ -f "$cur" ]; then kind=F; elif [ -d "$cur" ]; then kind=D; '
    'elif [ -e "$cur" ]; then kind=O; else kind=N; fi; fi; printf "%s\\t%s\\n" "$kind" "$p"; done'
)


def stat_paths(sandbox: Sandbox, paths: list[str]) -> dict[str, str]:
    """For each relative path: "F" file, "D" directory, "O" other, "N" absent, "L" when the path
    or any parent is a symlink. Runs one command in the sandbox."""
    if not paths:
        return {}
    script = _STAT.format(root=WORKSPACE)
    command = f"bash -c {shlex.quote(script)} stat " + " ".join(shlex.quote(p) for p in paths)
    output = _plumbing(sandbox, command)
    kinds_by_path = {}
    for line in output.splitlines():
        kind, _, path = line.partition("\t")
        kinds_by_path[path] = kind
    missing = [p for p in paths if p not in kinds_by_path]
    if missing:
        raise SandboxError(f"could not inspect {', '.join(missing)} in the sandbox")
    return kinds_by_path


def _plumbing(sandbox: Sandbox, command: str) -> str:
    """Run a command of the tool's own (not the model's); raise SandboxError if it fails."""
    result = sandbox.exec(command, cwd=WORKSPACE, timeout=60, max_output_bytes=1_000_000)
    if result.exit_code != 0:
        raise SandboxError(
            f"{command.split()[0]} failed in the sandbox (exit {result.exit_code}): "
            f"{(result.error or result.output).strip()[:300]}"
        )
    return result.output


def lost_reason(exc: BaseException | None) -> str:
    """Why the sandbox is gone, when `exc` (or what caused it) says it is; else ""."""
    while exc is not None:
        if isinstance(exc, SandboxLost):
            return str(exc)
        exc = exc.__cause__
    return ""
