"""Websocket opens under load: do pages' sockets open, and how long does the handshake take?

    .venv/bin/python bench/ws_opens.py [--sockets 200] [--attempts 20] [--backlog 50]
                                       [--burn 8] [--rounds 2] [--handshake-limit 30]

The paced hour (bench/load.py) once saw 3 of 60 websockets never open at load 20–35. This
reproduces it in a minute: daphne serving `codexweb.asgi` on PostgreSQL and Redis (as
bench/stream.py), `--attempts` attempts with `--backlog` events each, then `--sockets` signed-in
websockets opened at once (spread over the attempts, as pages opening), while `--burn`
processes spin on the CPU beside it (other work on the machine). Each socket tries once, and
waits up to `--timeout` s for the server's answer.

Prints per round: sockets opened, refused (daphne answered with something else than 101, or
dropped the connection: its handshake limit, `--websocket_connect_timeout`, passed), timed
out (no answer at all), the handshake's p50 / p95 / max, and how long until each opened socket
had its whole backlog (p50 / p95 / max), with the load average.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.machine import load_average  # noqa: E402
from bench.stream import (  # noqa: E402
    attempt_socket,
    bench_person,
    daphne_serving,
    setup_django,
)

OUTCOMES = ("opened", "refused", "timed out")
BURN = "import time\nend = time.monotonic() + 120\nwhile time.monotonic() < end: pass"


@dataclass
class Open:
    outcome: str = "timed out"  # opened / refused / timed out
    handshake: float = 0.0  # seconds until the server's answer
    backlog: float | None = None  # seconds from the request until the whole backlog arrived


async def open_one(port: int, cookie: str, attempt_id: int, backlog: int, timeout: float) -> Open:
    result = Open()
    began = time.monotonic()
    try:
        ws = await asyncio.wait_for(attempt_socket(port, cookie, attempt_id), timeout)
    except TimeoutError:
        result.handshake = time.monotonic() - began
        return result
    except (OSError, RuntimeError, asyncio.IncompleteReadError):
        result.outcome, result.handshake = "refused", time.monotonic() - began
        return result
    result.outcome, result.handshake = "opened", time.monotonic() - began
    try:
        seen = 0
        while seen < backlog:
            text = await asyncio.wait_for(ws.receive(), timeout)
            if text is None:
                break
            seen += "seq" in json.loads(text).get("event", {})
        if seen >= backlog:
            result.backlog = time.monotonic() - began
    except (TimeoutError, OSError, asyncio.IncompleteReadError):
        pass
    finally:
        ws.close()
    return result


def figures(values: list[float]) -> str:
    if not values:
        return "–"
    ordered = sorted(values)
    p = lambda q: ordered[min(len(ordered) - 1, int(q * (len(ordered) - 1) + 0.5))]  # noqa: E731
    return f"{p(0.5) * 1000:.0f} / {p(0.95) * 1000:.0f} / {ordered[-1] * 1000:.0f} ms"


async def run_round(
    port: int, cookie: str, attempt_ids: list[int], args: argparse.Namespace
) -> None:
    burners = [subprocess.Popen([sys.executable, "-c", BURN]) for _ in range(args.burn)]
    try:
        await asyncio.sleep(2 if burners else 0)  # let them take the cores
        before = load_average()
        opens = await asyncio.gather(*(
            open_one(port, cookie, attempt_ids[i % len(attempt_ids)], args.backlog, args.timeout)
            for i in range(args.sockets)
        ))
    finally:
        for burner in burners:
            burner.kill()
            burner.wait(timeout=10)
    count = {name: sum(o.outcome == name for o in opens) for name in OUTCOMES}
    print(f"{args.sockets} sockets at once, {args.burn} CPU burners; load average {before}")
    print(f"  opened {count['opened']}, refused {count['refused']}, timed out {count['timed out']}")
    for outcome in ("opened", "refused"):
        took = [o.handshake for o in opens if o.outcome == outcome]
        print(f"  handshake ({outcome}) p50 / p95 / max: {figures(took)}")
    print(f"  whole backlog ({args.backlog} events) p50 / p95 / max: "
          f"{figures([o.backlog for o in opens if o.backlog is not None])}"
          f" ({sum(o.backlog is not None for o in opens)} sockets had it)", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sockets", type=int, default=200, help="websockets opened at once")
    parser.add_argument("--attempts", type=int, default=20, help="attempts they follow")
    parser.add_argument("--backlog", type=int, default=50, help="events per attempt already there")
    parser.add_argument("--burn", type=int, default=8, help="CPU-spinning processes meanwhile")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=30.0, help="a socket's wait, seconds")
    parser.add_argument("--handshake-limit", type=int, default=0,
                        help="daphne's --websocket_connect_timeout (0: its default, 5 s)")
    args = parser.parse_args()
    if min(args.sockets, args.attempts, args.backlog, args.rounds) < 1 or args.burn < 0:
        parser.error("--sockets, --attempts, --backlog, --rounds must be positive")

    setup_django()
    from tasks import events
    from tests.support import factories

    limit = ("--websocket_connect_timeout", str(args.handshake_limit))
    with daphne_serving(limit if args.handshake_limit else ()) as (port, _pid):
        person = bench_person()
        user, repo, cookie = person.user, person.repository, person.cookie
        tasks = [factories.make_task(repo, user) for _ in range(args.attempts)]
        attempt_ids = [task.attempts.get().pk for task in tasks]
        for attempt_id in attempt_ids:
            events.publish_many(
                attempt_id,
                [("output", {"chunk_id": "b", "stream": "stdout", "text": f"line {i}\n"})
                 for i in range(args.backlog)],
            )
        print(f"daphne on 127.0.0.1:{port} (handshake limit "
              f"{args.handshake_limit or 5} s), PostgreSQL and Redis on loopback; "
              f"{args.attempts} attempts with {args.backlog} events each; {os.cpu_count()} cores")
        for _ in range(args.rounds):
            asyncio.run(run_round(port, cookie, attempt_ids, args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
