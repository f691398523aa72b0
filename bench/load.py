"""Load benchmark: N Code attempts submitted at once through the REST API (issue 18).

    .venv/bin/python bench/load.py [--attempts 20] [--concurrency 20] [--database postgres]
                                   [--delay 0.5,2]

Starts the real embedded stack (`codexweb serve`: its own redis-server, daphne and one Celery
worker with `--concurrency` processes) on PostgreSQL (a private server from
tests/support/services.py, a fresh database) or SQLite (`--database sqlite`), with the Docker
sandbox and the scripted model server on loopback. The model answers every request after a
random delay in `--delay` seconds (realistic replies), choosing its reply from the conversation
so that each attempt gets the same 4-step task whatever the order: run the failing pytest,
apply_patch, rerun it (a short test command), final answer.

First one attempt runs alone (the baseline), then `--attempts` are submitted at once, each
followed by a websocket like the page. Prints: how many succeeded (must be all), the slowdown
(submit → finished p95 under load ÷ the lone attempt's), queue wait p50/p95 (created →
started), submit → first command p50/p95, event append → websocket p50/p95 (the event's
`created_at` to its receipt), the CPU seconds and peak memory of the worker and of the web
server (each with its child processes), sandbox containers alive at peak and left over after
(must be 0), with the load average next to them. Exits 1 only when an attempt fails.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from bench.stack import (  # noqa: E402
    FIX,
    TEST,
    BenchStack,
    attempt_events,
    bench_stack,
    load_average,
    make_project,
    parse_time,
)
from tests.support.live_clients import MiniWebSocket  # noqa: E402
from tests.support.model_server import (  # noqa: E402
    RecordedRequest,
    Reply,
    ScriptedModelServer,
    call,
    reply,
)
from tests.support.processes import wait_until  # noqa: E402

OWNER_LABEL = "org.codexweb.owner"  # tasks/sandbox/spec.py: "host:pid:starttime" of the worker

# Run inside the stack's environment: alice, her team, the project, an API token, a session.
SETUP = """
import json, sys, django
django.setup()
from django.test import Client
from codexweb.api.tokens import api_token_create
from repos.services import repository_register
from tests.support import factories
alice = factories.make_user("alice")
team = factories.make_team("Acme", admin=alice)
repository = repository_register(team=team, location=sys.argv[1])
client = Client()
client.force_login(alice)
print(json.dumps({"token": api_token_create(user=alice, name="bench").secret,
                  "cookie": client.cookies["sessionid"].value, "repository": repository.pk}))
"""


def responder(low: float, high: float):  # noqa: ANN201 - a model-server step
    """The model: after a delay, the next step of the task, read from the conversation (the
    attempts' requests arrive interleaved, so no fixed order can be scripted)."""

    def respond(request: RecordedRequest) -> Reply:
        time.sleep(random.uniform(low, high))  # noqa: S311 - a delay, not a secret
        done = len(request.tool_outputs())
        if done == 0:
            return reply(call("shell", {"command": TEST}))
        if done == 1:
            return reply(call("apply_patch", {"patch": FIX}))
        if done == 2:
            return reply(call("shell", {"command": TEST}))
        chunk = request.chunk_ids()[-1]
        return reply(f"`add` now adds 【F:calc/ops.py†L1-L2】; the tests pass 【T:{chunk}†L1】.")

    return respond


@dataclass
class Attempt:
    id: int
    submitted: float
    receipts: dict[int, float] = field(default_factory=dict)  # seq -> wall time received
    connected: float = 0.0  # when its websocket opened: earlier events arrive as a replay
    record: dict = field(default_factory=dict)
    events: list[dict] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.record.get("status") == "succeeded"

    def since_submit(self, at: float) -> float:
        return at - parse_time(self.record["created_at"])

    def first_command(self) -> float:
        for event in self.events:
            if event["kind"] == "command":
                return self.since_submit(parse_time(event["created_at"]))
        return float("nan")

    def latencies(self) -> list[float]:
        return [self.receipts[e["seq"]] - parse_time(e["created_at"])
                for e in self.events
                if e["seq"] in self.receipts and parse_time(e["created_at"]) > self.connected]


class Followers:
    """One websocket per attempt (as the page opens one), in an event loop of their own thread,
    recording when each event arrives."""

    def __init__(self, port: int, cookie: str) -> None:
        self.port, self.cookie = port, cookie
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.sockets: list[MiniWebSocket] = []
        self.pumps: list[asyncio.Future] = []
        self.refused = 0  # attempts whose websocket never opened

    def follow(self, attempt: Attempt) -> None:
        """Open the attempt's websocket (5 tries); a follower that cannot connect is counted."""
        for _ in range(5):
            try:
                future = asyncio.run_coroutine_threadsafe(self._follow(attempt), self.loop)
                future.result(timeout=60)
                return
            except (OSError, RuntimeError, TimeoutError, asyncio.IncompleteReadError):
                time.sleep(0.5)
        self.refused += 1

    async def _follow(self, attempt: Attempt) -> None:
        ws = await MiniWebSocket.open(
            self.port, f"/ws/attempts/{attempt.id}/?after=0",
            {"Origin": f"http://127.0.0.1:{self.port}", "Cookie": f"sessionid={self.cookie}"},
        )
        self.sockets.append(ws)
        attempt.connected = time.time()

        async def pump() -> None:
            try:
                while (text := await ws.receive()) is not None:
                    event = json.loads(text).get("event", {})
                    if "seq" in event:
                        attempt.receipts.setdefault(int(event["seq"]), time.time())
            except (OSError, asyncio.IncompleteReadError):
                pass

        self.pumps.append(asyncio.ensure_future(pump()))

    def stop(self) -> None:
        async def close() -> None:
            for pump in self.pumps:
                pump.cancel()
            await asyncio.gather(*self.pumps, return_exceptions=True)
            for ws in self.sockets:
                with contextlib.suppress(OSError):
                    ws.close()

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(close(), self.loop).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)


def descendants(pid: int) -> list[int]:
    """`pid` and every process below it, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo += children.get(current, [])
    return found


def cpu_and_rss(pids: list[int]) -> tuple[float, float]:
    """CPU seconds (user + system, children reaped included) and resident MB of `pids`."""
    tick = os.sysconf("SC_CLK_TCK")
    cpu = rss = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        cpu += sum(int(x) for x in fields[11:15]) / tick
        rss += int(fields[21]) * os.sysconf("SC_PAGE_SIZE") / 1e6
    return cpu, rss


class Sampler(threading.Thread):
    """Every half second: CPU and memory of the worker and the web server trees, and the sandbox
    containers whose owner is one of the worker's processes."""

    def __init__(self, worker: int, web: int) -> None:
        super().__init__(daemon=True)
        self.roots = {"worker": worker, "web": web}
        self.stopped = threading.Event()
        self.cpu_start = {name: self.usage(name)[0] for name in self.roots}
        self.cpu_end = dict(self.cpu_start)
        self.rss_peak = dict.fromkeys(self.roots, 0.0)
        self.worker_pids: set[int] = set()
        self.containers_peak = 0
        self.errors: list[str] = []

    def usage(self, name: str) -> tuple[float, float]:
        return cpu_and_rss(descendants(self.roots[name]))

    def containers(self) -> int:
        """Sandbox containers (running or not) owned by one of the worker's processes."""
        import docker

        client = docker.from_env()  # DOCKER_HOST, as the worker's engine
        try:  # the low-level list: no inspect per container (they come and go meanwhile)
            listed = client.api.containers(all=True, filters={"label": OWNER_LABEL})
        finally:
            client.close()
        return sum(
            1 for c in listed
            if _owner_pid((c.get("Labels") or {}).get(OWNER_LABEL, "")) in self.worker_pids
        )

    def run(self) -> None:
        while not self.stopped.wait(0.5):
            try:
                self.sample()
            except Exception as exc:  # noqa: BLE001 - a missed sample must not end the bench
                self.errors.append(str(exc)[:200])

    def sample(self) -> None:
        self.worker_pids.update(descendants(self.roots["worker"]))
        for name in self.roots:
            cpu, rss = self.usage(name)
            self.cpu_end[name] = cpu
            self.rss_peak[name] = max(self.rss_peak[name], rss)
        self.containers_peak = max(self.containers_peak, self.containers())


def _owner_pid(owner: str) -> int:
    parts = owner.split(":")
    return int(parts[1]) if len(parts) >= 2 and parts[1].isdigit() else -1


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * (len(ordered) - 1) + 0.5))] if ordered else 0


def submit(base: str, headers: dict, repository: int, n: int) -> Attempt:
    answer = requests.post(f"{base}/api/v1/tasks", headers=headers, timeout=120, json={
        "repository": repository, "mode": "code", "prompt": f"Load {n}: fix the failing test."})
    answer.raise_for_status()
    return Attempt(int(answer.json()["attempts"][0]["id"]), time.time())


def finish(base: str, headers: dict, attempts: list[Attempt], timeout: float) -> None:
    """Wait (bounded) until every attempt finished; then read its record and events."""

    def all_finished() -> bool:
        for attempt in attempts:
            if attempt.record.get("finished"):
                continue
            got = requests.get(f"{base}/api/v1/attempts/{attempt.id}", headers=headers,
                               timeout=30)
            if got.status_code == 200:
                attempt.record = got.json()
        return all(a.record.get("finished") for a in attempts)

    wait_until(all_finished, timeout=timeout, what="every attempt finished", interval=0.5)
    for attempt in attempts:
        attempt.events = attempt_events(base, headers, attempt.id)


def wall(attempt: Attempt) -> float:
    return attempt.since_submit(parse_time(attempt.record["finished_at"]))


def report(lone: Attempt, attempts: list[Attempt], sampler: Sampler, leftovers: int,
           elapsed: float, refused: int) -> None:
    walls = [wall(a) for a in attempts]
    queue = [parse_time(a.record["started_at"]) - parse_time(a.record["created_at"])
             for a in attempts if a.record.get("started_at")]
    first = [a.first_command() for a in attempts]
    latency = [x for a in attempts for x in a.latencies()]
    lone_wall = wall(lone)
    rows = [
        ("succeeded", f"{sum(a.ok for a in attempts)}/{len(attempts)}"),
        ("lone attempt: submit → finished / → first command",
         f"{lone_wall:.1f} s / {lone.first_command():.2f} s"),
        ("under load: submit → finished p50 / p95",
         f"{percentile(walls, 0.5):.1f} s / {percentile(walls, 0.95):.1f} s"),
        ("slowdown (p95 under load ÷ lone)", f"{percentile(walls, 0.95) / lone_wall:.1f}×"),
        ("queue wait p50 / p95",
         f"{percentile(queue, 0.5):.2f} s / {percentile(queue, 0.95):.2f} s"),
        ("submit → first command p50 / p95",
         f"{percentile(first, 0.5):.2f} s / {percentile(first, 0.95):.2f} s"),
        ("event append → websocket p50 / p95",
         f"{percentile(latency, 0.5) * 1000:.0f} ms / {percentile(latency, 0.95) * 1000:.0f} ms"
         f" ({len(latency)} events; {refused} websockets never opened)"),
        ("worker CPU / peak memory",
         f"{sampler.cpu_end['worker'] - sampler.cpu_start['worker']:.1f} s / "
         f"{sampler.rss_peak['worker']:.0f} MB"),
        ("web (daphne) CPU / peak memory",
         f"{sampler.cpu_end['web'] - sampler.cpu_start['web']:.1f} s / "
         f"{sampler.rss_peak['web']:.0f} MB"),
        ("containers alive at peak", str(sampler.containers_peak)),
        ("containers left after", str(leftovers)),
        ("wall of the whole round", f"{elapsed:.1f} s"),
    ]
    print()
    print("| figure | value |")
    print("| --- | --- |")
    for name, value in rows:
        print(f"| {name} | {value} |")
    print(f"load average after: {load_average()} ({os.cpu_count()} cores)")


def postgres_url() -> str:
    """A fresh database on a private PostgreSQL (bench/stream.py's)."""
    from bench.stream import prepare_database
    from tests.support.services import ensure_services

    ensure_services()
    return prepare_database()


def run_round(
    bench: BenchStack, args: argparse.Namespace, concurrency: int, delay: tuple[float, float]
) -> bool:
    """The lone attempt, then `args.attempts` at once; prints the figures. All succeeded?"""
    repo = make_project(bench.work / "calc")
    world = bench.django(SETUP, str(repo))
    base = bench.base
    headers = {"Authorization": f"Bearer {world['token']}"}
    followers = Followers(bench.stack.web_port, world["cookie"])
    try:
        pids = bench.stack.pids()
        print(f"{args.database}, worker concurrency {concurrency}, model delay "
              f"{delay[0]:g}–{delay[1]:g} s; load average before: {load_average()}")

        lone = submit(base, headers, world["repository"], 0)
        followers.follow(lone)
        finish(base, headers, [lone], args.timeout)
        print(f"lone attempt: {lone.record['status']} in {wall(lone):.1f} s "
              f"(load {load_average()})")

        sampler = Sampler(pids["worker"], pids["daphne"])
        sampler.start()
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=min(args.attempts, 20)) as pool:
            attempts = list(pool.map(
                lambda n: submit(base, headers, world["repository"], n),
                range(1, args.attempts + 1)))
        for attempt in attempts:
            followers.follow(attempt)
        finish(base, headers, attempts, args.timeout)
        elapsed = time.monotonic() - started
        sampler.stopped.set()
        sampler.join(timeout=10)
        with contextlib.suppress(AssertionError):
            wait_until(lambda: sampler.containers() == 0, timeout=60,
                       what="the sandbox containers removed")
        for attempt in [lone, *attempts]:
            if not attempt.ok:
                print(f"attempt {attempt.id}: {attempt.record.get('status')}: "
                      f"{attempt.record.get('error')}", file=sys.stderr)
        report(lone, attempts, sampler, sampler.containers(), elapsed, followers.refused)
        if sampler.errors:
            print(f"{len(sampler.errors)} samples missed: {sampler.errors[0]}")
        return lone.ok and all(a.ok for a in attempts)
    finally:
        followers.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attempts", type=int, default=20, help="attempts submitted at once")
    parser.add_argument("--concurrency", type=int, default=0,
                        help="worker processes (default: as many as attempts)")
    parser.add_argument("--database", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--delay", default="0.5,2", help="model reply delay range, seconds")
    parser.add_argument("--timeout", type=float, default=900, help="seconds to wait for all")
    args = parser.parse_args()
    low, high = (float(x) for x in args.delay.split(","))
    if args.attempts < 1 or args.concurrency < 0 or not 0 <= low <= high:
        parser.error("--attempts must be positive, --delay LOW,HIGH with 0 ≤ LOW ≤ HIGH")
    concurrency = args.concurrency or args.attempts
    extra = {"DATABASE_URL": postgres_url()} if args.database == "postgres" else {}
    with ScriptedModelServer() as model:
        model.add(*[responder(low, high)] * (4 * (args.attempts + 1) + 20))
        with bench_stack(model, prefix="bench-load-", wait=300,
                         WORKER_CONCURRENCY=str(concurrency), **extra) as bench:
            ok = run_round(bench, args, concurrency, (low, high))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
