"""The `codexweb` command. Server-side: `codexweb serve` runs the embedded stack, `codexweb
settings` lists the simple settings and checks the environment's values. Client-side:
login, ask, code, list, show, diff, cancel, retry, steer, follow-up, pr, push, resolve, rank,
allow-domain and credentials talk to a server's REST API (codexweb/client/)."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="codexweb", description="codexweb command-line tool")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the embedded stack: Redis, daphne and one worker")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    sub.add_parser("version", help="print the version")
    sub.add_parser(
        "settings",
        help="list the simple settings (codexweb/tunables.toml) with their values and where each "
        "came from; exit 1 if the environment gives one the app would refuse",
    )
    from codexweb.client.commands import CLIENT_COMMANDS, add_client_commands, run_client_command

    add_client_commands(sub)
    args = parser.parse_args(argv)
    if args.command in CLIENT_COMMANDS:
        return run_client_command(args)
    if args.command == "version":
        from importlib.metadata import version

        print(version("codexweb"))
        return 0
    if args.command == "settings":
        from codexweb.tunables import tunables_report

        lines, problems = tunables_report()
        print("\n".join(lines))
        for problem in problems:
            print(f"codexweb settings: {problem}", file=sys.stderr)
        return 1 if problems else 0
    if args.command == "serve":
        from codexweb.embedded import serve as run_serve

        return run_serve(host=args.host, port=args.port)
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
