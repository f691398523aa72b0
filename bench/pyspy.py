"""Sample a running process tree with py-spy and say where its wall time goes.

Used by bench/attempt.py --profile: py-spy (not a project dependency: install it into a
throwaway venv, `python3 -m venv /tmp/spy && /tmp/spy/bin/pip install py-spy`, and pass
`--py-spy /tmp/spy/bin/py-spy`) records the worker and its pool processes, idle frames
included, so time spent waiting (on the Docker API, the database, a poll loop) counts as much
as time computing: the person waits on both.

    .venv/bin/python bench/pyspy.py RAW_FILE [--within run_attempt] [--rate 50]

summarizes a raw file again.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
from collections import Counter
from pathlib import Path

PROJECT = ("tasks/", "repos/", "codexweb/")  # py-spy shows paths from the sys.path entry


class Recorder:
    """`py-spy record` of `pid` and its subprocesses into `out` (raw, collapsed stacks)."""

    def __init__(
        self, py_spy: str, pid: int, out: Path, rate: int = 50, *, idle: bool = True
    ) -> None:
        """`idle=False`: only threads holding the GIL are sampled (where the Python CPU goes,
        not wall time; py-spy's own "idle" guess counts threads blocked in a socket read)."""
        self.out, self.rate = out, rate
        self.proc = subprocess.Popen(
            [py_spy, "record", "--pid", str(pid), "--subprocesses", "--idle" if idle else "--gil",
             "--format", "raw", "--rate", str(rate), "--output", str(out), "--nonblocking"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )

    def stop(self) -> None:
        """Stop sampling; py-spy writes the file when interrupted."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _frames(stack: str) -> list[str]:
    """The frames of one collapsed stack, outermost first, without the process/thread head."""
    return [f for f in stack.split(";") if "(" in f and not f.startswith(("process ", "thread "))]


def summarize(
    raw: Path, *, within: str = "run_attempt", rate: int = 50, top: int = 25, idle: bool = True
) -> str:
    """Inclusive seconds per project function, and the leaf frames (where it actually sits),
    over the stacks that pass through `within` (every stack: `within=""`)."""
    inclusive: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit() or within not in stack:
            continue
        frames = _frames(stack)
        n = int(count)
        total += n
        for frame in dict.fromkeys(frames):
            if frame.split(" (", 1)[-1].startswith(PROJECT):
                inclusive[_short(frame)] += n
        if frames:
            leaves[_short(frames[-1])] += n
    sampled = "idle included" if idle else "holding the GIL only"
    lines = [f"{total / rate:.1f} s sampled inside {within or 'the process tree'} "
             f"({rate} samples/s, {sampled})",
             "", "inclusive seconds per project function:"]
    lines += [f"  {n / rate:7.2f} s  {name}" for name, n in inclusive.most_common(top)]
    lines += ["", "where the time sits (leaf frames):"]
    lines += [f"  {n / rate:7.2f} s  {name}" for name, n in leaves.most_common(top)]
    return "\n".join(lines)


def _short(frame: str) -> str:
    """`function (path:line)` as `function (path)`, the path from its package on."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    return f"{name} ({path})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("raw", type=Path)
    parser.add_argument("--within", default="run_attempt")
    parser.add_argument("--rate", type=int, default=50)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    print(summarize(args.raw, within=args.within, rate=args.rate, top=args.top))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
