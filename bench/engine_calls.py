"""Docker engine API calls per attempt: a logging proxy in front of the engine's socket.

    .venv/bin/python bench/engine_calls.py --socket /tmp/engine.sock --log /tmp/calls.log &
    DOCKER_HOST=unix:///tmp/engine.sock .venv/bin/python bench/attempt.py --runs 1 --kinds warm
    .venv/bin/python bench/engine_calls.py --summary /tmp/calls.log [--attempts 2]

Every connection to `--socket` is passed on to the engine's own socket (`--engine`); each
request line a client sends (`POST /v1.45/exec/…/start`) is written to `--log` with its time.
`--summary` counts them by kind (ids and query strings folded: `POST /exec/{id}/start`), in
total and divided by `--attempts`. Costs of each kind differ: `GET /containers/json?size=1`
walks the container's writable layer, an exec start runs `runc exec` in the shim. A hijacked
stream's own bytes (an exec's stdin) are not parsed; a request line inside them would be
counted, which the bench's own traffic does not have.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REQUEST_LINE = re.compile(rb"^(GET|POST|PUT|DELETE|HEAD) (\S+) HTTP/1\.[01]\r\n", re.M)
ID = re.compile(r"/[0-9a-f]{12,64}(?=/|$)|/codexweb-[^/]+")
VERSION = re.compile(r"^/v1\.\d+")
TMP = Path(tempfile.gettempdir())


def kind(method: str, target: str) -> str:
    """`POST /v1.45/exec/3f…/start` → `POST /exec/{id}/start`; `size=1` kept (it walks the
    layer), other query strings dropped."""
    path, _, query = target.partition("?")
    path = ID.sub("/{id}", VERSION.sub("", path))
    return f"{method} {path}" + ("?size=1" if "size=1" in query or "size=true" in query else "")


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, log: object) -> None:
    try:
        while data := await reader.read(65536):
            if log is not None:
                for match in REQUEST_LINE.finditer(data):
                    method, target = (part.decode(errors="replace") for part in match.groups())
                    log.write(f"{time.time():.3f} {method} {target}\n")  # type: ignore[attr-defined]
                log.flush()  # type: ignore[attr-defined]
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


def serve(socket_path: Path, engine: str, log_path: Path) -> None:
    log = log_path.open("a")

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_unix_connection(engine)
        await asyncio.gather(pipe(reader, up_writer, log), pipe(up_reader, writer, None))

    async def main() -> None:
        socket_path.unlink(missing_ok=True)
        server = await asyncio.start_unix_server(handle, path=str(socket_path))
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def summary(log_path: Path, attempts: int) -> None:
    counts: Counter[str] = Counter()
    for line in log_path.read_text().splitlines():
        _, method, target = line.split(" ", 2)
        counts[kind(method, target)] += 1
    total = sum(counts.values())
    print(f"{total} engine API calls ({total / attempts:.1f} per attempt over {attempts})")
    for name, count in counts.most_common():
        print(f"{count:6d} {count / attempts:7.1f}  {name}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--socket", type=Path, default=TMP / "codexweb-engine.sock")
    parser.add_argument("--engine", default="/var/run/docker.sock")
    parser.add_argument("--log", type=Path, default=TMP / "codexweb-engine-calls.log")
    parser.add_argument("--summary", type=Path, help="count the calls of a log instead")
    parser.add_argument("--attempts", type=int, default=1)
    args = parser.parse_args()
    if args.summary:
        summary(args.summary, max(1, args.attempts))
        sys.exit(0)
    serve(args.socket, args.engine, args.log)
