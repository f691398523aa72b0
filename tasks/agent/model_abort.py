"""Ending a model request in flight from another thread, when the attempt it serves was cancelled.

The openai SDK's call blocks in a socket read, for minutes while a reasoning model thinks, and
neither the SDK nor its HTTP library can interrupt one. So the model client's connections go
through `AbortableBackend`, whose streams tell the `ModelAbort` bound to the reading thread which
socket it reads: `ModelAbort.abort()` (from the worker's cancel watch) shuts that socket, the read
ends at once like a dropped connection, and the model client reports `ModelCancelled` instead of
retrying. Only a socket the aborted call is reading at that moment is shut, so a pooled
connection that another attempt's call uses meanwhile is never touched.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Iterable, Iterator
from typing import Any

try:  # the HTTP library under the installed openai SDK (httpx2 in 3.x, httpx in 1.x)
    import httpcore2 as httpcore
    import httpx2 as httpx
except ImportError:  # pragma: no cover - older SDKs
    import httpcore  # type: ignore[no-redef]
    import httpx  # type: ignore[no-redef]

_bound = threading.local()  # .abort: the ModelAbort of the call this thread makes, if any


class ModelAbort:
    """One attempt's way to end its model call in flight. `abort()` is safe from any thread and
    final: every later read of a call bound to it fails at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._aborted = threading.Event()
        self._reading: _AbortableStream | None = None

    @property
    def aborted(self) -> bool:
        return self._aborted.is_set()

    def abort(self) -> None:
        """End the call: shut the socket it reads now, if any, and fail its next reads."""
        with self._lock:  # held while shutting, so the reader cannot hand the socket on first
            self._aborted.set()
            if self._reading is not None:
                self._reading.shut()

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds` (a retry's wait); True, at once, if the call is aborted."""
        return self._aborted.wait(seconds)

    @contextlib.contextmanager
    def bound(self) -> Iterator[None]:
        """The model client's calls made by this thread in the block are the ones to end."""
        outer = getattr(_bound, "abort", None)
        _bound.abort = self
        try:
            yield
        finally:
            _bound.abort = outer

    def _enter(self, stream: _AbortableStream) -> None:
        with self._lock:
            if self._aborted.is_set():
                raise httpcore.ReadError("the model call was cancelled")
            self._reading = stream

    def _leave(self) -> None:
        with self._lock:
            self._reading = None


class _AbortableStream(httpcore.NetworkStream):
    """A connection's stream whose blocking reads the bound `ModelAbort` can end."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        abort: ModelAbort | None = getattr(_bound, "abort", None)
        if abort is None:
            return self._inner.read(max_bytes, timeout)
        abort._enter(self)
        try:
            return self._inner.read(max_bytes, timeout)
        finally:
            abort._leave()

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, timeout)

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        return _AbortableStream(self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)

    def shut(self) -> None:
        """Shut the socket both ways: a read blocked on it returns at once (closing it would
        not wake the reader). The plain socket's shutdown, so TLS state is left alone."""
        sock = self._inner.get_extra_info("socket")
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)


class AbortableBackend(httpcore.NetworkBackend):
    """The default network backend, with streams a `ModelAbort` can end."""

    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        return _AbortableStream(self._inner.connect_tcp(
            host, port, timeout=timeout, local_address=local_address,
            socket_options=socket_options))

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[Any] | None = None
                            ) -> httpcore.NetworkStream:
        return _AbortableStream(self._inner.connect_unix_socket(
            path, timeout=timeout, socket_options=socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def make_abortable(client: httpx.Client) -> httpx.Client:
    """`client` (the SDK's default, with its transports for the environment's proxies too) with
    connections a `ModelAbort` can end, from now on.

    A transport takes no network backend, so each one's pool has its backend swapped before it
    makes a connection (private attributes: tests/agent/test_model_abort.py fails if an upgrade
    moves them, rather than leaving calls impossible to cancel)."""
    transports = [getattr(client, "_transport", None), *getattr(client, "_mounts", {}).values()]
    for transport in transports:
        pool = getattr(transport, "_pool", None)
        if (isinstance(pool, httpcore.ConnectionPool)
                and not isinstance(pool._network_backend, AbortableBackend)):
            pool._network_backend = AbortableBackend(pool._network_backend)
    return client
