"""The tar of a host checkout that becomes a sandbox's /workspace.

GNU tar writes it when the tree holds only folders, regular files and symbolic links (what a git
checkout is made of): for a checkout of 7,000 files Python's tarfile spent ≈ 2 s of the worker's
CPU, holding the GIL every other attempt of the worker needs, where tar takes ≈ 0.4 s in its own
process. Anything else in the tree (a fifo, a device, a socket) falls back to tarfile, which
leaves those out.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path
from typing import IO

from tasks.sandbox.base import SandboxError
from tasks.sandbox.spec import SANDBOX_UID, SETUP_USER

TAR_TIMEOUT_SECONDS = 600


def workspace_archive(source: Path, *, packed: Path | None = None) -> IO[bytes]:
    """A tar of `source`'s contents owned by the sandbox user: folders, regular files and
    symbolic links (as links, never followed), sorted by name. The caller closes it; it is read
    from its start. `packed`: that tar written before (`pack_workspace`, e.g. once for the
    siblings sharing a checkout), opened instead of packing again while it is there."""
    if packed is not None:
        try:
            return packed.open("rb")
        except OSError:
            pass  # gone or unreadable: pack it here as without one
    entries, tar = _packing(source)
    # tar writes to a real file; the (rare) fallback spools in memory up to 64 MiB.
    archive = (
        tempfile.TemporaryFile()  # noqa: SIM115 - the caller closes it
        if tar
        else tempfile.SpooledTemporaryFile(64 * 1024 * 1024)  # noqa: SIM115
    )
    try:
        _pack(source, entries, tar, archive)
    except BaseException:
        archive.close()
        raise
    archive.seek(0)
    return archive


def pack_workspace(source: Path, out: IO[bytes]) -> None:
    """Write `workspace_archive`'s tar of `source` into `out`. SandboxError as it."""
    entries, tar = _packing(source)
    _pack(source, entries, tar, out)


def _packing(source: Path) -> tuple[list[str], str | None]:
    """`source`'s entries, and GNU tar's path when it can pack them (None: tarfile packs)."""
    if not source.is_dir():
        raise SandboxError(f"the workspace {source} is not a folder")
    tar = shutil.which("tar")
    return sorted(os.listdir(source)), tar if tar and _only_plain_entries(source) else None


def _pack(source: Path, entries: list[str], tar: str | None, out: IO[bytes]) -> None:
    if tar is None:
        _tarfile_archive(source, entries, out)
    else:
        _gnu_tar(tar, source, entries, out)


def _only_plain_entries(source: Path) -> bool:
    """Whether every entry below `source` is a folder, a regular file or a symbolic link (the
    kinds the directory entries say; no stat per file)."""
    pending = [source]
    while pending:
        with os.scandir(pending.pop()) as found:
            for entry in found:
                if entry.is_symlink():
                    continue
                if entry.is_dir(follow_symlinks=False):
                    pending.append(Path(entry.path))
                elif not entry.is_file(follow_symlinks=False):
                    return False
    return True


def _gnu_tar(tar: str, source: Path, entries: list[str], out: IO[bytes]) -> None:
    """`entries` of `source` into `out`. The names go on standard input, NUL-separated and taken
    verbatim, so a name such as `-C` or `--to-command=…` stays a name."""
    owner = f"{SETUP_USER}:{SANDBOX_UID}"
    command = [
        tar, "--create", "--file=-", "--format=gnu", "--sort=name", "--hard-dereference",
        f"--owner={owner}", f"--group={owner}", f"--directory={source}",
        "--null", "--verbatim-files-from", "--files-from=-",
    ]
    names = b"".join(os.fsencode(entry) + b"\0" for entry in entries)
    try:
        done = subprocess.run(command, input=names, stdout=out, stderr=subprocess.PIPE,
                              timeout=TAR_TIMEOUT_SECONDS, check=False)
    except subprocess.TimeoutExpired:
        raise SandboxError(
            f"cannot pack the workspace: tar took more than {TAR_TIMEOUT_SECONDS} seconds"
        ) from None
    if done.returncode != 0:
        said = done.stderr.decode(errors="replace").strip()[-1000:]
        raise SandboxError(f"cannot pack the workspace: {said or f'tar exited {done.returncode}'}")


def _tarfile_archive(source: Path, entries: list[str], out: IO[bytes]) -> None:
    def owned(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
        if not (info.isfile() or info.isdir() or info.issym()):
            return None
        info.uid = info.gid = SANDBOX_UID
        info.uname = info.gname = SETUP_USER
        return info

    with tarfile.open(fileobj=out, mode="w") as tar:
        for entry in entries:
            tar.add(source / entry, arcname=entry, recursive=True, filter=owned)
