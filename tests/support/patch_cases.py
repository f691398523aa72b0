"""The golden apply_patch cases in tests/agent/patches/<case>/{before,after,patch,...}, shared by
the host-side patch tests and the in-container program's tests."""

from __future__ import annotations

from pathlib import Path

CASES = Path(__file__).resolve().parent.parent / "agent" / "patches"


def tree(root: Path) -> dict[str, str]:
    """Every file under `root` by relative path (the `.keep` placeholders left out)."""
    if not root.exists():
        return {}
    return {
        str(p.relative_to(root)): p.read_text()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != ".keep"
    }
