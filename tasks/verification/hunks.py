"""Hunks of attempts' patches, each with a stable id, and their combination into one patch.

Pure. Ids are "<attempt id>:<file index>:<hunk index>", the same order the diff viewer shows
(both parse with unidiff: tasks/rendering/diff.py). Combining refuses, with a sentence, what
cannot be one patch: hunks whose lines overlap, the same file added by one attempt and changed by
another, part of a new or deleted file. Hunks identical in two attempts count once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from unidiff.errors import UnidiffParseError

from tasks.rendering.diff import clean_path, file_status, parse_patch

MAX_HUNKS = 500


class CombineError(ValueError):
    """The chosen hunks cannot be combined; the message is for the person."""


@dataclass(frozen=True)
class PickedHunk:
    """One hunk a person picked ("<attempt id>:<file>:<hunk>"), with what combining it needs:
    its file's header and kind, and where it stands in the source."""

    id: str
    attempt_index: int
    path: str
    file_header: str  # "diff --git …" up to "+++ …", without the `index` line
    file_kind: str  # "added" | "removed" | "modified" | "renamed" (binary files have no hunks)
    hunk_count: int  # how many hunks the file has in its attempt's patch
    source_start: int
    source_length: int
    body: str  # the hunk's lines after its @@ header
    section: str  # the @@ header's function context

    @property
    def delta(self) -> int:
        added = sum(1 for line in self.body.splitlines() if line.startswith("+"))
        removed = sum(1 for line in self.body.splitlines() if line.startswith("-"))
        return added - removed

    @property
    def target_length(self) -> int:
        return sum(1 for line in self.body.splitlines() if line[:1] in ("+", " "))

    @property
    def span(self) -> tuple[int, int]:
        """The old lines it touches, [start, end); an insertion (length 0) holds its line."""
        return (self.source_start, self.source_start + max(self.source_length, 1))


def hunk_id(attempt_id: int, file_index: int, hunk_index: int) -> str:
    return f"{attempt_id}:{file_index}:{hunk_index}"


def parse_hunk_id(value: str) -> tuple[int, int, int]:
    """(attempt id, file index, hunk index); CombineError for anything else."""
    parts = value.split(":")
    if len(parts) != 3 or not all(p.isdigit() and len(p) <= 12 for p in parts):
        raise CombineError(f"{value[:40]!r} is not a hunk id (attempt:file:hunk).")
    return int(parts[0]), int(parts[1]), int(parts[2])


def patch_hunks(attempt_id: int, attempt_index: int, patch: str) -> list[PickedHunk]:
    """Every text hunk of an attempt's patch (binary files and files without hunks have none).
    CombineError when the patch cannot be parsed."""
    try:
        parsed = parse_patch(patch)
    except UnidiffParseError as exc:
        raise CombineError(
            f"The patch of attempt {attempt_index} could not be read: {exc}"
        ) from exc
    hunks: list[PickedHunk] = []
    for file_index, patched in enumerate(parsed):
        if patched.is_binary_file:
            continue
        info = [line for line in (patched.patch_info or []) if not line.startswith("index ")]
        header = "".join(info) + f"--- {patched.source_file}\n+++ {patched.target_file}\n"
        path = clean_path(patched.target_file) or clean_path(patched.source_file)
        for hunk_index, hunk in enumerate(patched):
            hunks.append(
                PickedHunk(
                    id=hunk_id(attempt_id, file_index, hunk_index),
                    attempt_index=attempt_index,
                    path=path,
                    file_header=header,
                    file_kind=file_status(patched),
                    hunk_count=len(patched),
                    source_start=hunk.source_start,
                    source_length=hunk.source_length,
                    body="".join(str(line) for line in hunk),
                    section=hunk.section_header,
                )
            )
    return hunks


def _lines(h: PickedHunk) -> str:
    start, end = h.span
    return f"line {start}" if end - start == 1 else f"lines {start}–{end - 1}"


def combine(chosen: Iterable[str], hunks_by_attempt: Mapping[int, list[PickedHunk]]) -> str:
    """One patch holding the chosen hunks (ids), file by file in the order first chosen, hunks in
    line order with their new line numbers shifted by the hunks before them."""
    ids = list(dict.fromkeys(chosen))
    if not ids:
        raise CombineError("Pick at least one hunk to combine.")
    if len(ids) > MAX_HUNKS:
        raise CombineError(f"Pick at most {MAX_HUNKS} hunks.")
    known = {h.id: h for hunks in hunks_by_attempt.values() for h in hunks}
    picked: list[PickedHunk] = []
    for value in ids:
        parse_hunk_id(value)
        if value not in known:
            raise CombineError(f"Hunk {value} is not part of this task's attempts.")
        picked.append(known[value])
    by_path: dict[str, list[PickedHunk]] = {}
    for h in picked:
        by_path.setdefault(h.path, []).append(h)
    parts: list[str] = []
    for path, group in by_path.items():
        parts.append(_combine_file(path, group))
    return "".join(parts)


def _combine_file(path: str, group: list[PickedHunk]) -> str:
    kinds = {h.file_kind for h in group}
    if len(kinds) > 1 or len({h.file_header for h in group}) > 1 and kinds != {"modified"}:
        attempts = sorted({h.attempt_index for h in group})
        raise CombineError(
            f"Attempts {', '.join(map(str, attempts))} change {path} in different ways (one adds, "
            "removes or renames it); pick its hunks from one attempt."
        )
    unique: list[PickedHunk] = []
    for h in sorted(group, key=lambda h: (h.source_start, h.attempt_index)):
        if any(u.span == h.span and u.body == h.body for u in unique):
            continue  # the same change in two attempts
        unique.append(h)
    if group[0].file_kind in ("added", "removed"):
        owners = {h.attempt_index for h in unique}
        if len(owners) > 1 or len(unique) != group[0].hunk_count:
            raise CombineError(
                f"{path} is {'a new' if group[0].file_kind == 'added' else 'a deleted'} file: "
                "pick all of its hunks, from one attempt."
            )
    for earlier, later in zip(unique, unique[1:], strict=False):
        if later.span[0] < earlier.span[1]:
            raise CombineError(
                f"Hunk {earlier.id} (attempt {earlier.attempt_index}, {path} {_lines(earlier)}) "
                f"and hunk {later.id} (attempt {later.attempt_index}, {_lines(later)}) overlap: "
                "they change the same lines. Pick one of them."
            )
    out = [unique[0].file_header]
    shift = 0
    for h in unique:
        target_start = h.source_start + shift
        if h.source_length == 0:
            target_start += 1  # an insertion after line N starts at N + 1
        if h.target_length == 0:
            target_start -= 1  # everything removed: git numbers the line before
        header = (
            f"@@ -{h.source_start},{h.source_length} +{max(target_start, 0)},{h.target_length} @@"
        )
        out.append(f"{header} {h.section}".rstrip() + "\n")
        out.append(h.body if h.body.endswith("\n") else h.body + "\n")
        shift += h.delta
    return "".join(out)
