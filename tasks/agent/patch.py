"""The Codex patch format: parse it (pure), then compute the new file contents (pure).

    *** Begin Patch
    *** Add File: path          every following line starts with "+"
    *** Update File: path
    *** Move to: new/path       optional, right after Update File
    @@ optional context line    a line to find first; then " " context, "-" old, "+" new lines
    *** End of File             optional: the chunk ends at the end of the file
    *** Delete File: path
    *** End Patch

Follows openai/codex `codex-rs/apply-patch` (parser.rs, lib.rs). Reading and writing files is
the caller's job: `compute_changes` takes a `read` callback, so the same code is used against
a sandbox and against the golden test directories.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from dataclasses import dataclass, field

BEGIN = "*** Begin Patch"
END = "*** End Patch"
ADD = "*** Add File: "
DELETE = "*** Delete File: "
UPDATE = "*** Update File: "
MOVE = "*** Move to: "
END_OF_FILE = "*** End of File"


class PatchError(ValueError):
    """The patch text is not a valid patch; the message tells the model what to fix."""


class ApplyError(ValueError):
    """The patch is valid but does not fit the files; the message tells the model what to do."""


@dataclass(frozen=True)
class Chunk:
    """One @@ section of an Update File: `old_lines` (after `context`) become `new_lines`."""

    context: str | None
    old_lines: tuple[str, ...]
    new_lines: tuple[str, ...]
    end_of_file: bool = False


@dataclass(frozen=True)
class AddFile:
    path: str
    content: str


@dataclass(frozen=True)
class DeleteFile:
    path: str


@dataclass(frozen=True)
class UpdateFile:
    path: str
    chunks: tuple[Chunk, ...]
    move_to: str | None = None


FileOp = AddFile | DeleteFile | UpdateFile


@dataclass(frozen=True)
class Patch:
    ops: tuple[FileOp, ...]

    @property
    def paths(self) -> list[str]:
        """Every path the patch reads or writes, in order, without repeats."""
        seen: list[str] = []
        for op in self.ops:
            for path in (op.path, getattr(op, "move_to", None)):
                if path and path not in seen:
                    seen.append(path)
        return seen


@dataclass(frozen=True)
class FileChange:
    """The effect of a patch on one path: new content, or None when the file is removed."""

    path: str
    content: str | None


def check_path(raw: str) -> str:
    """Return the normalized relative path, or raise PatchError if it could leave the workspace.

    Refused: empty, absolute (including /workspace/...), any '..' component, control characters,
    and anything inside `.git`.
    """
    path = raw.strip()
    if not path:
        raise PatchError("A file path is empty.")
    if any(ord(ch) < 32 for ch in path):
        raise PatchError(f"The path {path!r} contains control characters.")
    if path.startswith("/") or path.startswith("~") or (len(path) > 1 and path[1] == ":"):
        raise PatchError(
            f"The path {path!r} is absolute. Use a path relative to the repository root "
            "(/workspace), for example 'src/app.py'."
        )
    parts = path.split("/")
    if ".." in parts:
        raise PatchError(f"The path {path!r} contains '..'; paths must stay inside /workspace.")
    normalized = posixpath.normpath(path)
    if normalized in ("", "."):
        raise PatchError(f"The path {path!r} does not name a file.")
    if ".git" in normalized.split("/"):
        raise PatchError(f"The path {path!r} is inside .git; the patch tool does not write there.")
    return normalized


def parse_patch(text: str) -> Patch:
    """Parse patch text into a Patch. Pure; raises PatchError with the offending line number."""
    lines = text.strip().splitlines()
    if not lines or lines[0].strip() != BEGIN:
        raise PatchError(f"The patch must start with '{BEGIN}'.")
    if lines[-1].strip() != END:
        raise PatchError(f"The patch must end with '{END}'.")
    body = lines[1:-1]
    ops: list[FileOp] = []
    i = 0
    while i < len(body):
        line = body[i]
        number = i + 2  # 1-based, counting the Begin line
        if line.startswith(ADD):
            path = check_path(line[len(ADD):])
            i += 1
            added: list[str] = []
            while i < len(body) and not body[i].startswith("*** "):
                if not body[i].startswith("+"):
                    raise PatchError(
                        f"Line {i + 2}: every line of an added file must start with '+' "
                        f"(got {body[i]!r})."
                    )
                added.append(body[i][1:])
                i += 1
            ops.append(AddFile(path=path, content="".join(f"{a}\n" for a in added)))
        elif line.startswith(DELETE):
            ops.append(DeleteFile(path=check_path(line[len(DELETE):])))
            i += 1
        elif line.startswith(UPDATE):
            path = check_path(line[len(UPDATE):])
            i += 1
            move_to = None
            if i < len(body) and body[i].startswith(MOVE):
                move_to = check_path(body[i][len(MOVE):])
                i += 1
            chunks, i = _parse_chunks(body, i, path)
            if not chunks and move_to is None:
                raise PatchError(f"Line {number}: Update File {path} has no changes.")
            ops.append(UpdateFile(path=path, chunks=tuple(chunks), move_to=move_to))
        elif not line.strip():
            i += 1
        else:
            raise PatchError(
                f"Line {number}: expected '*** Add File:', '*** Update File:', "
                f"'*** Delete File:' or '{END}', got {line!r}."
            )
    if not ops:
        raise PatchError("The patch changes no files.")
    return Patch(ops=tuple(ops))


def _parse_chunks(body: list[str], i: int, path: str) -> tuple[list[Chunk], int]:
    chunks: list[Chunk] = []
    first = True
    while i < len(body) and not _is_file_header(body[i]):
        line = body[i]
        context: str | None = None
        if line.startswith("@@"):
            context = line[2:].strip() or None
            i += 1
        elif not first:
            raise PatchError(f"Line {i + 2}: expected '@@' to start the next change in {path}.")
        first = False
        old: list[str] = []
        new: list[str] = []
        end_of_file = False
        while i < len(body):
            line = body[i]
            if line.startswith("@@") or _is_file_header(line):
                break
            if line.strip() == END_OF_FILE:
                end_of_file = True
                i += 1
                break
            if line == "":
                old.append("")
                new.append("")
            elif line[0] == " ":
                old.append(line[1:])
                new.append(line[1:])
            elif line[0] == "-":
                old.append(line[1:])
            elif line[0] == "+":
                new.append(line[1:])
            else:
                raise PatchError(
                    f"Line {i + 2}: in {path}, every changed line must start with ' ' (context), "
                    f"'-' (remove) or '+' (add); got {line!r}."
                )
            i += 1
        if not old and not new:
            raise PatchError(f"Line {i + 1}: a change in {path} has no lines.")
        chunks.append(Chunk(context, tuple(old), tuple(new), end_of_file))
    return chunks, i


def _is_file_header(line: str) -> bool:
    return line.startswith((ADD, DELETE, UPDATE))


# --- computing the new contents -------------------------------------------------------------

Reader = Callable[[str], "str | None"]


@dataclass
class _Overlay:
    """Files as the patch sees them: the reader's view, plus the patch's own earlier changes."""

    read: Reader
    changes: dict[str, str | None] = field(default_factory=dict)

    def get(self, path: str) -> str | None:
        if path in self.changes:
            return self.changes[path]
        return self.read(path)


def compute_changes(patch: Patch, read: Reader) -> list[FileChange]:
    """The file contents after applying `patch`, in the order first touched.

    `read(path)` returns the current text or None when the file does not exist. Nothing is
    written; raises ApplyError (naming the file and the change) when the patch does not fit.
    """
    overlay = _Overlay(read)
    for op in patch.ops:
        if isinstance(op, AddFile):
            if overlay.get(op.path) is not None:
                raise ApplyError(
                    f"Add File {op.path}: the file already exists. Use '*** Update File: "
                    f"{op.path}' to change it, or delete it first."
                )
            overlay.changes[op.path] = op.content
        elif isinstance(op, DeleteFile):
            if overlay.get(op.path) is None:
                raise ApplyError(f"Delete File {op.path}: there is no such file.")
            overlay.changes[op.path] = None
        else:
            current = overlay.get(op.path)
            if current is None:
                raise ApplyError(
                    f"Update File {op.path}: there is no such file. Use '*** Add File: "
                    f"{op.path}' to create it."
                )
            updated = _apply_chunks(op.path, current, op.chunks) if op.chunks else current
            if op.move_to and op.move_to != op.path:
                if overlay.get(op.move_to) is not None:
                    raise ApplyError(f"Move to {op.move_to}: that file already exists.")
                overlay.changes[op.path] = None
                overlay.changes[op.move_to] = updated
            else:
                overlay.changes[op.path] = updated
    return [FileChange(path, content) for path, content in overlay.changes.items()]


def _apply_chunks(path: str, text: str, chunks: tuple[Chunk, ...]) -> str:
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the final newline; it is written back below
    replacements: list[tuple[int, int, tuple[str, ...]]] = []
    cursor = 0
    for number, chunk in enumerate(chunks, start=1):
        if chunk.context is not None:
            found = _seek(lines, (chunk.context,), cursor, False)
            if found is None:
                raise ApplyError(
                    f"Update File {path}: change {number} starts at '@@ {chunk.context}', but no "
                    f"line after line {cursor} matches it. Read the file again and use a context "
                    "line copied from it."
                )
            cursor = found + 1
        if not chunk.old_lines:
            # Pure insertion: at the end of the file, or right after the context line.
            at = len(lines) if chunk.end_of_file or chunk.context is None else cursor
            replacements.append((at, 0, chunk.new_lines))
            cursor = at
            continue
        old = chunk.old_lines
        found = _seek(lines, old, cursor, chunk.end_of_file)
        if found is None and old[-1] == "":
            # A trailing blank line in the chunk may stand for the end of the file.
            old = old[:-1]
            found = _seek(lines, old, cursor, chunk.end_of_file)
        if found is None:
            expected = "\n".join(chunk.old_lines)
            raise ApplyError(
                f"Update File {path}: change {number} did not match. These lines were not found "
                f"in order after line {cursor}:\n{expected}\n"
                "Read the file again (for example with `sed -n` or `cat -n`) and send a patch "
                "whose context and '-' lines are copied exactly."
            )
        new_lines = chunk.new_lines
        if len(old) < len(chunk.old_lines) and new_lines and new_lines[-1] == "":
            new_lines = new_lines[:-1]
        replacements.append((found, len(old), new_lines))
        cursor = found + len(old)
    for start, length, new in sorted(replacements, key=lambda r: r[0], reverse=True):
        lines[start : start + length] = list(new)
    return "\n".join(lines) + "\n" if lines else ""


def _seek(lines: list[str], pattern: tuple[str, ...], start: int, eof: bool) -> int | None:
    """Index where `pattern` occurs at or after `start`: exactly, then ignoring trailing and
    then surrounding whitespace (as codex does); None when absent."""
    if not pattern:
        return start
    if len(pattern) > len(lines):
        return None
    last = len(lines) - len(pattern)
    candidates = [last] if eof else range(start, last + 1)
    for normalize in (lambda s: s, str.rstrip, str.strip):
        want = [normalize(p) for p in pattern]
        for i in candidates:
            if i < start:
                continue
            if all(normalize(lines[i + k]) == want[k] for k in range(len(pattern))):
                return i
    return None
