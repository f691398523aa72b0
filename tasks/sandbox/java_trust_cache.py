"""The Java trust store made for the installation's extra CAs, kept per image in this process.

Making it starts the JVM once per CA plus once for the JDK's roots (`keytool`, about a second
each, more under load), and every cold start with egress on a host with a company CA paid that.
The store depends only on the image's JDK roots and the CAs, so the first container of an image
makes it and later ones of the same image (by id: a rebuilt image is another key) are given
that file. It is read as root from a fresh container before any setup or agent command ran
there, so nothing the sandbox's users did can be in it.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
import threading
from collections import OrderedDict
from collections.abc import Mapping

from docker.errors import APIError

MAX_STORES = 16  # images × CA sets kept; a store is ~200 KB
MAX_STORE_BYTES = 8 * 1024 * 1024  # a bigger one is not kept (and no JDK makes one)

_lock = threading.Lock()
_stores: OrderedDict[str, bytes] = OrderedDict()


def store_key(image_id: str, certs: Mapping[str, bytes]) -> str:
    """The image and the CA set (paths name the aliases in the store, so they count)."""
    digest = hashlib.sha256(image_id.encode())
    for path in sorted(certs):
        digest.update(b"\0" + path.encode() + b"\0" + certs[path])
    return digest.hexdigest()


def cached_store(key: str) -> bytes | None:
    with _lock:
        store = _stores.get(key)
        if store is not None:
            _stores.move_to_end(key)
        return store


def remember_store(key: str, store: bytes) -> None:
    if not store or len(store) > MAX_STORE_BYTES:
        return
    with _lock:
        _stores[key] = store
        _stores.move_to_end(key)
        while len(_stores) > MAX_STORES:
            _stores.popitem(last=False)


def forget_all() -> None:
    """Tests: start from an empty cache."""
    with _lock:
        _stores.clear()


def read_container_file(api: object, container_id: str, path: str) -> bytes | None:
    """One regular file from a container (as the engine reads it: nothing runs inside), None
    when it is missing, not a regular file or too big to keep."""
    try:
        chunks, stat = api.get_archive(container_id, path)  # type: ignore[attr-defined]
    except APIError:
        return None
    if int(stat.get("size") or 0) > MAX_STORE_BYTES:
        return None
    data = b"".join(chunks)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r") as tar:
        member = next(iter(tar.getmembers()), None)
        if member is None or not member.isreg() or member.size > MAX_STORE_BYTES:
            return None
        handle = tar.extractfile(member)
        return handle.read() if handle is not None else None
