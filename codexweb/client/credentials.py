"""`codexweb credentials list|add|delete REPO_ID`: a team admin's egress credentials from the
command line. The value (or password) is read from stdin or a prompt, never from an argument,
so it stays out of shell history and process lists; the server never sends it back."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from typing import Any, TextIO

from codexweb.client import exitcodes
from codexweb.client.http import ApiClient


def add_credentials_command(sub: argparse._SubParsersAction) -> None:
    cred = sub.add_parser(
        "credentials", help="a repository's credentials the egress proxy adds (team admins)"
    )
    actions = cred.add_subparsers(dest="credentials_action", required=True)
    ls = actions.add_parser("list", help="list them (never their values)")
    ls.add_argument("repo", type=int, help="repository id")
    ls.add_argument("--json", action="store_true")
    add = actions.add_parser(
        "add", help="add one, or replace the one of that name; the value is read from stdin"
    )
    add.add_argument("repo", type=int, help="repository id")
    add.add_argument("--name", required=True)
    add.add_argument("--domain", required=True, help="host, or *.suffix")
    add.add_argument("--kind", choices=["header", "bearer", "basic"], required=True)
    add.add_argument("--header", default="", help="kind=header: the header's name")
    add.add_argument("--user", default="", help="kind=basic: the user name")
    add.add_argument("--path-prefix", default="/")
    add.add_argument("--allow-http", action="store_true", help="also over plain HTTP")
    add.add_argument("--json", action="store_true")
    rm = actions.add_parser("delete", help="delete one")
    rm.add_argument("repo", type=int, help="repository id")
    rm.add_argument("id", type=int, help="credential id")
    rm.add_argument("--json", action="store_true")


def run_credentials(client: ApiClient, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    path = f"/repositories/{args.repo}/credentials"
    if args.credentials_action == "list":
        rows = client.get_json(path)["results"]
        if args.json:
            out.write(json.dumps(rows) + "\n")
        for row in [] if args.json else rows:
            out.write(_line(row) + "\n")
        return exitcodes.OK
    if args.credentials_action == "delete":
        client.request("DELETE", f"{path}/{args.id}")
        out.write(json.dumps({"deleted": args.id}) + "\n" if args.json else "Deleted.\n")
        return exitcodes.OK
    secret = _read_secret("Password: " if args.kind == "basic" else "Value: ")
    if not secret:
        err.write("codexweb: no value given on stdin.\n")
        return exitcodes.USAGE
    payload: dict[str, Any] = {
        "name": args.name,
        "domain": args.domain,
        "kind": args.kind,
        "header_name": args.header,
        "username": args.user,
        "path_prefix": args.path_prefix,
        "allow_http": args.allow_http,
        ("password" if args.kind == "basic" else "value"): secret,
    }
    row = client.post_json(path, payload)
    out.write(json.dumps(row) + "\n" if args.json else f"Saved: {_line(row)}\n")
    if not row["reachable"] and not args.json:
        err.write(
            f"codexweb: the agent's internet policy does not allow {row['domain']}: "
            "the credential is not used until it does.\n"
        )
    return exitcodes.OK


def _read_secret(prompt: str) -> str:
    text = getpass.getpass(prompt) if sys.stdin.isatty() else sys.stdin.readline()
    return text.rstrip("\r\n")


def _line(row: dict[str, Any]) -> str:
    used = row["last_used_at"] or "never used"
    return (
        f"{row['id']}\t{row['name']}\t{row['domain']}{row['path_prefix']}\t{row['kind']} "
        f"({row['header']})\t{used}"
    )
