"""Load benchmark: N Code attempts at once, or paced, through the REST API (issue 18).

    .venv/bin/python bench/load.py [--attempts 20] [--lone 5] [--concurrency 20]
                                   [--pool threads|prefork]
                                   [--database postgres] [--delay 0.5,2]
                                   [--profile RAW --py-spy /tmp/spy/bin/py-spy]
    .venv/bin/python bench/load.py --paced 60 --hours 1      # 60 spread over an hour
    .venv/bin/python bench/load.py --paced 5 --minutes 5     # the same rate, a smoke run

Starts the real embedded stack (`codexweb serve`: its own redis-server, daphne and one Celery
worker running `--concurrency` attempts at once in its pool, WORKER_POOL) on PostgreSQL (a
private server from tests/support/services.py, a fresh database) or SQLite (`--database
sqlite`), with the Docker sandbox and the scripted model server on loopback. The model answers
every request after a random delay in `--delay` seconds (realistic replies), choosing its reply
from the conversation so that each attempt gets the same 4-step task whatever the order: run
the failing pytest, apply_patch, rerun it (a short test command), final answer.

First an untimed warm-up attempt (the mirror's first clone, the worker's first connections),
then `--lone` attempts alone one after another (the baseline: 5 by default, so its p95 is
as much a p95 as the crowd's; one lone attempt was one draw of the model's random delays and
moved the ratio by ±40 %), then `--attempts` submitted at once (or `--paced N`
spread evenly over the span), each followed by a websocket like the page. Prints: how many
succeeded (must be all), the slowdown (submit → finished p95 under load ÷ the same p95 of the
lone attempts, as issue 18 defines it; and ÷ their median, the stricter figure),
queue wait p50/p95 (created → started), submit → first command p50/p95, event append →
websocket p50/p95 (the event's `created_at` to its receipt), the CPU seconds and peak memory
(proportional set size: pages the pool processes share are counted once) of the worker and of
the web server, where the round's CPU went (worker, web, the Docker engine, the containers'
own processes, their containerd shims, PostgreSQL and redis-server, their sum as the product,
this bench's own process (its clients, the model server, the sampler: not the product), the rest
of the machine: bench/usage.py), sandbox
containers alive at peak and left over after (must be 0), with the load average next to them.
`--profile` / `--profile-web`: py-spy samples the worker's / daphne's threads holding the GIL
during the round. Exits 1
only when an attempt fails.
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
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from bench import stack, usage  # noqa: E402
from bench.machine import load_average  # noqa: E402
from bench.pyspy import Recorder, summarize  # noqa: E402
from tests.support import model_server as scripted  # noqa: E402
from tests.support.live_clients import MiniWebSocket  # noqa: E402
from tests.support.processes import wait_until  # noqa: E402
from tests.support.services import postgres_sessions  # noqa: E402

ENDED = {"succeeded", "failed", "cancelled", "stopped"}  # tasks/models.py FINISHED_STATUSES
# An attempt whose websocket saw no end yet: its record read this often (a fallback: the
# websocket shows the end). Every 5 s was, at 20 attempts in a 170 s round, ~34 API requests
# per attempt, each a new PostgreSQL connection: most of the round's connections, and a share
# of daphne's and PostgreSQL's CPU that grew with the round's length, not with the product.
POLL_SECONDS = 30.0
# The sampler reads the process table and the containers' cgroups this often, and the engine's
# container list and the processes' proportional memory (a walk of their page tables) every
# LIST_EVERY samples: an engine call every half second was itself a share of the engine's CPU.
SAMPLE_SECONDS = 0.5
LIST_EVERY = 4
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

    def respond(request: scripted.RecordedRequest) -> scripted.Reply:
        time.sleep(random.uniform(low, high))  # noqa: S311 - a delay, not a secret
        done = len(request.tool_outputs())
        if done == 0:
            return scripted.reply(scripted.call("shell", {"command": stack.TEST}))
        if done == 1:
            return scripted.reply(scripted.call("apply_patch", {"patch": stack.FIX}))
        if done == 2:
            return scripted.reply(scripted.call("shell", {"command": stack.TEST}))
        chunk = request.chunk_ids()[-1]
        return scripted.reply(
            f"`add` now adds 【F:calc/ops.py†L1-L2】; the tests pass 【T:{chunk}†L1】.")

    return respond


@dataclass
class Attempt:
    id: int
    submitted: float
    receipts: dict[int, float] = field(default_factory=dict)  # seq -> wall time received
    connected: float = 0.0  # when its websocket opened: earlier events arrive as a replay
    record: dict = field(default_factory=dict)
    events: list[dict] = field(default_factory=list)
    ended: threading.Event = field(default_factory=threading.Event)  # its websocket saw the end
    polled: float = 0.0  # when its record was last read

    @property
    def ok(self) -> bool:
        return self.record.get("status") == "succeeded"

    def since_submit(self, at: float) -> float:
        return at - stack.parse_time(self.record["created_at"])

    def first_command(self) -> float:
        for event in self.events:
            if event["kind"] == "command":
                return self.since_submit(stack.parse_time(event["created_at"]))
        return float("nan")

    def latencies(self) -> list[float]:
        return [self.receipts[e["seq"]] - stack.parse_time(e["created_at"])
                for e in self.events
                if e["seq"] in self.receipts and stack.parse_time(e["created_at"]) > self.connected]


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
                    received = time.time()  # before parsing: the client's own work is not daphne's
                    event = json.loads(text).get("event", {})
                    if "seq" in event:
                        attempt.receipts.setdefault(int(event["seq"]), received)
                    if (event.get("kind") == "status"
                            and (event.get("payload") or {}).get("status") in ENDED):
                        attempt.ended.set()
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


class Sampler(threading.Thread):
    """Every half second: CPU and memory of the worker and the web server trees, the Docker
    engine's CPU, the database's and Redis's (their servers found by port), this bench
    process's own (its clients, the model server, this sampler: not the product), the
    machine's, and each sandbox container owned by one of the worker's processes (its own CPU
    and its shim's, last seen before it was removed)."""

    def __init__(self, worker: int, web: int, *, database_port: int | None,
                 redis_port: int | None) -> None:
        super().__init__(daemon=True)
        self.roots: dict[str, int | None] = {"worker": worker, "web": web}
        # Found once: the postmaster, redis-server and dockerd outlive the round (their
        # children, the backends and containerd, are read from each sample's process table).
        self.roots["database"] = (usage.server_root("postgres", database_port)
                                  if database_port else None)
        self.roots["redis"] = usage.server_root("redis-server", redis_port) if redis_port else None
        self.roots["engine"] = usage.engine_root()
        self.shims = usage.Shims()
        self.stopped = threading.Event()
        self.samples = 0
        self.own_cpu = 0.0  # this thread's CPU seconds: the sampling's cost, part of the bench's
        table = usage.process_table()
        self.cpu_start = {name: self.cpu(table, name) for name in self.roots}
        self.cpu_start["bench"] = usage.self_cpu()
        self.cpu_start["machine"] = usage.machine_busy()
        self.cpu_end = dict(self.cpu_start)
        self.began = self.last = time.monotonic()
        self.rss_peak = {"worker": 0.0, "web": 0.0}
        self.pss_peak: dict[str, float] = {}
        self.worker_pids: set[int] = set()
        self.containers_peak = 0
        self.owned: set[str] = set()  # the worker's attempt containers seen so far
        self.gone: set[str] = set()  # ... and those whose cgroup is gone (removed)
        self.container_cpu: dict[str, float] = {}  # container id -> its processes' CPU seconds
        self.shim_cpu: dict[str, float] = {}  # container id -> its shim's CPU seconds
        self.container_memory: dict[str, float] = {}  # container id -> its peak MB
        self.errors: list[str] = []

    def cpu(self, table: dict[int, usage.Process], name: str) -> float:
        """CPU seconds of the named tree in `table` (0 for one not found)."""
        root = self.roots[name]
        return sum(p.cpu for p in usage.tree(table, root)) if root else 0.0

    def container_ids(self, *, pooled: bool = False) -> list[str]:
        """Sandbox containers (running or not) owned by one of the worker's processes: the
        attempts', or (`pooled`) the unclaimed ones the worker keeps in its pool on purpose."""
        import docker

        from tasks.sandbox.pool import POOL_PREFIX

        client = docker.from_env()  # DOCKER_HOST, as the worker's engine
        try:  # the low-level list: no inspect per container (they come and go meanwhile)
            listed = client.api.containers(all=True, filters={"label": OWNER_LABEL})
        finally:
            client.close()
        return [
            c["Id"] for c in listed
            if _owner_pid((c.get("Labels") or {}).get(OWNER_LABEL, "")) in self.worker_pids
            and pooled == any(n.lstrip("/").startswith(POOL_PREFIX) for n in c.get("Names") or [])
        ]

    def containers(self) -> int:
        return len(self.container_ids())

    def run(self) -> None:
        while not self.stopped.wait(SAMPLE_SECONDS):
            began = time.thread_time()
            try:
                self.sample()
            except Exception as exc:  # noqa: BLE001 - a missed sample must not end the bench
                self.errors.append(str(exc)[:200])
            self.own_cpu += time.thread_time() - began

    def sample(self) -> None:
        """One process table for every tree; the engine's container list and the memory
        figures (smaps walks) every LIST_EVERY samples; each container's cgroup every sample."""
        table = usage.process_table()
        full = self.samples % LIST_EVERY == 0
        self.samples += 1
        for name in self.roots:
            self.cpu_end[name] = self.cpu(table, name)
        for name in ("worker", "web"):
            processes = usage.tree(table, self.roots[name] or 0)
            self.rss_peak[name] = max(self.rss_peak[name], sum(p.rss_mb for p in processes))
            if name == "worker":
                self.worker_pids.update(p.pid for p in processes)
            if full:
                pss = usage.pss_mb([p.pid for p in processes])
                self.pss_peak[name] = max(self.pss_peak.get(name, 0.0), pss)
        self.cpu_end["bench"] = usage.self_cpu()
        self.cpu_end["machine"] = usage.machine_busy()
        self.last = time.monotonic()
        if full:
            ids = self.container_ids()
            self.containers_peak = max(self.containers_peak, len(ids))
            self.owned.update(ids)
        shims = self.shims.cpus(table)  # read before the cgroups: see container_has_processes
        for cid in self.owned - self.gone:
            if (seconds := usage.container_cpu(cid)) is None:
                if cid in self.container_cpu:  # read before: removed (a new one has none yet)
                    self.gone.add(cid)
                continue
            self.container_cpu[cid] = seconds
            if (peak := usage.container_memory_peak(cid)) is not None:
                self.container_memory[cid] = peak
            if cid in shims and usage.container_has_processes(cid):
                self.shim_cpu[cid] = shims[cid]

    def spent(self, name: str) -> float:
        return self.cpu_end[name] - self.cpu_start[name]

    def wall(self) -> float:
        return self.last - self.began


def _owner_pid(owner: str) -> int:
    parts = owner.split(":")
    return int(parts[1]) if len(parts) >= 2 and parts[1].isdigit() else -1


def database_sessions(url: str) -> int | None:
    """Connections made to the bench's database so far (PostgreSQL's own count; None on SQLite
    or an older server): each is a server process forked and signed in, on both sides."""
    return postgres_sessions(url) if url.startswith("postgres") else None


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * (len(ordered) - 1) + 0.5))] if ordered else 0


def submit(base: str, headers: dict, repository: int, n: int) -> Attempt:
    answer = requests.post(f"{base}/api/v1/tasks", headers=headers, timeout=120, json={
        "repository": repository, "mode": "code", "prompt": f"Load {n}: fix the failing test."})
    answer.raise_for_status()
    return Attempt(int(answer.json()["attempts"][0]["id"]), time.time())


def finish(base: str, headers: dict, attempts: list[Attempt], timeout: float) -> None:
    """Wait (bounded) until every attempt finished; then read its record and events. An
    attempt's record is read when its websocket saw it end, else every POLL_SECONDS: polling
    20 records twice a second was itself a load on the web server and the database (and on
    the crowd only, not on the lone attempt)."""

    def all_finished() -> bool:
        now = time.monotonic()
        for attempt in attempts:
            if attempt.record.get("finished"):
                continue
            if not attempt.ended.is_set() and now - attempt.polled < POLL_SECONDS:
                continue
            attempt.polled = now
            got = requests.get(f"{base}/api/v1/attempts/{attempt.id}", headers=headers,
                               timeout=30)
            if got.status_code == 200:
                attempt.record = got.json()
        return all(a.record.get("finished") for a in attempts)

    wait_until(all_finished, timeout=timeout, what="every attempt finished", interval=0.2)
    for attempt in attempts:
        attempt.events = stack.attempt_events(base, headers, attempt.id)


def wall(attempt: Attempt) -> float:
    return attempt.since_submit(stack.parse_time(attempt.record["finished_at"]))


def report(lone: list[Attempt], attempts: list[Attempt], sampler: Sampler, leftovers: int,
           elapsed: float, refused: int, sessions: int | None) -> None:
    walls = [wall(a) for a in attempts]
    queue = [stack.parse_time(a.record["started_at"]) - stack.parse_time(a.record["created_at"])
             for a in attempts if a.record.get("started_at")]
    first = [a.first_command() for a in attempts]
    latency = [x for a in attempts for x in a.latencies()]
    lone_walls = [wall(a) for a in lone]
    lone_p50, lone_p95 = percentile(lone_walls, 0.5), percentile(lone_walls, 0.95)
    loaded_p95 = percentile(walls, 0.95)
    rows = [
        ("succeeded", f"{sum(a.ok for a in attempts)}/{len(attempts)}"),
        (f"lone ({len(lone)} one after another): submit → finished p50 / p95",
         f"{lone_p50:.1f} s / {lone_p95:.1f} s (each: "
         + ", ".join(f"{w:.1f}" for w in lone_walls) + ")"),
        ("lone: submit → first command p50",
         f"{percentile([a.first_command() for a in lone], 0.5):.2f} s"),
        ("under load: submit → finished p50 / p95",
         f"{percentile(walls, 0.5):.1f} s / {loaded_p95:.1f} s"),
        ("slowdown (p95 under load ÷ lone p95; ÷ lone p50)",
         f"{loaded_p95 / lone_p95:.1f}×; {loaded_p95 / lone_p50:.1f}×"),
        ("queue wait p50 / p95",
         f"{percentile(queue, 0.5):.2f} s / {percentile(queue, 0.95):.2f} s"),
        ("submit → first command p50 / p95",
         f"{percentile(first, 0.5):.2f} s / {percentile(first, 0.95):.2f} s"),
        ("event append → websocket p50 / p95",
         f"{percentile(latency, 0.5) * 1000:.0f} ms / {percentile(latency, 0.95) * 1000:.0f} ms"
         f" ({len(latency)} events; {refused} websockets never opened)"),
        ("worker CPU / peak memory (resident / proportional)",
         f"{sampler.spent('worker'):.1f} s / {sampler.rss_peak['worker']:.0f} MB / "
         f"{sampler.pss_peak.get('worker', 0):.0f} MB"),
        ("web (daphne) CPU / peak memory (resident / proportional)",
         f"{sampler.spent('web'):.1f} s / {sampler.rss_peak['web']:.0f} MB / "
         f"{sampler.pss_peak.get('web', 0):.0f} MB"),
        *cpu_rows(sampler, len(attempts)),
        ("PostgreSQL connections made (the bench's own reads' included)",
         "–" if sessions is None else f"{sessions} ({sessions / len(attempts):.0f} per attempt)"),
        ("containers alive at peak", str(sampler.containers_peak)),
        ("a container's peak memory p50 / max",
         f"{percentile(list(sampler.container_memory.values()), 0.5):.0f} MB / "
         f"{max(sampler.container_memory.values(), default=0):.0f} MB"),
        ("containers left after (attempts')", str(leftovers)),
        ("pre-started containers waiting in the pool (SANDBOX_POOL_SIZE)",
         str(len(sampler.container_ids(pooled=True)))),
        ("wall of the whole round", f"{elapsed:.1f} s"),
    ]
    print()
    print("| figure | value |")
    print("| --- | --- |")
    for name, value in rows:
        print(f"| {name} | {value} |")
    print(f"load average after: {load_average()} ({os.cpu_count()} cores)")


def cpu_rows(sampler: Sampler, n: int) -> list[tuple[str, str]]:
    """Where the round's CPU went: per part, in seconds and per attempt. The product's parts
    sum to "the product"; the bench's own process (its websocket and HTTP clients, the scripted
    model server, this sampler) is not the product, and what is left is the rest of the machine
    (other sessions, the kernel's own threads). The engine's figure includes whatever else used
    it meanwhile (a shared engine; the sampler's own container listings, every
    SAMPLE_SECONDS * LIST_EVERY, too)."""
    parts = [
        ("worker (main + pool processes)", sampler.spent("worker")),
        ("web (daphne)", sampler.spent("web")),
        ("Docker engine (dockerd + containerd)", sampler.spent("engine")),
        ("containers' own processes (commands, execs)", sum(sampler.container_cpu.values())),
        ("containerd shims (runc start/exec/stop)", sum(sampler.shim_cpu.values())),
        ("PostgreSQL (server + backends)", sampler.spent("database")),
        ("redis-server", sampler.spent("redis")),
    ]
    product = sum(seconds for _, seconds in parts)
    bench = sampler.spent("bench")
    machine = sampler.spent("machine")
    rest = machine - product - bench

    def row(name: str, seconds: float) -> tuple[str, str]:
        return (f"CPU: {name}", f"{seconds:.1f} s ({seconds / n:.2f} s per attempt)")

    return [
        *[row(name, seconds) for name, seconds in parts],
        row("the product (the parts above)", product),
        row("the bench itself (clients, model server, sampler; not the product)", bench),
        row("  of it, the sampler's own thread", sampler.own_cpu),
        row("the rest (other sessions, the kernel)", rest),
        ("CPU: whole machine (busy seconds, all cores)",
         f"{machine:.1f} s of {sampler.wall() * (os.cpu_count() or 1):.0f} s available"),
    ]


def postgres_url() -> str:
    """A fresh database on a private PostgreSQL (bench/stream.py's)."""
    from bench.stream import prepare_database
    from tests.support.services import ensure_services

    ensure_services()
    return prepare_database()


def submit_all(bench: stack.BenchStack, world: dict, followers: Followers, n: int,
               spread: float) -> list[Attempt]:
    """`n` attempts: all at once (`spread` 0), or one every `spread / n` seconds (paced), each
    followed by a websocket as soon as it is submitted."""
    headers = {"Authorization": f"Bearer {world['token']}"}
    if spread <= 0:
        with ThreadPoolExecutor(max_workers=min(n, 20)) as pool:
            attempts = list(pool.map(
                lambda i: submit(bench.base, headers, world["repository"], i), range(1, n + 1)))
        for attempt in attempts:
            followers.follow(attempt)
        return attempts
    attempts, began = [], time.monotonic()
    for i in range(1, n + 1):
        time.sleep(max(0.0, began + (i - 1) * spread / n - time.monotonic()))
        attempts.append(submit(bench.base, headers, world["repository"], i))
        followers.follow(attempts[-1])
        if i % 10 == 0 or i == n:
            print(f"  {i}/{n} submitted after {time.monotonic() - began:.0f} s "
                  f"(load {load_average()})", flush=True)
    return attempts


def run_one(bench: stack.BenchStack, world: dict, followers: Followers, timeout: float,
            what: str) -> Attempt:
    headers = {"Authorization": f"Bearer {world['token']}"}
    attempt = submit(bench.base, headers, world["repository"], 0)
    followers.follow(attempt)
    finish(bench.base, headers, [attempt], timeout)
    print(f"{what}: {attempt.record['status']} in {wall(attempt):.1f} s, first command "
          f"{attempt.first_command():.2f} s (load {load_average()})", flush=True)
    return attempt


def run_round(bench: stack.BenchStack, args: argparse.Namespace, concurrency: int,
              delay: tuple[float, float], spread: float) -> bool:
    """A warm-up attempt (the stack's first: the mirror's clone, first connections), the lone
    attempts (the baseline), then `args.attempts` at once or paced over `spread` seconds;
    prints the figures. All succeeded?"""
    repo = stack.make_project(bench.work / "calc")
    world = bench.django(SETUP, str(repo))
    headers = {"Authorization": f"Bearer {world['token']}"}
    followers = Followers(bench.stack.web_port, world["cookie"])
    try:
        pids = bench.stack.pids()
        how = f"paced over {spread / 60:g} min" if spread > 0 else "at once"
        print(f"{args.database}, {args.attempts} attempts {how}, worker concurrency "
              f"{concurrency}, model delay {delay[0]:g}–{delay[1]:g} s; "
              f"load average before: {load_average()}", flush=True)
        warmup = run_one(bench, world, followers, args.timeout, "warm-up (untimed)")
        lone = [run_one(bench, world, followers, args.timeout, f"lone attempt {i + 1}")
                for i in range(args.lone)]

        recorder = (Recorder(args.py_spy, pids["worker"], args.profile, idle=False)
                    if args.profile else None)
        web_recorder = (Recorder(args.py_spy, pids["daphne"], args.profile_web, idle=False)
                        if args.profile_web else None)
        sampler = Sampler(pids["worker"], pids["daphne"],
                          database_port=urlparse(bench.env.get("DATABASE_URL", "")).port,
                          redis_port=urlparse(bench.env.get("REDIS_URL", "")).port)
        sessions_before = database_sessions(bench.env.get("DATABASE_URL", ""))
        sampler.start()
        started = time.monotonic()
        attempts = submit_all(bench, world, followers, args.attempts, spread)
        finish(bench.base, headers, attempts, args.timeout + spread)
        elapsed = time.monotonic() - started
        for each in (recorder, web_recorder):
            if each:
                each.stop()
        sampler.stopped.set()
        sampler.join(timeout=10)
        sessions_after = database_sessions(bench.env.get("DATABASE_URL", ""))
        sessions = (None if sessions_before is None or sessions_after is None
                    else sessions_after - sessions_before)
        with contextlib.suppress(AssertionError):
            wait_until(lambda: sampler.containers() == 0, timeout=60,
                       what="the sandbox containers removed")
        for attempt in [warmup, *lone, *attempts]:
            if not attempt.ok:
                print(f"attempt {attempt.id}: {attempt.record.get('status')}: "
                      f"{attempt.record.get('error')}", file=sys.stderr)
        report(lone, attempts, sampler, sampler.containers(), elapsed, followers.refused,
               sessions)
        if sampler.errors:
            print(f"{len(sampler.errors)} samples missed: {sampler.errors[0]}")
        if recorder:
            print(f"\nworker CPU under load (py-spy, {args.profile}):")
            print(summarize(args.profile, within="", rate=recorder.rate, idle=False))
        if web_recorder:
            print(f"\nweb (daphne) CPU under load (py-spy, {args.profile_web}):")
            print(summarize(args.profile_web, within="", rate=web_recorder.rate, idle=False))
        return warmup.ok and all(a.ok for a in [*lone, *attempts])
    finally:
        followers.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attempts", type=int, default=20, help="attempts submitted at once")
    parser.add_argument("--lone", type=int, default=5,
                        help="attempts run alone one after another for the baseline")
    parser.add_argument("--paced", type=int, default=0, metavar="N",
                        help="instead: N attempts spread evenly over --minutes/--hours")
    parser.add_argument("--minutes", type=float, default=0, help="with --paced: the span")
    parser.add_argument("--hours", type=float, default=0, help="with --paced: the span")
    parser.add_argument("--concurrency", type=int, default=0,
                        help="attempts the worker runs at once (default: as many as "
                             "attempts; paced: 4)")
    parser.add_argument("--pool", choices=["threads", "prefork"], default="",
                        help="the worker's pool (WORKER_POOL; default: the settings' default)")
    parser.add_argument("--database", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--delay", default="0.5,2", help="model reply delay range, seconds")
    parser.add_argument("--timeout", type=float, default=900, help="seconds to wait for all")
    parser.add_argument("--profile", type=Path,
                        help="py-spy the worker's CPU (not idle) under load into this raw file")
    parser.add_argument("--profile-web", type=Path,
                        help="py-spy daphne's CPU (not idle) under load into this raw file")
    parser.add_argument("--py-spy", help="the py-spy program (see bench/pyspy.py)")
    args = parser.parse_args()
    if (args.profile or args.profile_web) and not args.py_spy:
        parser.error("--profile/--profile-web need py-spy: pass --py-spy (see bench/pyspy.py)")
    low, high = (float(x) for x in args.delay.split(","))
    spread = args.minutes * 60 + args.hours * 3600
    if args.paced:
        args.attempts = args.paced
        if spread <= 0:
            parser.error("--paced N needs the span: --minutes M or --hours H")
    elif spread:
        parser.error("--minutes/--hours go with --paced N")
    if args.attempts < 1 or args.lone < 1 or args.concurrency < 0 or not 0 <= low <= high:
        parser.error("--attempts and --lone must be positive, --delay LOW,HIGH with "
                     "0 ≤ LOW ≤ HIGH")
    concurrency = args.concurrency or (4 if args.paced else args.attempts)
    extra = {"DATABASE_URL": postgres_url()} if args.database == "postgres" else {}
    if args.pool:
        extra["WORKER_POOL"] = args.pool
    with scripted.ScriptedModelServer() as model:
        model.add(*[responder(low, high)] * (4 * (args.attempts + args.lone + 1) + 20))
        with stack.bench_stack(model, prefix="bench-load-", wait=300,
                         WORKER_CONCURRENCY=str(concurrency), **extra) as bench:
            ok = run_round(bench, args, concurrency, (low, high), spread)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
