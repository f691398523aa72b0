"""Attempt benchmark: where one Code attempt's seconds go, phase by phase (issue 18).

    .venv/bin/python bench/attempt.py [--runs 5] [--kinds warm,cold] [-v]
                                      [--profile FILE --py-spy /tmp/spy/bin/py-spy]

Starts the real embedded stack (`codexweb serve`: SQLite in a temporary var/, its own
redis-server, daphne and one worker) with the Docker sandbox and the scripted model server
(tests/support/model_server.py) on loopback, creates a small Python project locally (a package
whose one pytest test fails) and submits through the REST API, one at a time, the scripted
Code task of the issue: run the failing test, grep, apply_patch, rerun the test, final answer.

- warm: the repository's setup script (`true`) ran once before (an untimed first attempt), so
  every timed attempt starts from its prepared image;
- cold: the same setup script, the repository's image cache off (cache hours 0), so every
  attempt starts a fresh container and runs setup.

Every figure is read from the attempt's own record (created/started/finished times, the
events' times) and the model server's request times, and the table prints the median per phase
over `--runs` attempts, plus the orchestration overhead: wall − tool time (the commands' own
durations) − model time (the scripted server answers at once, so ≈ 0). Prints figures; exits 1
only when an attempt does not succeed. The load average is printed next to the figures: the
machine is shared.

`--profile FILE`: py-spy samples the worker (idle frames included) during the timed warm
attempts and the summary of bench/pyspy.py is printed: where the worker's wall time goes.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from bench import stack  # noqa: E402
from bench.machine import load_average  # noqa: E402
from bench.pyspy import Recorder, summarize  # noqa: E402
from tests.support import model_server as scripted  # noqa: E402
from tests.support.processes import wait_until  # noqa: E402

# Run inside the stack's environment (its SQLite): alice, her team, the project registered
# twice (warm: image cache on; cold: off), both with setup `true`, and an API token.
SETUP = """
import json, sys, django
django.setup()
from codexweb.api.tokens import api_token_create
from repos.environments.services import environment_for
from repos.services import repository_register
from tests.support import factories
alice = factories.make_user("alice")
team = factories.make_team("Acme", admin=alice)
ids = {}
for kind, path, hours in (("warm", sys.argv[1], 12), ("cold", sys.argv[2], 0)):
    repository = repository_register(team=team, location=path)
    environment = environment_for(repository)
    environment.setup_script = "true"
    environment.cache_ttl_hours = hours
    environment.save()
    ids[kind] = repository.pk
print(json.dumps({"token": api_token_create(user=alice, name="bench").secret, "repos": ids}))
"""


def final_answer(request: scripted.RecordedRequest) -> scripted.Reply:
    chunk = request.chunk_ids()[-1]
    return scripted.reply(
        "## Summary\n- `add` subtracted; it now adds 【F:calc/ops.py†L1-L2】.\n\n"
        f"## Testing\n- `{stack.TEST}`: both tests pass 【T:{chunk}†L1】"
    )


def script() -> list:
    """The issue's scripted task: test, grep, patch, test, answer."""
    return [
        scripted.reply(scripted.call("shell", {"command": stack.TEST})),
        scripted.reply(scripted.call("shell", {"command": "grep -rn 'def add' calc"})),
        scripted.reply(scripted.call("apply_patch", {"patch": stack.FIX})),
        scripted.reply(scripted.call("shell", {"command": stack.TEST})),
        final_answer,
    ]


@dataclass
class Run:
    kind: str
    ok: bool
    status: str
    phases: dict[str, float] = field(default_factory=dict)
    timeline: list[str] = field(default_factory=list)


PHASES = [
    ("queued", "queued → worker started"),
    ("fetch", "fetch mirror + checkout"),
    ("container", "container start + setup (cold) / warm start"),
    ("first_call", "agent start → first model call"),
    ("submit_first_call", "submit → first model call"),
    ("submit_command", "submit → first command"),
    ("apply_patch", "one apply_patch (model reply → patch event)"),
    ("finish", "final model reply → succeeded"),
    ("wall", "wall (submit → finished)"),
    ("tools", "tool time (commands' own durations)"),
    ("overhead", "orchestration overhead (wall − tools − model)"),
]


def run_once(kind: str, base: str, headers: dict, repo_id: int,
             model: scripted.ScriptedModelServer, clock: float) -> Run:
    """One attempt, timed from its own record. `clock`: wall − monotonic, to place the model
    server's request times (monotonic) on the events' clock."""
    model.add(*script())
    seen = len(model.requests)
    created = requests.post(f"{base}/api/v1/tasks", headers=headers, timeout=60, json={
        "repository": repo_id, "mode": "code", "prompt": "Make the failing test pass."})
    created.raise_for_status()
    attempt_id = int(created.json()["attempts"][0]["id"])
    attempt: dict = {}

    def finished() -> bool:
        nonlocal attempt
        answer = requests.get(f"{base}/api/v1/attempts/{attempt_id}", headers=headers,
                              timeout=10)
        attempt = answer.json() if answer.status_code == 200 else {}
        return bool(attempt.get("finished"))

    wait_until(finished, timeout=300, what=f"attempt {attempt_id} finished", interval=0.2)
    events = stack.attempt_events(base, headers, attempt_id)
    calls = [r.at + clock for r in model.requests[seen:]]
    run = Run(kind, attempt["status"] == "succeeded",
              f"{attempt['status']}: {attempt['error'] or ''}"[:200])
    submit = stack.parse_time(attempt["created_at"])
    for event in events:
        at = stack.parse_time(event["created_at"]) - submit
        detail = json.dumps(event["payload"])[:90]
        run.timeline.append(f"   {at:7.3f}s #{event['seq']:<3} {event['kind']:<12} {detail}")
    for i, at in enumerate(calls):
        run.timeline.append(f"   {at - submit:7.3f}s model request {i + 1}")
    run.timeline.sort(key=lambda line: float(line.split("s", 1)[0]))
    if not run.ok or len(calls) < 5:
        return run

    def first(kind: str, text: str = "") -> float:
        for event in events:
            if event["kind"] == kind and text in json.dumps(event["payload"]):
                return stack.parse_time(event["created_at"])
        raise LookupError(f"no {kind} event with {text!r} in attempt {attempt_id}")

    started = stack.parse_time(attempt["started_at"])
    finished_at = stack.parse_time(attempt["finished_at"])
    fetched = first("phase", "Fetching")
    checked_out = first("phase", "Checked out")
    agent = first("phase", '"agent"')
    tools = sum(float(e["payload"].get("duration") or 0) for e in events
                if e["kind"] == "command_end")
    wall = finished_at - submit
    run.phases = {
        "queued": started - submit,
        "fetch": checked_out - fetched,
        "container": agent - checked_out,
        "first_call": calls[0] - agent,
        "submit_first_call": calls[0] - submit,
        "submit_command": first("command") - submit,
        "apply_patch": first("patch") - calls[2],
        "finish": finished_at - calls[-1],
        "wall": wall,
        "tools": tools,
        "overhead": wall - tools,  # model time: the scripted replies take ≈ 0
    }
    return run


def print_table(runs: list[Run], kinds: list[str]) -> None:
    print()
    print("| phase (median) | " + " | ".join(kinds) + " |")
    print("| --- |" + " --- |" * len(kinds))
    for key, label in PHASES:
        cells = []
        for kind in kinds:
            values = [r.phases[key] for r in runs if r.kind == kind and r.phases]
            cells.append(f"{statistics.median(values):.2f} s" if values else "–")
        print(f"| {label} | " + " | ".join(cells) + " |")
    for kind in kinds:
        done = [r for r in runs if r.kind == kind]
        print(f"{kind}: {sum(r.ok for r in done)}/{len(done)} succeeded")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed attempts per kind")
    parser.add_argument("--kinds", default="warm,cold", help="warm, cold or both")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="print each attempt's timeline")
    parser.add_argument("--profile", type=Path, help="py-spy the worker into this raw file")
    parser.add_argument("--py-spy", default=shutil.which("py-spy") or "", help="its binary")
    args = parser.parse_args()
    if args.profile and not args.py_spy:
        parser.error("--profile needs py-spy: pass --py-spy (see bench/pyspy.py)")
    kinds = [k for k in args.kinds.split(",") if k]
    if args.runs < 1 or not set(kinds) <= {"warm", "cold"} or not kinds:
        parser.error("--runs must be positive and --kinds warm and/or cold")
    runs: list[Run] = []
    with scripted.ScriptedModelServer() as model, stack.bench_stack(
        model, prefix="bench-attempt-", SANDBOX_WARM_CACHE_HOURS="12"
    ) as bench:
        warm_repo = stack.make_project(bench.work / "warm")
        cold_repo = stack.make_project(bench.work / "cold")
        world = bench.django(SETUP, str(warm_repo), str(cold_repo))
        base = bench.base
        headers = {"Authorization": f"Bearer {world['token']}"}
        clock = time.time() - time.monotonic()
        print(f"load average before: {load_average()}")
        for kind in kinds:
            if kind == "warm":  # untimed: makes the prepared image
                primer = run_once(kind, base, headers, world["repos"][kind], model, clock)
                if not primer.ok:
                    print(f"warm-up attempt {primer.status}", file=sys.stderr)
            recorder = None
            if args.profile and kind == "warm":
                recorder = Recorder(args.py_spy, bench.stack.pids()["worker"], args.profile)
            for n in range(args.runs):
                run = run_once(kind, base, headers, world["repos"][kind], model, clock)
                runs.append(run)
                print(f"{kind} {n + 1}: {run.status} wall "
                      f"{run.phases.get('wall', 0):.2f}s (load {load_average()})")
                if args.verbose or not run.ok:
                    print("\n".join(run.timeline))
            if recorder is not None:
                recorder.stop()
                print(summarize(args.profile, rate=recorder.rate))
    print_table(runs, kinds)
    print(f"load average after: {load_average()} ({os.cpu_count()} cores)")
    return 0 if all(r.ok for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
