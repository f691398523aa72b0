"""Streaming benchmark: events per second and latency from the worker's append to the browser.

    .venv/bin/python bench/stream.py [--events 300] [--attempts 1,20] [--rate 10]

Starts its own PostgreSQL and Redis (tests/support/services.py, or TEST_DATABASE_URL /
TEST_REDIS_URL), migrates a fresh database, serves `codexweb.asgi` with daphne, and opens one
signed-in websocket per attempt (`/ws/attempts/<id>/`). A separate publisher process plays the
worker: one thread per attempt appending "output" events with `tasks.events.publish`, each payload
carrying the wall-clock time just before the append. Latency = receipt time at the websocket
client minus that time.

Two kinds of round for each attempt count: "flat out" (appends back to back: the throughput
ceiling, where latency is mostly queueing) and "paced" (`--rate` events/s per attempt, closer to a
real agent). Each prints events, appends/s, events/s (first append to last receipt), p50/p95/max
latency, daphne's CPU per event delivered (sockets opening included), and whether every client
saw every seq exactly once, in order.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.usage import cpu_and_rss  # noqa: E402
from tests.support.live_clients import MiniWebSocket  # noqa: E402
from tests.support.services import ensure_services, free_port, wait_for_port  # noqa: E402

ROUND_SECONDS = 300.0


def prepare_database() -> str:
    """A fresh database on the benchmark's PostgreSQL; returns its URL."""
    import psycopg

    server = urlparse(os.environ["DATABASE_URL"])
    name = f"codexweb_bench_{os.getpid()}"
    admin = server._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return server._replace(path=f"/{name}").geturl()


def start_daphne(
    env: dict[str, str], options: tuple[str, ...] = ()
) -> tuple[subprocess.Popen, int, Path]:
    port = free_port()
    log = Path(tempfile.mkstemp(prefix="bench-daphne-", suffix=".log")[1])
    with log.open("w") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "daphne",
                "-b",
                "127.0.0.1",
                "-p",
                str(port),
                *options,
                "codexweb.asgi:application",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_port(port, timeout=60, what="daphne")
    except RuntimeError:
        process.terminate()
        raise
    return process, port, log


def setup_django() -> None:
    """Django on a fresh, migrated database of the benchmark's own PostgreSQL and Redis, with a
    channel prefix of its own: what every daphne benchmark starts from."""
    ensure_services()
    os.environ["DATABASE_URL"] = prepare_database()
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-" + "x" * 40)
    os.environ["DJANGO_SETTINGS_MODULE"] = "codexweb.settings"
    os.environ["CHANNELS_PREFIX"] = f"bench{os.getpid()}"
    os.environ["LOG_LEVEL"] = "WARNING"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


@contextlib.contextmanager
def daphne_serving(options: tuple[str, ...] = ()) -> Iterator[tuple[int, int]]:
    """daphne serving `codexweb.asgi` with this process's environment (no sandbox) while the
    block runs; yields its port and pid. Its log is printed when it did not end cleanly."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), SANDBOX_BACKEND="none")
    daphne, port, log = start_daphne(env, options)
    try:
        yield port, daphne.pid
    finally:
        daphne.terminate()
        try:
            daphne.wait(timeout=15)
        except subprocess.TimeoutExpired:
            daphne.kill()
        if daphne.returncode not in (0, -15):
            print(log.read_text()[-3000:], file=sys.stderr)


@dataclass
class Bench:
    """The signed-in person the benchmarks' websockets are opened as."""

    user: Any
    repository: Any
    cookie: str  # the session cookie's value


def bench_person() -> Bench:
    """A user with a team and a repository, signed in (a session cookie for websockets)."""
    from django.test import Client

    from tests.support import factories

    user = factories.make_user("bench")
    team = factories.make_team("Bench", admin=user)
    repo = factories.make_repository(team, owner="bench", name="repo")
    client = Client()
    client.force_login(user)
    return Bench(user, repo, client.cookies["sessionid"].value)


async def attempt_socket(port: int, cookie: str, attempt_id: int) -> MiniWebSocket:
    """The attempt's websocket (`/ws/attempts/<id>/`), opened as the signed-in `cookie`."""
    return await MiniWebSocket.open(
        port,
        f"/ws/attempts/{attempt_id}/",
        {"Origin": f"http://127.0.0.1:{port}", "Cookie": f"sessionid={cookie}"},
    )


class Receiver:
    """One websocket client for one attempt; records (seq, latency) of what it receives."""

    def __init__(self, attempt_id: int, expected: int) -> None:
        self.attempt_id = attempt_id
        self.expected = expected
        self.seqs: list[int] = []
        self.latencies: list[float] = []
        self.last_receipt = 0.0
        self.done: asyncio.Future = asyncio.get_running_loop().create_future()
        self.task: asyncio.Future | None = None


async def listen(port: int, cookie: str, receiver: Receiver) -> MiniWebSocket:
    """Open the attempt's websocket and start recording what arrives."""
    ws = await attempt_socket(port, cookie, receiver.attempt_id)

    async def pump() -> None:
        while (text := await ws.receive()) is not None:
            now = time.time()
            event = json.loads(text).get("event", {})
            receiver.seqs.append(event.get("seq"))
            sent_at = event.get("payload", {}).get("t0")
            if sent_at is not None:
                receiver.latencies.append(now - sent_at)
                receiver.last_receipt = now
                if len(receiver.latencies) >= receiver.expected and not receiver.done.done():
                    receiver.done.set_result(True)

    receiver.task = asyncio.ensure_future(pump())
    return ws


def append_events(attempt_id: int, count: int, starts: list[float], rate: float = 0) -> None:
    """What a chatty worker does: append output events back to back (or `rate` per second)."""
    from django.db import connection

    from tasks import events

    try:
        begun = time.time()
        starts.append(begun)
        for i in range(count):
            if rate:
                time.sleep(max(0.0, begun + i / rate - time.time()))
            payload = {
                "chunk_id": "bench",
                "stream": "stdout",
                "text": f"line {i}\n",
                "t0": time.time(),
            }
            events.publish(attempt_id, "output", payload)
    finally:
        connection.close()


def publish_main(attempt_ids: list[int], count: int, rate: float) -> int:
    """The worker side, in its own process (as in production): one thread per attempt.
    Prints {"first": time of the first append, "appended": time the last one returned}."""
    import django

    django.setup()
    starts: list[float] = []
    with ThreadPoolExecutor(max_workers=len(attempt_ids)) as pool:
        list(pool.map(lambda a: append_events(a, count, starts, rate), attempt_ids))
    print(json.dumps({"first": min(starts), "appended": time.time()}), flush=True)
    return 0


async def run_round(
    port: int, cookie: str, attempt_ids: list[int], count: int, rate: float
) -> dict:
    receivers = [Receiver(a, count) for a in attempt_ids]
    sockets = [await listen(port, cookie, r) for r in receivers]
    publisher = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--publish",
        ",".join(map(str, attempt_ids)),
        "--events",
        str(count),
        "--rate",
        str(rate),
        stdout=asyncio.subprocess.PIPE,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    out, _ = await asyncio.wait_for(publisher.communicate(), ROUND_SECONDS)
    if publisher.returncode != 0:
        raise RuntimeError(f"publisher failed with {publisher.returncode}")
    timing = json.loads(out.decode().strip().splitlines()[-1])
    await asyncio.wait_for(asyncio.gather(*(r.done for r in receivers)), ROUND_SECONDS)
    for ws, r in zip(sockets, receivers, strict=True):
        ws.close()
        if r.task is not None:
            r.task.cancel()
    latencies = sorted(x for r in receivers for x in r.latencies)
    total = len(latencies)
    first, appended = timing["first"], timing["appended"]
    last = max(r.last_receipt for r in receivers)
    exact = all(r.seqs == list(range(r.seqs[0], r.seqs[0] + len(r.seqs))) for r in receivers)
    return {
        "attempts": len(attempt_ids),
        "events": total,
        "appends_per_s": total / (appended - first),
        "events_per_s": total / (last - first),
        "p50_ms": statistics.median(latencies) * 1000,
        "p95_ms": latencies[int(0.95 * (total - 1))] * 1000,
        "max_ms": latencies[-1] * 1000,
        "exactly_once_in_order": exact,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--events", type=int, default=300, help="events per attempt, flat-out rounds"
    )
    parser.add_argument("--attempts", default="1,20", help="comma-separated simultaneous attempts")
    parser.add_argument(
        "--rate",
        type=float,
        default=10.0,
        help="events/s per attempt for the paced rounds (0: skip them)",
    )
    parser.add_argument("--paced-events", type=int, default=100, help="events per paced round")
    parser.add_argument("--publish", default="", help=argparse.SUPPRESS)  # the worker side
    args = parser.parse_args()
    if args.publish:
        return publish_main([int(a) for a in args.publish.split(",")], args.events, args.rate)
    rounds = [int(n) for n in args.attempts.split(",") if n.strip()]
    if args.events < 1 or not rounds or min(rounds) < 1:
        parser.error("--events and every --attempts value must be positive")

    setup_django()
    from tests.support import factories

    with daphne_serving() as (port, daphne_pid):
        person = bench_person()
        user, repo, cookie = person.user, person.repository, person.cookie
        print(
            f"daphne on 127.0.0.1:{port}, PostgreSQL and Redis on loopback; one publisher "
            "process with a thread per attempt; one websocket per attempt"
        )
        print(
            f"{'mode':>14} {'attempts':>8} {'events':>7} {'appends/s':>10} {'events/s':>9} "
            f"{'p50 ms':>7} {'p95 ms':>7} {'max ms':>7} {'daphne CPU ms/event':>19}  "
            "exactly-once  load"
        )
        plan = [(n, args.events, 0.0) for n in rounds]
        if args.rate > 0:
            plan += [(n, args.paced_events, args.rate) for n in rounds]
        for n, count, rate in plan:
            attempt_ids = [factories.make_task(repo, user).attempts.get().pk for _ in range(n)]
            cpu_before = cpu_and_rss([daphne_pid])[0]
            result = asyncio.run(run_round(port, cookie, attempt_ids, count, rate))
            cpu_ms = (cpu_and_rss([daphne_pid])[0] - cpu_before) * 1000 / result["events"]
            mode = f"paced {rate:g}/s" if rate else "flat out"
            print(
                f"{mode:>14} {result['attempts']:>8} {result['events']:>7} "
                f"{result['appends_per_s']:>10.0f} "
                f"{result['events_per_s']:>9.0f} {result['p50_ms']:>7.1f} "
                f"{result['p95_ms']:>7.1f} {result['max_ms']:>7.1f} {cpu_ms:>19.2f}  "
                f"{'yes' if result['exactly_once_in_order'] else 'NO':>12}  "
                f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
