"""`codexweb allow-domain`: approve a host the egress proxy refused for a running attempt
(issue 14 item 3), through POST /api/v1/attempts/{id}/egress-approvals."""

from __future__ import annotations

import argparse
import json
from typing import Any, TextIO

from codexweb.client import exitcodes
from codexweb.client.http import ApiClient


def add_allow_domain(sub: argparse._SubParsersAction) -> None:
    allow = sub.add_parser(
        "allow-domain",
        help="let a running task's agent reach a host the egress proxy refused",
    )
    allow.add_argument("id", type=int, help="task id")
    allow.add_argument("host", help="the refused host, e.g. packages.example.com")
    allow.add_argument(
        "--attempt", type=int, default=None, help="attempt number (default: every running one)"
    )
    allow.add_argument(
        "--repository",
        action="store_true",
        help="also add it to the repository's allowlist (team admins)",
    )
    allow.add_argument("--json", action="store_true")


def allow_domain(
    client: ApiClient, args: argparse.Namespace, out: TextIO, err: TextIO
) -> tuple[int, str]:
    """Approve `args.host` for the chosen attempts. (exit code, message for stderr or "")."""
    task = client.get_json(f"/tasks/{args.id}")
    attempts: list[dict[str, Any]] = task["attempts"]
    if args.attempt is not None:
        chosen = [a for a in attempts if a["index"] == args.attempt]
        if not chosen:
            return exitcodes.NOT_FOUND, f"Task {task['id']} has no attempt {args.attempt}."
    else:
        chosen = [a for a in attempts if not a["finished"]]
        if not chosen:
            return exitcodes.CONFLICT, (
                f"Task {task['id']} has finished; approvals apply to a running attempt."
            )
    body = {"host": args.host, "scope": "repository" if args.repository else "attempt"}
    made = [client.post_json(f"/attempts/{a['id']}/egress-approvals", body) for a in chosen]
    if args.json:
        out.write(json.dumps(made) + "\n")
        return exitcodes.OK, ""
    also = " and added to the repository's allowlist" if args.repository else ""
    for attempt, approval in zip(chosen, made, strict=True):
        out.write(
            f"Attempt {attempt['index']} of task {task['id']}: {approval['host']} allowed{also}; "
            "the agent is told after its next command.\n"
        )
    return exitcodes.OK, ""
