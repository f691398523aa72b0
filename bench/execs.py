"""Execs per sandbox container, from the Docker engine's event log (issue 18: each `docker exec`
costs a runc process and shim work, ≈ 0.12 CPU-s under load).

    .venv/bin/python bench/execs.py --since UNIX_TIME [--until UNIX_TIME] [--name codexweb-attempt]

Counts the engine's `exec_create` events between the two times for every container whose name
starts with `--name`, and prints per container the total and what ran (the exec's program: the
command wrapper `codexweb-exec`, the resident helper, the sandbox's own `bash -c` housekeeping,
file_tool's Python ...), then the median per container and the load average. Run it after a
bench (`bench/attempt.py`), giving the bench's start time: the helper on and off (setting
SANDBOX_RESIDENT_HELPER) in turn shows what the helper saves. The engine keeps only its last
~256 events for such a query: right after a small bench (`bench/attempt.py --runs 3`) the
count is whole; after a round of `bench/load.py` it is not (compare the shims' CPU there).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections import Counter, defaultdict

import docker


def kind(action: str) -> str:
    """What an exec ran, from its event's `exec_create: PROGRAM ARGS`."""
    command = action.partition(":")[2].strip()
    if "codexweb-exec" in command:
        return "command (exec each)"
    if "codexweb-helper" in command:
        return "resident helper start"
    program = command.split(" ", 1)[0].rsplit("/", 1)[-1]
    return program or "?"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--since", type=float, required=True)
    parser.add_argument("--until", type=float, default=0.0)
    parser.add_argument("--name", default="codexweb-attempt")
    args = parser.parse_args()
    api = docker.from_env().api
    until = args.until or time.time() + 1
    per: dict[str, Counter[str]] = defaultdict(Counter)
    for event in api.events(
        since=int(args.since), until=int(until), filters={"event": "exec_create"}, decode=True
    ):
        attributes = event.get("Actor", {}).get("Attributes", {})
        name = attributes.get("name", "")
        if name.startswith(args.name):
            per[name][kind(event.get("Action", ""))] += 1
    for name, kinds in sorted(per.items()):
        detail = ", ".join(f"{k} {n}" for k, n in kinds.most_common())
        print(f"{name[:60]}: {sum(kinds.values())} execs ({detail})")
    totals = [sum(k.values()) for k in per.values()]
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    if totals:
        print(
            f"containers {len(totals)}, execs per container median {statistics.median(totals)}"
            f" (min {min(totals)}, max {max(totals)}); load average {load}"
        )
    else:
        print(f"no container named {args.name}* made an exec in that window; load {load}")


if __name__ == "__main__":
    main()
