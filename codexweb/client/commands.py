"""The client subcommands of `codexweb`. Each returns an exit code (exitcodes.py)."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
import threading
import time
from typing import Any, TextIO

from codexweb.client import exitcodes
from codexweb.client.approvals import add_allow_domain, allow_domain
from codexweb.client.config import ClientConfig, ConfigError, config_load, config_save
from codexweb.client.credentials import add_credentials_command, run_credentials
from codexweb.client.http import ApiCallError, ApiClient
from codexweb.client.images import ImageFileError, image_payloads
from codexweb.client.ranking import add_rank_command, rank_command
from codexweb.client.render import event_line, task_details, task_row
from codexweb.client.review_commands import (
    add_review_commands,
    post_review,
    print_findings,
    task_payload,
)
from codexweb.client.terminal_safe import exact, terminal_safe
from codexweb.client.webhooks import add_webhooks_command, run_webhooks

STREAM_RECONNECTS = 5
# `pr` polls the server's job this often, this many times (about five minutes) at most.
PR_POLL_SECONDS = 1.0
PR_POLLS = 300
_STATUS_EXIT = {
    "succeeded": exitcodes.OK,
    "failed": exitcodes.TASK_FAILED,
    "stopped": exitcodes.TASK_FAILED,
    "cancelled": exitcodes.CANCELLED,
}


def add_client_commands(sub: argparse._SubParsersAction) -> None:
    """Register login, ask, code, list, show, diff, cancel, retry, steer, follow-up, pr, push,
    resolve, rank, allow-domain, credentials and webhooks on the parser."""
    login = sub.add_parser("login", help="save the server URL and a personal API token")
    login.add_argument("--server", help="e.g. https://codexweb.example.com")
    login.add_argument("--token", help="a personal API token (default: prompt, or read stdin)")
    login.add_argument("--json", action="store_true", help="machine-readable output")
    for mode in ("ask", "code"):
        p = sub.add_parser(
            mode, help=f"start a{'n' if mode == 'ask' else ''} {mode.title()} task and follow it"
        )
        p.add_argument("prompt")
        p.add_argument("--repo", required=True, help="owner/name")
        p.add_argument("--branch", default="", help="the branch to start from")
        p.add_argument(
            "--pr", default="", help="start from this open pull request's branch (number or URL)"
        )
        p.add_argument(
            "--attempts",
            type=int,
            default=1,
            choices=range(1, 5),
            metavar="N",
            help="best of N (1-4)",
        )
        p.add_argument("--model", choices=["strong", "fast"], default=None)
        p.add_argument(
            "--team", default=None, help="team slug, if the repository name is ambiguous"
        )
        p.add_argument("--image", action="append", default=[], metavar="PATH",
                       help="attach an image (PNG, JPEG, WebP, GIF); repeat for more")
        p.add_argument("--detach", action="store_true", help="print the task id and exit at once")
        p.add_argument(
            "--json", action="store_true", help="no live log; print the final task as JSON"
        )
    ls = sub.add_parser("list", help="list your teams' tasks")
    ls.add_argument("--status")
    ls.add_argument("--mode", choices=["ask", "code", "review"])
    ls.add_argument("--repo", dest="repository")
    ls.add_argument("--author")
    ls.add_argument("--team")
    ls.add_argument("--search", "-q", dest="q")
    ls.add_argument("--limit", type=int, default=20)
    ls.add_argument("--json", action="store_true")
    show = sub.add_parser("show", help="show a task and its attempts")
    show.add_argument("id", type=int)
    show.add_argument("--json", action="store_true")
    diff = sub.add_parser("diff", help="print an attempt's patch (pipe it to `git apply`)")
    diff.add_argument("id", type=int, help="task id")
    diff.add_argument("--attempt", type=int, default=None, help="attempt number (default: best)")
    diff.add_argument("--json", action="store_true")
    cancel = sub.add_parser("cancel", help="cancel a task's unfinished attempts")
    cancel.add_argument("id", type=int)
    cancel.add_argument("--json", action="store_true")
    retry = sub.add_parser(
        "retry", help="run a failed or cancelled attempt of a task again, as a new attempt"
    )
    retry.add_argument("id", type=int, help="task id")
    retry.add_argument(
        "--attempt", type=int, default=None, help="attempt number (default: the last failed one)"
    )
    retry.add_argument("--json", action="store_true")
    steer = sub.add_parser(
        "steer", help="message the agent of a running task (it reads it after its current step)"
    )
    steer.add_argument("id", type=int, help="task id")
    steer.add_argument("text", nargs="?", default="", help="the message (may be empty with --stop)")
    steer.add_argument(
        "--attempt", type=int, default=None, help="attempt number (default: every running one)"
    )
    steer.add_argument(
        "--stop", action="store_true", help="stop after the current step, keeping the changes"
    )
    steer.add_argument("--json", action="store_true")
    follow = sub.add_parser(
        "follow-up", help="continue a finished attempt with a new instruction (a new attempt)"
    )
    follow.add_argument("id", type=int, help="task id")
    follow.add_argument("text", help="what the agent should do next")
    follow.add_argument("--attempt", type=int, default=None,
                        help="attempt number (default: the newest finished one)")
    follow.add_argument("--image", action="append", default=[], metavar="PATH",
                        help="attach an image (PNG, JPEG, WebP, GIF); repeat for more")
    follow.add_argument("--json", action="store_true")
    add_allow_domain(sub)
    pr = sub.add_parser("pr", help="open a pull request from a task's best attempt")
    pr.add_argument("id", type=int)
    pr.add_argument("--attempt", type=int, default=None)
    pr.add_argument("--json", action="store_true")
    push = sub.add_parser(
        "push", help="push a task's best attempt onto the branch the task started from"
    )
    push.add_argument("id", type=int, help="task id")
    push.add_argument("--attempt", type=int, default=None, help="attempt number (default: best)")
    push.add_argument("--json", action="store_true")
    resolve = sub.add_parser(
        "resolve",
        help="resolve an attempt's conflicts with its branch with the agent (a new attempt)",
    )
    resolve.add_argument("attempt", type=int, help="the attempt's id (as `pr` and `push` print)")
    resolve.add_argument("--json", action="store_true")
    add_rank_command(sub)
    add_credentials_command(sub)
    add_webhooks_command(sub)
    add_review_commands(sub)


CLIENT_COMMANDS = frozenset(
    {"login", "ask", "code", "task", "list", "show", "diff", "cancel", "retry", "steer",
     "follow-up", "pr", "push", "resolve", "rank", "post-review", "allow-domain", "credentials",
     "webhooks"}
)


def run_client_command(
    args: argparse.Namespace, *, stdout: TextIO | None = None, stderr: TextIO | None = None
) -> int:
    out, err = terminal_safe(stdout or sys.stdout), terminal_safe(stderr or sys.stderr)
    try:
        if args.command == "login":
            return _login(args, out, err)
        client = ApiClient(config_load())
        handler = {
            "ask": _start,
            "code": _start,
            "list": _list,
            "show": _show,
            "diff": _diff,
            "cancel": _cancel,
            "retry": _retry,
            "steer": _steer,
            "follow-up": _follow_up,
            "pr": _pr,
            "rank": rank_command,
            "allow-domain": _allow_domain,
            "credentials": run_credentials,
            "webhooks": run_webhooks,
            "push": _push,
            "resolve": _resolve,
            "task": _start,
            "post-review": _post_review,
        }[args.command]
        return handler(client, args, out, err)
    except ConfigError as exc:
        return _fail(args, err, out, str(exc), exitcodes.AUTH)
    except ImageFileError as exc:
        return _fail(args, err, out, str(exc), exitcodes.USAGE)
    except ApiCallError as exc:
        return _fail(args, err, out, exc.message, exc.exit_code, exc.body)
    except KeyboardInterrupt:
        err.write("\nInterrupted.\n")
        return exitcodes.INTERRUPTED


def _fail(
    args: argparse.Namespace,
    err: TextIO,
    out: TextIO,
    message: str,
    code: int,
    body: dict[str, Any] | None = None,
) -> int:
    if getattr(args, "json", False):
        out.write(json.dumps(body or {"error": message}) + "\n")
    err.write(f"codexweb: {message}\n")
    return code


def _login(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    server = (args.server or input("Server URL: ")).strip().rstrip("/")
    if not server.startswith(("http://", "https://")):
        return _fail(
            args, err, out, "The server URL must start with http:// or https://.", exitcodes.USAGE
        )
    token = args.token
    if not token:
        token = getpass.getpass("API token: ") if sys.stdin.isatty() else sys.stdin.readline()
    token = token.strip()
    if not token:
        return _fail(args, err, out, "No token given.", exitcodes.USAGE)
    config = ClientConfig(server=server, token=token)
    me = ApiClient(config).get_json("/me")  # proves the token works before saving it
    path = config_save(config)
    if args.json:
        out.write(
            json.dumps({"server": server, "username": me["username"], "config": str(path)}) + "\n"
        )
    else:
        out.write(f"Logged in to {server} as {me['username']}; saved in {path}.\n")
    return exitcodes.OK


def _start(client: ApiClient, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.command == "task":
        payload = task_payload(args)
    else:
        payload = {
            "repository": args.repo,
            "mode": args.command,
            "prompt": args.prompt,
            "branch": args.branch,
            "attempts": args.attempts,
        }
        if args.pr:
            payload["pull_request"] = args.pr
    if args.model:
        payload["model"] = args.model
    if args.team:
        payload["team"] = args.team
    if args.image:
        payload["images"] = image_payloads(args.image)
    task = client.post_json("/tasks", payload)
    if args.detach:
        out.write((json.dumps(task) if args.json else str(task["id"])) + "\n")
        return exitcodes.OK
    if not args.json:
        out.write(
            f"Task {task['id']} created ({client.base.removesuffix('/api/v1')}{task['web_url']}).\n"
        )
        out.flush()
    try:
        _follow(client, task, out, quiet=args.json)
    except KeyboardInterrupt:
        err.write(
            f"\nStopped following; task {task['id']} goes on. "
            f"Cancel it with `codexweb cancel {task['id']}`.\n"
        )
        return exitcodes.INTERRUPTED
    task = client.get_json(f"/tasks/{task['id']}")
    patches = {
        a["index"]: client.get_text(f"/attempts/{a['id']}/patch")
        for a in task["attempts"]
        if a["has_patch"]
    }
    if args.json:
        out.write(json.dumps({**task, "patches": {str(k): v for k, v in patches.items()}}) + "\n")
    else:
        _print_result(task, patches, out)
        if task["mode"] == "review":
            print_findings(client, task, out)
    return _STATUS_EXIT.get(task["status"], exitcodes.TASK_FAILED)


def _follow(client: ApiClient, task: dict[str, Any], out: TextIO, *, quiet: bool) -> None:
    """Stream every attempt's events until each ends (prefixed "[k] " when there are several)."""
    attempts = task["attempts"]
    lock = threading.Lock()
    failures: list[BaseException] = []

    def follow_one(attempt: dict[str, Any]) -> None:
        prefix = f"[{attempt['index']}] " if len(attempts) > 1 else ""
        after, tries = 0, 0
        while tries <= STREAM_RECONNECTS:
            ended = False
            try:
                for sse in client.stream_events(attempt["id"], after=after):
                    if sse.event == "forbidden":
                        message = str(sse.data.get("message", "No access to this attempt."))
                        failures.append(ApiCallError(message, exitcodes.NOT_FOUND, 404))
                        return
                    if sse.event in ("end", "timeout"):
                        ended = True
                        break
                    after = int(sse.data.get("seq", after))
                    line = None if quiet else event_line(sse.data, prefix=prefix)
                    if line is not None:
                        with lock:
                            out.write(line + "\n")
                            out.flush()
            except ApiCallError as exc:
                if exc.exit_code not in (exitcodes.SERVER, exitcodes.RATE_LIMITED):
                    failures.append(exc)
                    return
            if ended:
                return
            tries += 1
            time.sleep(min(2.0 * tries, 10.0))  # the connection dropped: resume after `after`

    threads = [threading.Thread(target=follow_one, args=(a,), daemon=True) for a in attempts]
    for thread in threads:
        thread.start()
    for thread in threads:
        while thread.is_alive():
            thread.join(0.2)  # short joins keep Ctrl-C responsive
    if failures:
        raise failures[0]


def _print_result(task: dict[str, Any], patches: dict[int, str], out: TextIO) -> None:
    out.write("\n" + "─" * 72 + "\n")
    for attempt in task["attempts"]:
        head = f"Attempt {attempt['index']}: {attempt['status']}"
        out.write(head + (f" — {attempt['error']}" if attempt["error"] else "") + "\n")
        if attempt["summary"]:
            out.write("\n" + attempt["summary"].rstrip() + "\n")
        patch = patches.get(attempt["index"])
        if patch:
            out.write("\n" + patch.rstrip("\n") + "\n")
        out.write("\n")
    out.write(f"Task {task['id']} {task['status']}.\n")


# GET /tasks's filters; the `list` options store under these names.
_LIST_FILTERS = ("status", "mode", "repository", "author", "team", "q")


def _list(client: ApiClient, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    filters = {name: getattr(args, name) for name in _LIST_FILTERS}
    page = client.get_json("/tasks", **filters, page_size=max(1, min(args.limit, 100)))
    if args.json:
        out.write(json.dumps(page["results"]) + "\n")
    elif not page["results"]:
        out.write("No tasks.\n")
    else:
        for task in page["results"]:
            out.write(task_row(task) + "\n")
    return exitcodes.OK


def _show(client: ApiClient, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    task = client.get_json(f"/tasks/{args.id}")
    out.write((json.dumps(task) if args.json else task_details(task)) + "\n")
    return exitcodes.OK


def _pick_attempt(task: dict[str, Any], index: int | None) -> dict[str, Any] | None:
    """Attempt `index`, else the one `codexweb pr` would open: the latest that succeeded with
    changes (after a follow-up, the follow-up); else the first with changes; else the first."""
    attempts = task["attempts"]
    if index is not None:
        return next((a for a in attempts if a["index"] == index), None)
    return (
        next((a for a in reversed(attempts) if a["status"] == "succeeded" and a["has_patch"]),
             None)
        or next((a for a in attempts if a["has_patch"]), None)
        or (attempts[0] if attempts else None)
    )


def _diff(client: ApiClient, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    task = client.get_json(f"/tasks/{args.id}")
    attempt = _pick_attempt(task, args.attempt)
    if attempt is None:
        return _fail(
            args, err, out, f"Task {args.id} has no attempt {args.attempt}.", exitcodes.NOT_FOUND
        )
    patch = client.get_text(f"/attempts/{attempt['id']}/patch")
    if args.json:
        out.write(
            json.dumps({"task": task["id"], "attempt": attempt["index"], "patch": patch}) + "\n"
        )
        return exitcodes.OK
    if not patch:
        return _fail(
            args, err, out, f"Attempt {attempt['index']} made no changes.", exitcodes.CONFLICT
        )
    exact(out).write(patch)
    return exitcodes.OK


def _cancel(client: ApiClient, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    task = client.post_json(f"/tasks/{args.id}/cancel")
    out.write((json.dumps(task) if args.json else f"Task {task['id']} is {task['status']}.") + "\n")
    return exitcodes.OK


def _retry(client: ApiClient, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    task = client.get_json(f"/tasks/{args.id}")
    attempts = task["attempts"]
    if args.attempt is not None:
        chosen = next((a for a in attempts if a["index"] == args.attempt), None)
    else:
        ended = [a for a in attempts if a["status"] in ("failed", "cancelled")]
        chosen = ended[-1] if ended else None
    if chosen is None:
        what = f"no attempt {args.attempt}" if args.attempt else "no failed or cancelled attempt"
        return _fail(args, err, out, f"Task {task['id']} has {what}.", exitcodes.CONFLICT)
    new = client.post_json(f"/attempts/{chosen['id']}/retry")
    text = f"Attempt {chosen['index']} retried as attempt {new['index']} of task {task['id']}."
    out.write((json.dumps(new) if args.json else text) + "\n")
    return exitcodes.OK


def _steer(client: ApiClient, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Send the message to one attempt (--attempt) or to each unfinished one."""
    if not args.text.strip() and not args.stop:
        return _fail(args, err, out, "Write a message for the agent, or pass --stop.",
                     exitcodes.USAGE)
    task = client.get_json(f"/tasks/{args.id}")
    attempts = task["attempts"]
    if args.attempt is not None:
        chosen = [a for a in attempts if a["index"] == args.attempt]
        if not chosen:
            return _fail(args, err, out, f"Task {task['id']} has no attempt {args.attempt}.",
                         exitcodes.NOT_FOUND)
    else:
        chosen = [a for a in attempts if not a["finished"]]
        if not chosen:
            message = (f"Task {task['id']} has finished; continue it with "
                       f"`codexweb follow-up {task['id']} TEXT`.")
            return _fail(args, err, out, message, exitcodes.CONFLICT)
    body = {"text": args.text, "stop": args.stop}
    sent = [client.post_json(f"/attempts/{a['id']}/messages", body) for a in chosen]
    if args.json:
        out.write(json.dumps(sent) + "\n")
        return exitcodes.OK
    what = "asked to stop after its current step" if args.stop else "sent"
    for attempt in chosen:
        out.write(f"Attempt {attempt['index']} of task {task['id']}: {what}.\n")
    return exitcodes.OK


def _follow_up(client: ApiClient, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Continue attempt --attempt (default: the newest finished one) with TEXT and images."""
    body: dict[str, Any] = {"prompt": args.text, "images": image_payloads(args.image)}
    task = client.get_json(f"/tasks/{args.id}")
    attempts = task["attempts"]
    if args.attempt is not None:
        chosen = next((a for a in attempts if a["index"] == args.attempt), None)
    else:
        chosen = next((a for a in reversed(attempts) if a["finished"]), None)
    if chosen is None:
        what = f"no attempt {args.attempt}" if args.attempt else "no finished attempt yet"
        return _fail(args, err, out, f"Task {task['id']} has {what}.", exitcodes.CONFLICT)
    new = client.post_json(f"/attempts/{chosen['id']}/follow-up", body)
    text = (f"Follow-up to attempt {chosen['index']} started as attempt {new['index']} "
            f"of task {task['id']}.")
    out.write((json.dumps(new) if args.json else text) + "\n")
    return exitcodes.OK


def _allow_domain(client: ApiClient, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    code, message = allow_domain(client, args, out, err)
    return _fail(args, err, out, message, code) if message else code


def _post_review(client: ApiClient, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    return post_review(client, args, out,
                       lambda message, code, body: _fail(args, err, out, message, code, body))


def _pr(client: ApiClient, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Ask for the PR, then poll (bounded) while the server's job opens it."""
    body = {"attempt": args.attempt} if args.attempt else {}
    result = _poll_record(client, client.post_json(f"/tasks/{args.id}/pr", body))
    failed = _record_failure(args, out, err, result, again=f"codexweb pr {args.id}")
    if failed is not None:
        return failed
    label = "Pull request updated" if result.get("updates_attempt") else "Pull request"
    out.write((json.dumps(result) if args.json else f"{label}: {result['url']}") + "\n")
    return exitcodes.OK


def _poll_record(client: ApiClient, result: dict[str, Any]) -> dict[str, Any]:
    """Poll (bounded) the attempt's pull-request record while the server's job works on it."""
    polls = 0
    while result["state"] == "creating" and polls < PR_POLLS:
        time.sleep(PR_POLL_SECONDS)
        polls += 1
        result = client.get_json(f"/attempts/{result['attempt']}/pr")
    return result


def _record_failure(args: argparse.Namespace, out: TextIO, err: TextIO,
                    result: dict[str, Any], *, again: str) -> int | None:
    """The exit code when the record is still being made or failed (said on stderr), else None.
    A conflict names the command that lets the agent resolve it."""
    if result["state"] == "creating":
        waited = round(PR_POLLS * PR_POLL_SECONDS)
        message = f"Still working on it after {waited} s; run `{again}` again later to see it."
        return _fail(args, err, out, message, exitcodes.SERVER, result)
    if result["state"] == "failed":
        message = result["error"] or "Opening the pull request failed."
        resolution = result.get("resolution") or {}
        if resolution.get("state") == "running":
            message += f" Attempt {resolution['index']} is resolving it."
        elif resolution.get("state") == "pushed":
            message += f" Attempt {resolution['index']} resolved it and pushed."
        elif result.get("resolvable"):
            message += f" Run `codexweb resolve {result['attempt']}` to let the agent do it."
        return _fail(args, err, out, message, exitcodes.SERVER, result)
    return None


def _push(client: ApiClient, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Push the attempt onto its task's branch, then poll (bounded) while the job pushes."""
    task = client.get_json(f"/tasks/{args.id}")
    attempt = _pick_attempt(task, args.attempt)
    if attempt is None:
        return _fail(args, err, out, f"Task {args.id} has no attempt {args.attempt}.",
                     exitcodes.NOT_FOUND)
    result = _poll_record(client, client.post_json(f"/attempts/{attempt['id']}/push"))
    failed = _record_failure(args, out, err, result, again=f"codexweb push {args.id}")
    if failed is not None:
        return failed
    where = f"pull request #{result['number']}" if result.get("number") else "the branch"
    text = f"Pushed {result['head_sha'][:7]} onto {result['branch']} ({where}): {result['url']}"
    out.write((json.dumps(result) if args.json else text) + "\n")
    return exitcodes.OK


def _resolve(client: ApiClient, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    new = client.post_json(f"/attempts/{args.attempt}/resolve")
    text = (f"Resolving as attempt {new['index']} of task {new['task']} "
            f"(follow it with `codexweb show {new['task']}`).")
    out.write((json.dumps(new) if args.json else text) + "\n")
    return exitcodes.OK
