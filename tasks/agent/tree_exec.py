"""Reading the files a final answer cites, in one exec.

After the final reply the worker needs, for every file a citation names, whether it is a
regular file in the final tree, its line count (to check the cited lines) and, for the first
`KEEP_FILES_MAX` files up to `keep_bytes`, its text (kept with the attempt so the page can show
the cited lines). Inspecting and reading each file from the host cost three execs per file
(≈ 0.15 s apiece through the Docker API); the person waits on every one before "succeeded".

So one command does it: the image's own `/usr/bin/python3 -I -S` runs the same safe steps as
the one-exec apply_patch (tasks/agent/patch_exec.py's `kind` and `read_bytes`: every path
component opened with `O_NOFOLLOW` as the command user, so a symbolic link anywhere on a path
reads as "L", never as its target) and prints one line: `MARKER` + JSON, one entry per path.
File text travels base64-encoded, so the output is ASCII whatever the files hold.

When the command would not fit in one argument, or the program gives no answer (an image
without `/usr/bin/python3`), the step-by-step path runs: `stat_paths`, then `read_file` per file.
"""

from __future__ import annotations

import base64
import json
import shlex
from dataclasses import dataclass
from functools import cache

from tasks.agent import patch_exec
from tasks.agent.instructions import WORKSPACE
from tasks.agent.program_launch import launch
from tasks.agent.tools import stat_paths
from tasks.sandbox.base import Sandbox, SandboxError

MARKER = "codexweb-read-tree:"
READ_LIMIT = patch_exec.READ_LIMIT  # a larger cited file "could not be read", as before
KEEP_FILES_MAX = 40
KEEP_BYTES = 256_000
# Base64 of KEEP_FILES_MAX files of KEEP_BYTES, plus the JSON around them.
MAX_OUTPUT_BYTES = KEEP_FILES_MAX * (KEEP_BYTES * 4 // 3 + 64) + 1_000_000

DRIVER = r'''

def entry(root, rel, keep):
    k = kind(root, rel)
    if k != "F":
        return {"kind": k, "path": rel}
    try:
        data = read_bytes(root, rel)
    except Stop as stop:
        return dict(stop.result, kind="E", path=rel)
    found = {"kind": "F", "path": rel,
             "lines": len(data.decode(errors="replace").splitlines())}
    if len(data) <= keep:
        found["data"] = binascii.b2a_base64(data, newline=False).decode()
    return found


def main():
    root, keep_files, keep = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    found = [entry(root, rel, keep if n < keep_files else -1)
             for n, rel in enumerate(sys.argv[4:])]
    sys.stdout.buffer.write((MARKER + as_json(found) + "\n").encode("utf-8", "backslashreplace"))
    sys.stdout.flush()


main()
'''


@dataclass(frozen=True)
class TreeFile:
    """One path of the final tree: `kind` is "F" file, "D" folder, "O" other, "N" absent,
    "L" a symbolic link on the way, "E" could not be read (`error` says why). For "F": its
    line count and its text when it was kept (else None)."""

    kind: str
    lines: int = 0
    text: str | None = None
    error: str = ""


@cache
def program() -> str:
    head = f"from __future__ import annotations\nLIMIT = {READ_LIMIT}\n"
    return head + patch_exec.COMMON + DRIVER


def command(paths: list[str], root: str, *, keep_files: int, keep_bytes: int) -> str | None:
    """The one command reading `paths` under `root`; None when it would not fit."""
    line = " ".join(
        [launch(MARKER, program()), shlex.quote(root), str(keep_files),
         str(keep_bytes), *(shlex.quote(p) for p in paths)]
    )
    return line if len(line.encode()) <= patch_exec.MAX_COMMAND_BYTES else None


def read_tree(
    sandbox: Sandbox,
    paths: list[str],
    *,
    keep_files: int = KEEP_FILES_MAX,
    keep_bytes: int = KEEP_BYTES,
) -> dict[str, TreeFile]:
    """What each relative path is in the final tree (see TreeFile), in one exec when it can.

    The text of the first `keep_files` paths is kept when it is at most `keep_bytes` long.
    A sandbox that fails makes every path "E" with its reason; nothing is raised."""
    paths = list(dict.fromkeys(paths))
    if not paths:
        return {}
    line = command(paths, WORKSPACE, keep_files=keep_files, keep_bytes=keep_bytes)
    if line is not None:
        try:
            result = sandbox.exec(
                line, cwd=WORKSPACE, timeout=120, max_output_bytes=MAX_OUTPUT_BYTES
            )
        except SandboxError as exc:
            return {path: TreeFile("E", error=str(exc)) for path in paths}
        answer = _answer(result.output)
        if answer is not None and len(answer) == len(paths):
            return {path: _tree_file(found) for path, found in zip(paths, answer, strict=True)}
    return _read_in_steps(sandbox, paths, keep_files=keep_files, keep_bytes=keep_bytes)


def find_and_read(
    sandbox: Sandbox, find: str, *, keep_bytes: int
) -> dict[str, TreeFile] | None:
    """The files the shell command `find` lists (one relative path a line, run in /workspace),
    each read as `read_tree` reads (text kept up to `keep_bytes`), in one exec, in the listed
    order. None when the one exec cannot say (then the caller lists and reads step by step).
    Raises SandboxError when the sandbox fails."""
    program_line = " ".join([launch(MARKER, program()), WORKSPACE, "1000000", str(keep_bytes)])
    command = f'mapfile -t found < <({find}); exec {program_line} "${{found[@]}}"'
    result = sandbox.exec(command, cwd=WORKSPACE, timeout=60, max_output_bytes=MAX_OUTPUT_BYTES)
    answer = _answer(result.output)
    if answer is None:
        return None
    found: dict[str, TreeFile] = {}
    for entry in answer:
        if isinstance(entry, dict) and isinstance(entry.get("path"), str):
            found[str(entry["path"])] = _tree_file(entry)
    return found


def _answer(output: str) -> list[dict[str, object]] | None:
    for text in reversed(output.splitlines()):
        if text.startswith(MARKER):
            try:
                found = json.loads(text[len(MARKER):])
            except ValueError:
                return None
            return found if isinstance(found, list) else None
    return None


def _tree_file(found: object) -> TreeFile:
    if not isinstance(found, dict):
        return TreeFile("E", error="the sandbox gave no answer for this file")
    kind = str(found.get("kind", "E"))
    if kind == "E":
        return TreeFile("E", error=_read_error(found))
    data = found.get("data")
    text = base64.b64decode(str(data)).decode(errors="replace") if data is not None else None
    return TreeFile(kind, lines=int(str(found.get("lines", 0))), text=text)


def _read_error(found: dict[str, object]) -> str:
    path, error = str(found.get("path", "")), str(found.get("error", ""))
    if error == "link":
        return f"{path} goes through a symbolic link; refusing"
    if error == "other":
        return f"{path} is not a regular file"
    return str(found.get("message", "")) or f"cannot read {path}"


def _read_in_steps(
    sandbox: Sandbox, paths: list[str], *, keep_files: int, keep_bytes: int
) -> dict[str, TreeFile]:
    """One exec to inspect, one per file to read: when the one-exec program cannot run."""
    try:
        kinds = stat_paths(sandbox, paths)
    except SandboxError as exc:
        return {path: TreeFile("E", error=str(exc)) for path in paths}
    found: dict[str, TreeFile] = {}
    for n, path in enumerate(paths):
        if kinds.get(path) != "F":
            found[path] = TreeFile(kinds.get(path, "N"))
            continue
        try:
            text = sandbox.read_file(path, max_bytes=READ_LIMIT)
        except SandboxError as exc:
            found[path] = TreeFile("E", error=str(exc))
            continue
        kept = n < keep_files and len(text.encode()) <= keep_bytes
        found[path] = TreeFile("F", lines=len(text.splitlines()), text=text if kept else None)
    return found
