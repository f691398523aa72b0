"""A unified diff (the attempt's patch) as a view model: files, hunks, numbered lines.

Parsing uses `unidiff`; file names and lines stay plain `str` here and are escaped by the
templates, except `Line.html`, which `highlight_lines` has already escaped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from unidiff import PatchSet
from unidiff.errors import UnidiffParseError

from tasks.rendering.highlight import highlight_lines

# A file with more changed lines than this starts collapsed; so does every file of a big diff.
COLLAPSE_FILE_LINES = 400
COLLAPSE_ALL_LINES = 3000
# Lines shown on a page in all: a generated file or a vendored folder can make a patch of
# hundreds of thousands of lines, and highlighting and rendering them on every view of the page
# took the server seconds to minutes. Files past the budget show their counts and say so.
MAX_SHOWN_LINES = 20_000


@dataclass(frozen=True)
class Line:
    kind: str  # "add" | "del" | "ctx" | "note"
    old_no: int | None
    new_no: int | None
    html: str


@dataclass
class Hunk:
    header: str
    lines: list[Line] = field(default_factory=list)


@dataclass
class DiffFile:
    index: int
    path: str
    old_path: str
    status: str  # "added" | "removed" | "modified" | "renamed" | "binary"
    added: int
    removed: int
    hunks: list[Hunk] = field(default_factory=list)
    collapsed: bool = False
    too_large: bool = False  # past MAX_SHOWN_LINES: its lines are not shown
    # Notes shown under a line of the new version, by its number (a review's findings).
    notes: dict[int, list[Any]] = field(default_factory=dict)
    # A file moved without changes shows as removed + added (the patch is taken without rename
    # detection, so every byte crosses as it is): each side names the other (`pair_moves`).
    moved_to: str = ""
    moved_from: str = ""

    @property
    def anchor(self) -> str:
        return f"file-{self.index}"


@dataclass
class DiffView:
    files: list[DiffFile]
    added: int
    removed: int
    error: str = ""

    @property
    def line_count(self) -> int:
        return sum(len(h.lines) for f in self.files for h in f.hunks)

    @property
    def stats(self) -> tuple[int, int, int]:
        """(files, added, removed), as `diff_stats` gives them: a page that shows the diff takes
        its counts from here instead of parsing the patch a second time."""
        return (len(self.files), self.added, self.removed)


# git's C-style quoting of a name with a control character, `"` or `\` (and, with
# core.quotePath, bytes above ASCII): these escapes, and \ooo for one byte.
_C_ESCAPES = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}


def unquote_path(path: str) -> str:
    """The name git quoted (`"two\\nlines.txt"`) as it is, bytes that are not UTF-8 shown as
    U+FFFD; a name without quotes as it is."""
    if len(path) < 2 or not (path.startswith('"') and path.endswith('"')):
        return path
    body, out, i = path[1:-1], bytearray(), 0
    while i < len(body):
        char = body[i]
        octal = body[i + 1 : i + 4]
        if char == "\\" and len(octal) == 3 and all(c in "01234567" for c in octal):
            out.append(int(octal, 8) & 0xFF)
            i += 4
        elif char == "\\" and body[i + 1 : i + 2] in _C_ESCAPES:
            out.append(_C_ESCAPES[body[i + 1]])
            i += 2
        else:
            out += char.encode()
            i += 1
    return out.decode(errors="replace")


def clean_path(path: str | None) -> str:
    """A patch's file name without its a/ or b/ prefix (and git's quotes); "" for /dev/null."""
    if not path or path == "/dev/null":
        return ""
    path = unquote_path(path)
    for prefix in ("a/", "b/"):
        if path.startswith(prefix):
            return path[len(prefix) :]
    return path


def parse_patch(text: str) -> PatchSet:
    """The patch parsed by unidiff; raises `UnidiffParseError` on malformed input."""
    return PatchSet(text.splitlines(keepends=True))


def file_status(patched) -> str:
    """added, removed, renamed, modified or binary (a unidiff PatchedFile)."""
    if patched.is_binary_file:
        return "binary"
    if patched.is_added_file:
        return "added"
    if patched.is_removed_file:
        return "removed"
    if patched.is_rename:
        return "renamed"
    return "modified"


def diff_view(text: str) -> DiffView:
    """The view model of a patch. Malformed patches give an empty view with `error` set."""
    if not text.strip():
        return DiffView(files=[], added=0, removed=0)
    try:
        patch = parse_patch(text)
    except UnidiffParseError as exc:
        return DiffView(files=[], added=0, removed=0, error=f"The patch could not be parsed: {exc}")
    files: list[DiffFile] = []
    shown = 0
    for index, patched in enumerate(patch):
        path = clean_path(patched.target_file) or clean_path(patched.source_file)
        diff_file = DiffFile(
            index=index,
            path=path,
            old_path=clean_path(patched.source_file),
            status=file_status(patched),
            added=patched.added,
            removed=patched.removed,
        )
        size = sum(len(hunk) for hunk in patched)
        if shown + size > MAX_SHOWN_LINES:
            diff_file.too_large = True
            files.append(diff_file)
            continue
        shown += size
        for hunk in patched:
            source = [line.value.rstrip("\r\n") for line in hunk]
            htmls = highlight_lines(source, path)
            rendered = Hunk(
                header=f"@@ -{hunk.source_start},{hunk.source_length} "
                f"+{hunk.target_start},{hunk.target_length} @@ "
                f"{hunk.section_header}".rstrip()
            )
            for line, html in zip(hunk, htmls, strict=True):
                if line.is_added:
                    kind = "add"
                elif line.is_removed:
                    kind = "del"
                elif line.is_context:
                    kind = "ctx"
                else:
                    kind = "note"  # "\ No newline at end of file"
                rendered.lines.append(Line(kind, line.source_line_no, line.target_line_no, html))
            diff_file.hunks.append(rendered)
        diff_file.collapsed = sum(len(h.lines) for h in diff_file.hunks) > COLLAPSE_FILE_LINES
        files.append(diff_file)
    pair_moves(patch, files)
    view = DiffView(
        files=files, added=sum(f.added for f in files), removed=sum(f.removed for f in files)
    )
    if view.line_count > COLLAPSE_ALL_LINES:
        for diff_file in files:
            diff_file.collapsed = True
    return view


# git's id of the empty blob: two empty files are not one file moved.
EMPTY_BLOB = "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"
_NO_BLOB = frozenset({"", "0" * 40, EMPTY_BLOB})


def _blob_ids(patched) -> tuple[str, str]:
    """(old, new) blob ids from the file's `index OLD..NEW` line (the patch is taken with
    --full-index); ("", "") when it has none."""
    for line in patched.patch_info or ():
        if line.startswith("index ") and ".." in line:
            old, _, new = line.split()[1].partition("..")
            return old, new
    return "", ""


def pair_moves(patch: PatchSet, files: list[DiffFile]) -> None:
    """Pair each removed file with an added file of the same content (the same blob id) as one
    move, each naming the other (the page shows both closed): a rename reads as one, while both
    stay in the patch, their hunks pickable as before (tasks/verification/hunks.py numbers them
    so)."""
    removed: dict[str, list[DiffFile]] = {}
    for patched, diff_file in zip(patch, files, strict=True):
        old, _new = _blob_ids(patched)
        if patched.is_removed_file and old not in _NO_BLOB:
            removed.setdefault(old, []).append(diff_file)
    for patched, diff_file in zip(patch, files, strict=True):
        _old, new = _blob_ids(patched)
        if patched.is_added_file and removed.get(new):
            source = removed[new].pop(0)
            source.moved_to, diff_file.moved_from = diff_file.path, source.path


def diff_stats(text: str) -> tuple[int, int, int]:
    """(files, added, removed) of a patch, or zeros when it is empty or malformed."""
    if not text.strip():
        return (0, 0, 0)
    try:
        patch = parse_patch(text)
    except UnidiffParseError:
        return (0, 0, 0)
    return (len(patch), patch.added, patch.removed)


@dataclass(frozen=True)
class KnownLines:
    """The lines of a file's new version that a patch reveals (all of them for an added file)."""

    path: str
    lines: dict[int, str]
    complete: bool
    removed: bool = False


def new_file_lines(text: str, path: str) -> KnownLines | None:
    """What the patch shows of `path` after the change, or None if the patch doesn't touch it."""
    if not text.strip():
        return None
    try:
        patch = parse_patch(text)
    except UnidiffParseError:
        return None
    for patched in patch:
        target = clean_path(patched.target_file)
        if target != path and not (
            patched.is_removed_file and clean_path(patched.source_file) == path
        ):
            continue
        if patched.is_removed_file:
            return KnownLines(path=path, lines={}, complete=True, removed=True)
        lines: dict[int, str] = {}
        for hunk in patched:
            for line in hunk:
                if line.target_line_no is not None:
                    lines[line.target_line_no] = line.value.rstrip("\r\n")
        return KnownLines(path=path, lines=lines, complete=patched.is_added_file)
    return None
