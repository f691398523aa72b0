"""Fault benchmark: what an operator sees when a process of the embedded stack dies mid-attempt.

    .venv/bin/python bench/faults.py [--faults worker,redis,daphne] [--end-timeout 150]

Starts the real embedded stack (`codexweb serve`: SQLite in a temporary var/, its own
redis-server, daphne and one worker with beat) with the Docker sandbox and the scripted model
server (tests/support/model_server.py). For each fault it submits an Ask task whose command
prints for a few seconds, follows it like the page (websocket, `?after=`) and like the CLI
(Server-Sent Events, `Last-Event-ID`), and once output streams, SIGKILLs the process by PID:

- worker: the Celery worker running the attempt;
- redis: the embedded redis-server;
- daphne: the web server.

Per fault it prints: seconds until the runner noticed (its "was killed" line), seconds until a
clear end state (the attempt ended and both followers saw its last event), events lost (seqs the
database has that a follower never got, plus any seen twice: must be 0) and orphans left
(processes of the killed process's group still alive, sandbox containers of the attempt still
there at the end: must be 0).

The worker's attempt can only end once housekeeping declares it lost: here with
ATTEMPT_TIMEOUT_SECONDS=60, SANDBOX_REAPER_GRACE_SECONDS=0 and housekeeping every 10 s, so the
figure is bound by those settings (the worker heartbeat, when it lands, bounds it instead).
A dockerd restart is not measured here: it would disturb the shared engine.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from bench.stack import bench_stack  # noqa: E402
from tests.support import processes  # noqa: E402
from tests.support.live_clients import AttemptFollower, SseFollower  # noqa: E402
from tests.support.model_server import ScriptedModelServer, call, reply  # noqa: E402

LOOP = "for i in $(seq 1 24); do echo line $i; sleep 0.25; done"
CHILD = {"worker": "worker", "redis": "redis-server", "daphne": "daphne"}

# Run inside the stack's environment (its SQLite): alice, her team, a local repository, an API
# token and a signed-in session.
SETUP = """
import json, sys, django
django.setup()
from django.test import Client
from codexweb.api.tokens import api_token_create
from repos.services import repository_register
from tests.support import factories
from pathlib import Path
repo_path = str(factories.make_git_repository(Path(sys.argv[1])))
alice = factories.make_user("alice")
team = factories.make_team("Acme", admin=alice)
repository = repository_register(team=team, location=repo_path)
client = Client()
client.force_login(alice)
print(json.dumps({"token": api_token_create(user=alice, name="bench").secret,
                  "cookie": client.cookies["sessionid"].value, "repository": repository.pk}))
"""


@dataclass
class Row:
    fault: str
    detect: float | None
    end: float | None
    end_state: str
    lost: int
    orphans: int


def containers_of(attempt_id: int) -> int:
    """The attempt's containers, one claimed from the pool (named, not labelled) included."""
    import docker

    from tasks.sandbox.base import SandboxOwner
    from tasks.sandbox.reaper import sandbox_containers

    return len(sandbox_containers(docker.from_env(), SandboxOwner.attempt(attempt_id)))


def run_fault(fault: str, stack: processes.EmbeddedStack, model: ScriptedModelServer,
              world: dict, end_timeout: float) -> Row:
    base = f"http://127.0.0.1:{stack.web_port}"
    headers = {"Authorization": f"Bearer {world['token']}"}
    model.add(reply(call("shell", {"command": LOOP})), reply("The loop prints 24 lines."))
    created = requests.post(f"{base}/api/v1/tasks", headers=headers, timeout=30, json={
        "repository": world["repository"], "mode": "ask", "prompt": f"Fault {fault}: count."})
    created.raise_for_status()
    attempt_id = int(created.json()["attempts"][0]["id"])
    page = AttemptFollower(stack.web_port, attempt_id, world["cookie"]).start()
    cli = SseFollower(base, attempt_id, world["token"])
    cli.start()
    processes.wait_until(lambda: "output" in page.kinds, timeout=180, what="output streaming")

    name = CHILD[fault]
    victim = stack.pids()[name]
    os.kill(victim, signal.SIGKILL)
    killed_at = time.monotonic()
    try:
        detect: float | None = stack.wait_for(f"{name} (pid {victim}) was killed", timeout=60)
    except AssertionError:
        detect = None

    attempt: dict = {}

    def ended() -> bool:
        nonlocal attempt
        try:
            answer = requests.get(f"{base}/api/v1/attempts/{attempt_id}", headers=headers,
                                  timeout=5)
        except requests.RequestException:
            return False
        if answer.status_code != 200:
            return False
        attempt = answer.json()
        return bool(attempt["finished"]) and page.last_seq() >= attempt["last_seq"] and (
            cli.end is not None)

    try:
        processes.wait_until(ended, timeout=end_timeout, what="a clear end state", interval=0.2)
        end: float | None = time.monotonic() - killed_at
        state = f"{attempt['status']}: {attempt['error'] or attempt['summary']}"[:70]
    except AssertionError:
        end, state = None, f"still {attempt.get('status', '?')} after {end_timeout:.0f}s"
    page.stop()
    cli.stopped.set()
    expected = list(range(1, int(attempt.get("last_seq", 0)) + 1))
    lost = sum(
        len(set(expected) - set(seen)) + (len(seen) - len(set(seen)))
        for seen in (page.seqs, cli.seqs)
    )
    orphans = len(processes.group_members(victim))
    if end is not None:
        orphans += containers_of(attempt_id)
    return Row(fault, detect, end, state, lost, orphans)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # The worker goes last: its attempt never asks the model for its final reply.
    parser.add_argument("--faults", default="redis,daphne,worker")
    parser.add_argument("--end-timeout", type=float, default=150.0)
    args = parser.parse_args()
    rows: list[Row] = []
    with ScriptedModelServer() as model, bench_stack(
        model, prefix="bench-faults-", LOG_LEVEL="INFO",
        ATTEMPT_TIMEOUT_SECONDS="60", SANDBOX_REAPER_GRACE_SECONDS="0",
        HOUSEKEEPING_INTERVAL_SECONDS="10", SANDBOX_WARM_CACHE_HOURS="0",
    ) as bench:
        # The repository is made under the bench's folder: GIT_LOCAL_ROOTS lets it be
        # registered by path.
        world = bench.django(SETUP, str(bench.work / "repo"))
        for fault in args.faults.split(","):
            rows.append(run_fault(fault, bench.stack, model, world, args.end_timeout))
            processes.wait_until(lambda: processes.port_open(bench.stack.web_port),
                                 timeout=60, what="web up")

    print()
    print("| fault (SIGKILL mid-attempt) | detected after | clear end state after | "
          "end state | events lost | orphans left |")
    print("| --- | --- | --- | --- | --- | --- |")
    for row in rows:
        detect = f"{row.detect:.1f} s" if row.detect is not None else "not detected"
        end = f"{row.end:.1f} s" if row.end is not None else "none"
        print(f"| {row.fault} | {detect} | {end} | {row.end_state} | {row.lost} | "
              f"{row.orphans} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
