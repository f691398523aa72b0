"""After setup: find the secrets (and their common encoded forms) left on the file system.

Setup runs as `sandbox` with the secrets; whatever it wrote stays for the agent (and, for a warm
image, for every later attempt). The container's whole writable layer is read from the host
through the Docker API — `docker diff` lists every path setup added or changed, whatever its
owner or mode, and `get_archive` reads it as the engine does — so a file made unreadable
(`chmod 000`), one owned by another user, or one in `/tmp` or `/var/tmp` cannot hide. `/dev/shm`
is a tmpfs the API does not see; it is packed from inside, by its only possible writer
(`sandbox`), after making its own files readable. A volume (the workspace's, when it has one) is
not in `docker diff` either: it is read whole through `get_archive`, as the engine does.

Matching is on bytes, chunk by chunk with an overlap, so a value split across chunks is found.
"""

from __future__ import annotations

import io
import posixpath
import tarfile
from collections.abc import Iterable, Iterator
from typing import IO, Any

from docker.errors import APIError, NotFound

from tasks.sandbox.base import SandboxError
from tasks.sandbox.masking import secret_forms

CHUNK = 1024 * 1024
ADDED = 1
SHM = "/dev/shm"  # noqa: S108 — inside the container
MIN_VALUE = 4  # shorter values would match everywhere


def needles(values: Iterable[str]) -> list[bytes]:
    """The byte strings to look for: each value of at least MIN_VALUE characters and its
    encoded forms (masking.secret_forms)."""
    return [form.encode() for form in secret_forms(v for v in values if len(v) >= MIN_VALUE)]


def changed_roots(changes: Iterable[dict[str, Any]]) -> list[str]:
    """The fewest paths whose archives hold every added or changed file of a `docker diff`:
    an added path whose parent was not added, and a changed path with no change below it
    (a changed folder's new entries are listed themselves). Deleted paths are skipped."""
    kinds = {str(c["Path"]): int(c["Kind"]) for c in changes if int(c["Kind"]) in (0, ADDED)}
    has_child = {posixpath.dirname(path) for path in kinds}
    return [
        path
        for path, kind in sorted(kinds.items())
        if (kind == ADDED and kinds.get(posixpath.dirname(path)) != ADDED)
        or (kind != ADDED and path not in has_child)
    ]


def files_in_archive(stream: IO[bytes], found_in: list[bytes], *, prefix: str) -> Iterator[str]:
    """Names (under `prefix`) of the regular files in the tar `stream` that contain any of
    `found_in`. Links are not followed; their targets are archived where they live."""
    longest = max((len(n) for n in found_in), default=1)
    with tarfile.open(fileobj=stream, mode="r|") as tar:
        for member in tar:
            if not member.isfile():
                continue
            handle = tar.extractfile(member)
            if handle is None:
                continue
            tail = b""
            while True:
                chunk = handle.read(CHUNK)
                if not chunk:
                    break
                window = tail + chunk
                if any(n in window for n in found_in):
                    yield posixpath.normpath(posixpath.join(prefix, member.name))
                    break
                tail = window[-(longest - 1) :] if longest > 1 else b""


class _StreamReader:
    """A file-like object over the chunks `get_archive` yields."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = b""

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) < size:
            try:
                self._buffer += next(self._chunks)
            except StopIteration:
                break
        if size < 0:
            data, self._buffer = self._buffer, b""
        else:
            data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data


def files_with_secrets(
    api: Any, container_id: str, values: Iterable[str], *, volumes: Iterable[str] = ()
) -> list[str]:
    """Paths in the container's writable layer, and anywhere under the mount points `volumes`
    (a volume is not in `docker diff`: read whole), holding any secret value or encoded form.
    Raises SandboxError when the layer cannot be read (then nothing can be promised)."""
    wanted = needles(values)
    if not wanted:
        return []
    try:
        changes = api.diff(container_id) or []
    except APIError as exc:
        raise SandboxError(f"cannot check the sandbox for left-over secrets: {exc}") from exc
    found: list[str] = []
    for root in [*changed_roots(changes), *volumes]:
        try:
            chunks, _ = api.get_archive(container_id, root)
        except NotFound:  # removed since the diff
            continue
        except APIError as exc:
            raise SandboxError(f"cannot check {root} for left-over secrets: {exc}") from exc
        found.extend(
            files_in_archive(
                _StreamReader(iter(chunks)),  # type: ignore[arg-type]
                wanted,
                prefix=posixpath.dirname(root),
            )
        )
    return found


def shm_files_with_secrets(archive: bytes, values: Iterable[str]) -> list[str]:
    """Like `files_with_secrets`, for a tar of /dev/shm's contents (made inside the container)."""
    wanted = needles(values)
    if not wanted or not archive:
        return []
    return list(files_in_archive(io.BytesIO(archive), wanted, prefix=SHM))
