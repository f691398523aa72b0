"""Benchmark: the patch work of one attempt page view with a large patch (tasks/rendering/diff.py).

Before, the card's counts (`diff_stats`) and the diff (`diff_view`) each parsed the patch; now the
counts come from the diff view (`DiffView.stats`). Both are timed on the same patch (a small
file plus a generated 60,000-line one, as tests/security/test_huge_patch_page.py), alternating
round by round, and the median CPU seconds of each printed with the load average.

    .venv/bin/python bench/diff_page.py [--lines 60000] [--rounds 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tasks.rendering.diff import diff_stats, diff_view  # noqa: E402


def added(name: str, lines: list[str]) -> str:
    body = "".join(f"+{line}\n" for line in lines)
    return (f"diff --git a/{name} b/{name}\nnew file mode 100644\n--- /dev/null\n"
            f"+++ b/{name}\n@@ -0,0 +1,{len(lines)} @@\n{body}")


def parsed_twice(patch: str) -> tuple[int, int, int]:
    stats = diff_stats(patch)
    diff_view(patch)
    return stats


def parsed_once(patch: str) -> tuple[int, int, int]:
    return diff_view(patch).stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=60_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    patch = added("src/small.py", ["print('small change')"]) + added(
        "data/generated.txt", [f"row {i}" for i in range(args.lines)]
    )
    figures: dict[str, list[float]] = {"before (parsed twice)": [], "after (parsed once)": []}
    for _ in range(args.rounds):
        for name, view in (("before (parsed twice)", parsed_twice),
                           ("after (parsed once)", parsed_once)):
            started = time.process_time()
            assert view(patch) == (2, args.lines + 1, 0)
            figures[name].append(time.process_time() - started)
    print(f"patch: {len(patch) / 1e6:.1f} MB, {args.lines + 1} lines; {args.rounds} rounds; "
          f"load average {os.getloadavg()[0]:.1f}")
    for name, seconds in figures.items():
        print(f"  {name:22} median {statistics.median(seconds) * 1000:7.0f} ms CPU, "
              f"max {max(seconds) * 1000:7.0f} ms")


if __name__ == "__main__":
    main()
