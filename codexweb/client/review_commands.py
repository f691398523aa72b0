"""The client's Review commands: `codexweb task --mode review --pr N` (or `--branch B`,
`--review-attempt ID`) starts a Review task and follows it like `ask`/`code`; `codexweb
post-review ID` posts a finished review to its pull request and waits (bounded) for the job."""

from __future__ import annotations

import argparse
import json
from typing import Any, TextIO

from codexweb.client import exitcodes
from codexweb.client.http import ApiCallError, ApiClient

POST_POLL_SECONDS = 1.0
POST_POLLS = 300
DEFAULT_REVIEW_PROMPT = "Review this change."


def add_review_commands(sub: argparse._SubParsersAction) -> None:
    """Register `task` (any mode, with review targets) and `post-review`."""
    task = sub.add_parser("task", help="start a task of any mode (ask, code, review)")
    task.add_argument("prompt", nargs="?", default="")
    task.add_argument("--mode", required=True, choices=["ask", "code", "review"])
    task.add_argument("--repo", required=True, help="owner/name")
    task.add_argument("--branch", default="",
                      help="ask/code: the branch to start from; review: the branch to review")
    task.add_argument("--base", default="", help="review: the branch to compare against")
    task.add_argument("--pr", type=int, default=None,
                      help="review: the pull request to review; ask/code: start from its branch")
    task.add_argument("--review-attempt", type=int, default=None,
                      help="review: an attempt's id (its own diff)")
    task.add_argument("--attempts", type=int, default=1, choices=range(1, 5), metavar="N")
    task.add_argument("--model", choices=["strong", "fast"], default=None)
    task.add_argument("--team", default=None)
    task.add_argument("--image", action="append", default=[], metavar="PATH",
                      help="attach an image (PNG, JPEG, WebP, GIF); repeat for more")
    task.add_argument("--detach", action="store_true")
    task.add_argument("--json", action="store_true")
    post = sub.add_parser("post-review", help="post a task's review as a pull request review")
    post.add_argument("id", type=int, help="task id")
    post.add_argument("--attempt", type=int, default=None, help="attempt number (default: first "
                      "that succeeded)")
    post.add_argument("--event", choices=["comment", "approve", "request-changes"],
                      default="comment", help="what the review says about the pull request "
                      "(default: comment)")
    post.add_argument("--json", action="store_true")


def task_payload(args: argparse.Namespace) -> dict[str, Any]:
    """The POST /tasks body of `codexweb task`."""
    payload: dict[str, Any] = {
        "repository": args.repo, "mode": args.mode, "attempts": args.attempts,
        "prompt": args.prompt or (DEFAULT_REVIEW_PROMPT if args.mode == "review" else ""),
        "branch": args.branch,
    }
    if args.mode == "review":
        payload["branch"] = args.base
        if args.pr is not None:
            payload["pull"] = args.pr
        elif args.review_attempt is not None:
            payload["review_attempt"] = args.review_attempt
        else:
            payload["review_branch"] = args.branch
    elif args.pr is not None:
        payload["pull_request"] = args.pr
    return payload


def print_findings(client: ApiClient, task: dict[str, Any], out: TextIO) -> None:
    """Each finished review attempt's findings, one line each (after the summaries)."""
    for attempt in task["attempts"]:
        try:
            review = client.get_json(f"/attempts/{attempt['id']}/review")
        except ApiCallError as exc:  # it never got as far as a review: say so, go on
            out.write(f"Attempt {attempt['index']}: no review ({exc.message}).\n")
            continue
        out.write(f"Findings of attempt {attempt['index']}: {len(review['findings'])}\n")
        for f in review["findings"]:
            bad = sum(1 for c in f["citations"] if not c["valid"])
            mark = f" (⚠ {bad} invalid citation{'s' if bad != 1 else ''})" if bad else ""
            out.write(f"  [{f['severity']}] {f['file']}:{f['line']}{mark} "
                      f"{f['explanation'].splitlines()[0][:200]}\n")
        for m in review["malformed"]:
            out.write(f"  [malformed] {m['problem']}\n")


def post_review(client: ApiClient, args: argparse.Namespace, out: TextIO,
                fail: Any) -> int:
    task = client.get_json(f"/tasks/{args.id}")
    attempts = task["attempts"]
    attempt = (next((a for a in attempts if a["index"] == args.attempt), None)
               if args.attempt is not None else
               next((a for a in attempts if a["status"] == "succeeded"), None))
    if attempt is None:
        return fail(f"Task {args.id} has no finished review attempt to post.",
                    exitcodes.NOT_FOUND, None)
    event = args.event.upper().replace("-", "_")
    result = client.post_json(f"/attempts/{attempt['id']}/review/post", {"event": event})
    result = client.get_while(f"/attempts/{attempt['id']}/review", result, key="post_state",
                              pending="posting", polls=POST_POLLS, seconds=POST_POLL_SECONDS)
    if result["post_state"] == "posting":
        return fail(f"The review is still being posted after {POST_POLLS * POST_POLL_SECONDS:.0f}"
                    f" s; run `codexweb post-review {args.id}` again later.", exitcodes.SERVER,
                    result)
    if result["post_state"] != "posted":
        return fail(result["post_error"] or "Posting the review failed.", exitcodes.SERVER,
                    result)
    out.write((json.dumps(result) if args.json else f"Review posted: {result['post_url']}") + "\n")
    return exitcodes.OK
