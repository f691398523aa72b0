"""`codexweb rank TASK`: the best-of-N ranking of a task's attempts after re-verification."""

from __future__ import annotations

import argparse
import json
from typing import Any, TextIO

from codexweb.client import exitcodes
from codexweb.client.http import ApiClient


def add_rank_command(sub: argparse._SubParsersAction) -> None:
    rank = sub.add_parser(
        "rank", help="print a best-of-N task's attempts ranked by re-verification, and why"
    )
    rank.add_argument("id", type=int, help="task id")
    rank.add_argument("--json", action="store_true")


def rank_command(client: ApiClient, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    ranking = client.get_json(f"/tasks/{args.id}/ranking")
    out.write((json.dumps(ranking) if args.json else ranking_text(ranking)) + "\n")
    return exitcodes.OK


def _line(row: dict[str, Any]) -> list[str]:
    place = f"#{row['rank']}" if row["rank"] else "  "
    if row["status"] == "done":
        state = row["verdict_text"] or ""
    else:
        running = next((r["command"] for r in row["results"] if r.get("running")), "")
        state = "verifying" + (f" ({running})" if running else "") + "…"
    lines = [f"{place:>3} attempt {row['attempt_index']}: {state}, {row['patch_lines']} lines"]
    if row["reason"]:
        lines.append(f"      {row['reason']}")
    failed = next(
        (r for r in row["results"] if not r.get("running") and r.get("exit_code") != 0), None
    )
    if failed and failed.get("output_tail"):
        tail = failed["output_tail"].rstrip().splitlines()[-5:]
        lines.extend(f"      | {line}" for line in tail)
    return lines


def ranking_text(ranking: dict[str, Any]) -> str:
    """The ranking as lines for a terminal: place, attempt, verdict, size, why, output tail."""
    if not ranking["attempts"]:
        return (
            f"Task {ranking['task_id']} has no ranking yet: it is made once every attempt of a "
            "best-of-N Code task has finished."
        )
    lines = [f"Task {ranking['task_id']}" + (" (verifying…)" if ranking["running"] else "")]
    for row in ranking["attempts"]:
        lines.extend(_line(row))
    for row in ranking["combined"]:
        lines.append("  combined:")
        lines.extend(_line(row))
    return "\n".join(lines)
