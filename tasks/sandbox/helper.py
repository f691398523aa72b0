"""The host side of the resident helper (sandbox/helper/codexweb-helper.c): one process per
container and agent user that runs the user's commands without a `docker exec` each.

`HelperChannel.start` starts it with ONE exec (stdin attached) once the setup phase has ended —
never while secrets exist — and waits, bounded, for its hello. One reader thread takes the
engine's stream frames apart, then the helper's own frames (type, id, length, payload; see the C
source), and hands each command's output and exit status to its `HelperRun`, which the sandbox
watches like a `StreamedExec` (watch.py). The channel is the exec's own pipes: nothing else in
the container can write into it (the helper is non-dumpable, so a process of the same user
cannot open its fds), which is how the real helper is told from an impostor.

Every byte from the container is untrusted: frames are bounded, unknown ids ignored, and a
malformed frame, EOF or a send that does not go through within SEND_TIMEOUT marks the channel
dead; the sandbox then runs its commands the old way (docker.py). A command whose helper died
under it ends with `lost` set.

A pooled container (pool.py: made from a warm image, never runs a setup or maintenance script)
gets its helper before it is paused (`park`), so the attempt that claims it in this process
takes it (`claim`) instead of starting one on its way to the first command.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
from collections.abc import Mapping
from typing import IO, Any

from tasks.sandbox.container import replace_workspace_then
from tasks.sandbox.output import OutputCollector
from tasks.sandbox.spec import HELPER_PATH
from tasks.sandbox.streaming import QueuedRun

logger = logging.getLogger(__name__)

HELLO = b"codexweb-helper 1 "
HELLO_TIMEOUT = 15.0  # seconds for the helper's hello (a loaded engine starts execs slowly)
SEND_TIMEOUT = 30.0  # seconds a request may take to go in (a stopped helper reads nothing)
MAX_FRAME = 1 << 20  # the helper sends at most 64 KiB at once; more is a broken helper
MAX_REQUEST = 4 << 20  # the helper's own bound for one request
MAX_EARLY_STDERR = 4096  # what is kept of stderr before the hello (an unpacking's errors)
_OUTPUT = {b"O": "stdout", b"E": "stderr"}


class HelperError(Exception):
    """The helper cannot take the command (not running, died, broke the protocol)."""


# Helpers started in pooled containers by this process: container id -> channel (`park`).
_parked: dict[str, HelperChannel] = {}
_parked_lock = threading.Lock()


def park(api: Any, container_id: str, *, user: str) -> None:
    """Start the helper of a pooled container (running, not yet paused) for `user`, kept for
    the attempt that claims the container in this process. Any failure: nothing parked (the
    claimer starts its own)."""
    try:
        channel = HelperChannel.start(api, container_id, user=user)
    except HelperError as exc:
        logger.info("no helper for pooled container %s: %s", container_id[:12], exc)
        return
    with _parked_lock:
        for gone in [cid for cid, kept in _parked.items() if kept.dead]:
            del _parked[gone]  # its container was removed unclaimed
        _parked[container_id] = channel


def claim(container_id: str, *, user: str) -> HelperChannel | None:
    """The helper parked for `container_id` when it still runs for `user`; None otherwise (a
    parked one for another user is closed)."""
    with _parked_lock:
        channel = _parked.pop(container_id, None)
    if channel is None:
        return None
    if channel.dead or channel.user != user:
        channel.close()
        return None
    return channel


def discard(container_id: str) -> None:
    """Close the helper parked for `container_id`, if any."""
    with _parked_lock:
        channel = _parked.pop(container_id, None)
    if channel is not None:
        channel.close()


class HelperRun(QueuedRun):
    """One command run by the helper. `exit_code()` is its status once the helper said it;
    `refused` the helper's reason when it could not start it; `lost` when the helper went away
    before the command ended."""

    def __init__(self, channel: HelperChannel, run_id: int, collector: OutputCollector) -> None:
        super().__init__(collector)
        self.channel = channel
        self.run_id = run_id
        self.status: int | None = None
        self.refused = ""
        self.lost = False

    def kill(self) -> None:
        """Ask the helper to SIGKILL the command's process group (no answer but its end)."""
        self.channel.send(b"K", self.run_id, b"")

    def exit_code(self) -> int | None:
        return self.status

    # called by the reader thread
    def _output(self, stream: str, data: bytes) -> None:
        self._queue.put((stream, data))

    def _exit(self, status: int) -> None:
        self.status = status
        self._queue.put(("eof", None))

    def _refuse(self, why: str) -> None:
        self.refused = why or "refused"
        self._queue.put(("eof", None))

    def _lose(self, why: str) -> None:
        self.lost = True
        self._queue.put(("error", HelperError(why)))
        self._queue.put(("eof", None))


class HelperChannel:
    """The resident helper of one container and user (see the module's docstring)."""

    def __init__(self, sock: Any, *, user: str) -> None:
        self.user = user
        self.pid = 0  # the helper's pid inside the container, from its hello
        self.exec_id = ""  # the engine's exec that runs it (its host pid: exec_inspect)
        self.dead = ""  # why the channel is of no use any more ("" while it is)
        self._sock = sock
        self._raw: socket.socket = getattr(sock, "_sock", sock)
        self._raw.settimeout(SEND_TIMEOUT)
        self._send_lock = threading.Lock()
        self._lock = threading.Lock()
        self._runs: dict[int, HelperRun] = {}
        self._next_id = 1
        self._hello = threading.Event()
        self._closed = False
        self.early_stderr = bytearray()  # stderr before the hello (bounded)
        self._thread = threading.Thread(target=self._read, daemon=True, name="sandbox-helper")
        self._thread.start()

    @classmethod
    def start(
        cls,
        api: Any,
        container_id: str,
        *,
        user: str,
        timeout: float = HELLO_TIMEOUT,
        unpack: IO[bytes] | None = None,
    ) -> HelperChannel:
        """Start the helper as `user` (one exec, stdin attached) and wait for its hello.
        HelperError when it does not come (the binary is missing, the engine refused).

        `unpack`: a workspace archive (container.workspace_archive, read from its start to its
        end) that the same exec first makes /workspace of, as container.replace_workspace does,
        before the helper takes its place: a new container's checkout and helper cost one exec
        instead of two. Only for `user` the workspace's owner, while no process of the command
        users runs. HelperError, with what the unpacking said, when either part fails."""
        size = unpack.seek(0, os.SEEK_END) if unpack is not None else 0
        command = (
            ["bash", "-c", replace_workspace_then(size, HELPER_PATH)]
            if unpack is not None
            else [HELPER_PATH]
        )
        try:
            exec_id = api.exec_create(
                container_id,
                command,
                stdin=True,
                stdout=True,
                stderr=True,
                tty=False,
                user=user,
                workdir="/",
            )["Id"]
            sock = api.exec_start(exec_id, socket=True)
        except Exception as exc:  # any engine error: the sandbox works without the helper
            raise HelperError(f"the engine did not start it ({exc})") from exc
        channel = cls(sock, user=user)
        channel.exec_id = exec_id
        if unpack is not None:
            unpack.seek(0)
            channel._send_archive(unpack)
        if not channel._hello.wait(timeout) or channel.dead:
            channel.close()
            said = channel.early_stderr.decode(errors="replace").strip()[-1000:]
            raise HelperError(
                (channel.dead or f"no hello within {timeout:g} seconds")
                + (f": {said}" if said else "")
            )
        return channel

    def _send_archive(self, archive: IO[bytes]) -> None:
        """The workspace archive on the helper exec's stdin, before any frame (`start`). A send
        that fails marks the channel dead (the start then says so)."""
        with self._send_lock:
            try:
                while block := archive.read(1 << 20):
                    self._raw.sendall(block)
            except OSError as exc:
                self._die(f"the workspace did not go in ({exc})")

    def run(
        self,
        command: str,
        *,
        cwd: str,
        environment: Mapping[str, str],
        collector: OutputCollector,
    ) -> HelperRun:
        """Start `command` (bash -c, a process group of its own, stdin /dev/null) in `cwd` with
        `environment` over the helper's own (the container's). HelperError when it cannot be
        sent: the caller runs it another way."""
        parts = [cwd, command, *(f"{k}={v}" for k, v in environment.items())]
        if any("\0" in part for part in parts):
            raise HelperError("a NUL character cannot be passed on")
        payload = b"".join(part.encode() + b"\0" for part in parts)
        if len(payload) > MAX_REQUEST:
            raise HelperError("the command is too long for the helper")
        with self._lock:
            if self.dead:
                raise HelperError(self.dead)
            run_id = self._next_id
            self._next_id += 1
            run = HelperRun(self, run_id, collector)
            self._runs[run_id] = run
        self.send(b"R", run_id, payload)
        return run

    def send(self, kind: bytes, run_id: int, payload: bytes) -> None:
        """One request frame. HelperError (and the channel dead) when it does not go through."""
        frame = kind + run_id.to_bytes(4, "big") + len(payload).to_bytes(4, "big") + payload
        with self._send_lock:
            if self.dead:
                raise HelperError(self.dead)
            try:
                self._raw.sendall(frame)
            except OSError as exc:
                self._die(f"a request did not go through ({exc})")
                raise HelperError(self.dead) from exc

    def forget(self, run: HelperRun) -> None:
        """Stop routing frames to `run` (it ended or was given up)."""
        with self._lock:
            self._runs.pop(run.run_id, None)

    def close(self) -> None:
        """End the channel: the helper reads EOF, kills its commands' groups and exits."""
        self._closed = True
        self._die("the sandbox closed it")
        with contextlib.suppress(OSError):
            self._raw.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self._sock.close()

    # -- the reader thread -------------------------------------------------------------------

    def _read(self) -> None:
        why = "it ended (killed, or the container stopped)"
        pending = bytearray()
        try:
            while True:
                header = self._recv_exact(8)
                if header is None:
                    break
                stream, size = header[0], int.from_bytes(header[4:8], "big")
                if stream not in (1, 2) or size > MAX_FRAME:
                    why = "the engine's stream was malformed"
                    break
                data = self._recv_exact(size) if size else b""
                if data is None:
                    break
                if stream == 2:
                    # The helper writes nothing there and its children never hold it; before
                    # its hello, what unpacking the workspace said (`start`'s `unpack`).
                    if not self._hello.is_set() and len(self.early_stderr) < MAX_EARLY_STDERR:
                        self.early_stderr += data[: MAX_EARLY_STDERR - len(self.early_stderr)]
                    continue
                pending += data
                problem = self._frames(pending)
                if problem:
                    why = f"it broke the protocol ({problem})"
                    break
        except OSError as exc:
            why = f"its stream failed ({exc})"
        self._die(why)

    def _recv_exact(self, size: int) -> bytes | None:
        buf = bytearray()
        while len(buf) < size:
            try:
                chunk = self._raw.recv(size - len(buf))
            except TimeoutError:
                if self._closed:
                    return None
                continue  # idle: the socket's timeout is for sends
            if not chunk:
                return None
            buf += chunk
        return bytes(buf)

    def _frames(self, pending: bytearray) -> str:
        """Dispatch every whole helper frame in `pending` (removed from it); a description of
        the problem when a frame is malformed, else ""."""
        while len(pending) >= 9:
            kind = bytes(pending[:1])
            run_id = int.from_bytes(pending[1:5], "big")
            size = int.from_bytes(pending[5:9], "big")
            if kind not in b"HOEXF" or size > MAX_FRAME:
                return f"frame type {kind!r}, {size} bytes"
            if len(pending) < 9 + size:
                return ""
            payload = bytes(pending[9 : 9 + size])
            del pending[: 9 + size]
            if kind == b"H":
                if self._hello.is_set() or not payload.startswith(HELLO):
                    return "an unexpected hello"
                pid = payload[len(HELLO) :]
                if not pid.isdigit() or len(pid) > 10:
                    return "a malformed hello"
                self.pid = int(pid)
                self._hello.set()
                continue
            if not self._hello.is_set():
                return "output before the hello"
            if kind == b"X" and (not payload.isdigit() or len(payload) > 3):
                return "a malformed exit status"
            with self._lock:
                run = self._runs.get(run_id)
                if run is not None and kind in (b"X", b"F"):
                    del self._runs[run_id]
            if run is None:
                continue  # a command given up on, or nonsense: ignored
            if kind in _OUTPUT:
                run._output(_OUTPUT[kind], payload)
            elif kind == b"X":
                run._exit(int(payload))
            else:
                run._refuse(payload[:200].decode(errors="replace"))
        return ""

    def _die(self, why: str) -> None:
        with self._lock:
            if self.dead:
                return
            self.dead = why
            runs, self._runs = list(self._runs.values()), {}
        self._hello.set()  # a start waiting for the hello learns it at once
        for run in runs:
            run._lose(why)
