"""How long packing a checkout for the sandbox takes: GNU tar (what a plain checkout gets) against
Python's tarfile (the fallback), on a git checkout of a folder you name or a made-up tree.

    .venv/bin/python bench/workspace_archive.py [--source DIR] [--files 7000] [--rounds 5]

`--source` packs that folder as it is (e.g. a real project's checkout); without it a tree of
`--files` files (sizes like a Python project's: 60 % under 4 kB, a few of 100 kB) is made in a
temporary folder. Prints the median and worst wall time, the CPU time in this process (which
holds the worker's GIL) and the archive's size for each packer.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tasks.sandbox import workspace_archive as packer  # noqa: E402


def made_tree(root: Path, files: int) -> None:
    rng = random.Random(18)  # the same tree every run
    for n in range(files):
        folder = root / f"pkg{n % 40}" / f"sub{n % 7}"
        folder.mkdir(parents=True, exist_ok=True)
        size = rng.choice([300, 1200, 2500, 3500, 8000, 20000, 100000])
        (folder / f"module_{n}.py").write_bytes(rng.randbytes(size))


def timed(source: Path, *, fallback: bool, rounds: int) -> tuple[list[float], list[float], int]:
    walls, cpus, size = [], [], 0
    no_tar = mock.patch.object(packer.shutil, "which", lambda _name: None)
    with no_tar if fallback else contextlib.nullcontext():
        for _ in range(rounds):
            wall, cpu = time.perf_counter(), time.process_time()
            with packer.workspace_archive(source) as archive:
                walls.append(time.perf_counter() - wall)
                cpus.append(time.process_time() - cpu)
                size = archive.seek(0, os.SEEK_END)
    return walls, cpus, size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path)
    parser.add_argument("--files", type=int, default=7000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-archive-") as tmp:
        source = args.source
        if source is None:
            source = Path(tmp) / "tree"
            made_tree(source, args.files)
        count = sum(len(names) for _, _, names in os.walk(source))
        print(f"{source}: {count} files; load average {os.getloadavg()[0]:.2f}")
        print("packer   | wall median | wall worst | CPU in this process | archive")
        for name, fallback in (("GNU tar", False), ("tarfile", True)):
            walls, cpus, size = timed(source, fallback=fallback, rounds=args.rounds)
            print(f"{name:8} | {statistics.median(walls):9.3f} s | {max(walls):8.3f} s | "
                  f"{statistics.median(cpus):17.3f} s | {size / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
