"""The proxy's rules file, re-read when the worker replaces it (just-in-time approvals).

Stdlib only: loaded by path into the mitmproxy addon (`.venv-proxy`), and used by the worker to
write the file. The worker never edits the file in place: it writes a sibling and renames it
over (`write_atomically`), so the addon reads either the old rules or the new ones, never half a
file. The addon asks `RulesFile.current()` on every request and tunnel; that costs one `stat`
and re-reads the file only when its inode, size or modification time changed, so an approval
takes effect on the next request without restarting the proxy (open connections are kept).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

Key = tuple[int, int, int]


class RulesFile:
    """The rules at `path`, parsed by `load`; re-read when the file was replaced or changed."""

    def __init__(self, path: str | Path, load: Callable[[str], Any]) -> None:
        self.path = str(path)
        self._load = load
        self._key: Key | None = None
        self._rules: Any = None
        self.error = ""  # why the last re-read failed ("" when it worked)

    def current(self) -> Any:
        """The newest rules that could be read (the previous ones when a re-read fails, so a
        broken write never opens or closes anything by itself)."""
        try:
            key = _key(self.path)
        except OSError as exc:
            self.error = f"cannot read the rules file: {exc}"
            return self._rules
        if key != self._key:
            try:
                rules = self._load(self.path)
            except (OSError, ValueError, KeyError, TypeError) as exc:
                self.error = f"cannot read the rules file: {exc}"
                return self._rules
            self._rules, self._key, self.error = rules, key, ""
        return self._rules


def _key(path: str) -> Key:
    st = os.stat(path)
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def write_atomically(path: str | Path, text: str) -> None:
    """Replace `path` with `text` in one rename: a reader sees the old file or the new one."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
