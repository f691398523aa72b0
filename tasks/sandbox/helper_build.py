"""Building the resident helper (sandbox/helper/codexweb-helper.c) with the host's C compiler:
one static binary, bind-mounted read-only into every sandbox container (spec.HELPER_PATH), so
it runs in any image with bash, without Python. The output is kept under a folder keyed by the
source's hash: a changed source is a new binary, never a stale one.

`python -m tasks.sandbox.helper_build [CACHE]` builds it (scripts/sandbox-helper.sh, `make
sandbox-helper`) and prints its path."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

logger = logging.getLogger(__name__)

SOURCE = Path(__file__).resolve().parents[2] / "sandbox" / "helper" / "codexweb-helper.c"
BINARY_NAME = "codexweb-helper"


def source_key(source: Path = SOURCE) -> str:
    """The first 16 hex digits of the source's SHA-256: the binary's folder name."""
    return hashlib.sha256(source.read_bytes()).hexdigest()[:16]


def binary_path(cache: Path, source: Path = SOURCE) -> Path:
    """Where the binary built from `source` lives under `cache` (built or not)."""
    return cache / source_key(source) / BINARY_NAME


def built(cache: Path, source: Path = SOURCE) -> Path | None:
    """The binary for the current source when it was built, else None."""
    path = binary_path(cache, source)
    return path if path.is_file() and os.access(path, os.X_OK) else None


def build(cache: Path, source: Path = SOURCE, *, compiler: str = "gcc") -> Path:
    """Build the binary for `source` under `cache` unless it is there (`gcc -O2 -static`,
    renamed into place, so a reader never sees half a file). RuntimeError with the compiler's
    message when it cannot be built (no compiler, no static C library)."""
    existing = built(cache, source)
    if existing is not None:
        return existing
    target = binary_path(cache, source)
    target.parent.mkdir(parents=True, exist_ok=True)
    if shutil.which(compiler) is None:
        raise RuntimeError(f"cannot build the sandbox helper: {compiler} is not installed")
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        out = Path(tmp) / BINARY_NAME
        done = subprocess.run(  # noqa: S603 — fixed arguments
            [compiler, "-O2", "-static", "-Wall", "-o", str(out), str(source)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"cannot build the sandbox helper: {done.stderr.strip()[-2000:]}")
        out.chmod(0o755)
        os.replace(out, target)
    return target


def main(argv: list[str]) -> int:
    cache = Path(argv[1]) if len(argv) > 1 else SOURCE.parents[2] / ".cache" / "sandbox-helper"
    try:
        print(build(cache))
    except RuntimeError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
