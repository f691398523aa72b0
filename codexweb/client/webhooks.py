"""`codexweb webhooks list|add|delete|deliveries|redeliver TEAM ...`: a team admin's outgoing
webhooks from the command line. `add` prints the signing secret once (the server never shows it
again); `redeliver` queues one more try of a failed delivery."""

from __future__ import annotations

import argparse
import json
from typing import Any, TextIO

from codexweb.client import exitcodes
from codexweb.client.http import ApiClient


def add_webhooks_command(sub: argparse._SubParsersAction) -> None:
    hooks = sub.add_parser("webhooks", help="a team's outgoing webhooks (team admins)")
    actions = hooks.add_subparsers(dest="webhooks_action", required=True)
    ls = actions.add_parser("list", help="list them (never their secrets)")
    ls.add_argument("team", help="team slug")
    add = actions.add_parser("add", help="add one; prints its signing secret, shown only now")
    add.add_argument("team", help="team slug")
    add.add_argument("url", help="http:// or https://")
    rm = actions.add_parser("delete", help="remove one and its delivery log")
    rm.add_argument("team", help="team slug")
    rm.add_argument("id", type=int, help="webhook id")
    log = actions.add_parser("deliveries", help="a webhook's delivery log, newest first")
    log.add_argument("team", help="team slug")
    log.add_argument("id", type=int, help="webhook id")
    log.add_argument("--page", type=int, default=1, help="page number, from 1")
    log.add_argument("--limit", type=int, default=20, choices=range(1, 101), metavar="N",
                     help="deliveries per page (1-100)")
    again = actions.add_parser("redeliver", help="queue one more try of a failed delivery")
    again.add_argument("team", help="team slug")
    again.add_argument("id", type=int, help="webhook id")
    again.add_argument("delivery", type=int, help="delivery id")
    for parser in (ls, add, rm, log, again):
        parser.add_argument("--json", action="store_true", help="machine-readable output")


def run_webhooks(client: ApiClient, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    path = f"/teams/{args.team}/webhooks"
    action = args.webhooks_action
    if action == "list":
        rows = client.get_json(path)["results"]
        _write(out, args, rows, [_webhook_line(row) for row in rows])
    elif action == "add":
        row = client.post_json(path, {"url": args.url})
        _write(out, args, row, [
            f"Added webhook {row['id']}: {row['url']}",
            f"Signing secret (shown only now): {row['secret']}",
            f"Each delivery carries {row['signature_header']}: sha256=<hex HMAC-SHA256 of the "
            "body, keyed with the secret>.",
        ])
    elif action == "delete":
        client.request("DELETE", f"{path}/{args.id}")
        _write(out, args, {"deleted": args.id}, [f"Webhook {args.id} removed."])
    elif action == "deliveries":
        page = client.get_json(f"{path}/{args.id}/deliveries", page=args.page,
                               page_size=args.limit)
        lines = [_delivery_line(row) for row in page["results"]] or ["No deliveries."]
        if page["has_next"]:
            lines.append(f"More: --page {args.page + 1}")
        _write(out, args, page, lines)
    else:
        row = client.post_json(f"{path}/{args.id}/deliveries/{args.delivery}/redeliver")
        _write(out, args, row, [f"Delivery {row['id']} queued again."])
    return exitcodes.OK


def _write(out: TextIO, args: argparse.Namespace, data: Any, lines: list[str]) -> None:
    out.write(json.dumps(data) + "\n" if args.json else "".join(f"{line}\n" for line in lines))


def _webhook_line(row: dict[str, Any]) -> str:
    return f"{row['id']}\t{row['url']}\tadded {row['created_at']} by {row['created_by'] or '-'}"


def _delivery_line(row: dict[str, Any]) -> str:
    answer = f"HTTP {row['last_status_code']}" if row["last_status_code"] else "-"
    return (
        f"{row['id']}\t{row['created_at']}\t{row['event']}\ttask {row['task']} attempt "
        f"{row['attempt_index']}\t{row['state']}\t{row['tries']} tries\t{answer}\t"
        f"{row['last_error']}".rstrip()
    )
