"""The `codexweb` command. Server-side: `codexweb serve` runs the embedded stack, `codexweb
settings` lists the simple settings and checks the environment's values. Client-side:
login, ask, code, list, show, diff, cancel, retry, steer, follow-up, pr, push, resolve, rank,
allow-domain and credentials talk to a server's REST API (codexweb/client/)."""

from __future__ import annotations

import argparse
import os
import sys

# What a shell reports for a command a closed pipe stopped (128 + SIGPIPE), as `cat` gives.
EXIT_BROKEN_PIPE = 141


def main(argv: list[str] | None = None) -> int:
    """Run one command. A reader that goes away (`codexweb settings | head`) ends it quietly
    here, once for every command, rather than with a BrokenPipeError traceback."""
    try:
        try:
            code = _run(argv)
        finally:  # argparse's --help and errors leave by SystemExit: flush those too
            sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    return code


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's own flush at exit finds no closed pipe
    (it would print "Exception ignored ... BrokenPipeError")."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    finally:
        os.close(devnull)


def _run(argv: list[str] | None) -> int:
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
