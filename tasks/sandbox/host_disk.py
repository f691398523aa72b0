"""What a sandbox wrote, measured on the engine's host: no exec in the container, no engine walk.

Under load each in-container measurement (container.disk_use: the engine's walk of the writable
layer plus `du` of the workspace volume in an exec) cost about 0.1 CPU-s of runc, shim and
engine work, and 20 attempts at once made about two each. When the engine's files are on this
host and readable (this worker is the engine's root, as in the embedded stack), the same two
figures are taken here with the host's `du`: the layer as the engine counts it (apparent
bytes: `SizeRw`) and the volume as the in-container `du -skxP` did (blocks). `du -P -x` follows
no symbolic link and stays on one file system (GNU fts checks each folder it enters is the one
it listed, so a folder swapped for a link mid-walk is not followed); root here reads folders
their owner made unreadable, so nothing in the tree is hidden from it.

`host_layout` says whether this applies: the container's PID 1 on this host mounts the layer's
upper folder (proof that the paths the engine gave are this host's), the storage driver is
overlay2 and the folders can be read. Otherwise (a remote engine, another driver, a worker that
is not root) the caller measures from inside as before.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tasks.sandbox.spec import WORKSPACE
from tasks.sandbox.watch import DiskUse

DU_TIMEOUT = 120.0  # seconds one walk may take (a huge tree); past it: measured from inside
DU = shutil.which("du") or ""


@dataclass(frozen=True)
class HostLayout:
    """A container's writable layer (overlay2's upper folder) and workspace volume ("" when
    the workspace is in the layer) as folders of this host."""

    upper: str
    workspace: str


def host_layout(info: Mapping[str, Any], *, workspace_volume: bool) -> HostLayout | None:
    """From the container's inspect: its folders on this host, or None when they are not
    (see the module's docstring)."""
    driver = info.get("GraphDriver") or {}
    upper = str((driver.get("Data") or {}).get("UpperDir") or "")
    pid = int((info.get("State") or {}).get("Pid") or 0)
    if driver.get("Name") != "overlay2" or not upper or pid <= 0 or not DU:
        return None
    try:
        mounts = Path(f"/proc/{pid}/mountinfo").read_text(errors="replace")
    except OSError:
        return None
    if f"upperdir={upper}," not in mounts and not mounts.rstrip().endswith(f"upperdir={upper}"):
        return None
    volume = ""
    if workspace_volume:
        volume = next(
            (
                str(m.get("Source") or "")
                for m in info.get("Mounts") or []
                if m.get("Destination") == WORKSPACE and m.get("Type") == "volume"
            ),
            "",
        )
        if not volume:
            return None
    folders = [upper, volume] if volume else [upper]
    if not all(os.path.isdir(f) and os.access(f, os.R_OK | os.X_OK) for f in folders):
        return None
    return HostLayout(upper=upper, workspace=volume)


def measure(layout: HostLayout) -> DiskUse | None:
    """What the sandbox wrote (MB), or None when a walk could not be completed whole here."""
    layer_bytes = _du(["-s", "-b", "-x", "-P"], layout.upper)
    if layer_bytes is None:
        return None
    total = layer_bytes // (1024 * 1024)
    if layout.workspace:
        kb = _du(["-s", "-k", "-x", "-P"], layout.workspace)
        if kb is None:
            return None
        total += kb // 1024
    return DiskUse(total)


def _du(options: list[str], folder: str) -> int | None:
    """`du OPTIONS -- folder`'s total; None when it failed or could not read part of the tree
    (a file vanishing mid-walk is no failure: its figure is simply not counted)."""
    try:
        done = subprocess.run(  # noqa: S603 — fixed program and options, a folder the engine named
            [DU, *options, "--", folder],
            capture_output=True,
            timeout=DU_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    figure = done.stdout.split(maxsplit=1)[0] if done.stdout.strip() else b""
    if not figure.isdigit() or b"Permission denied" in done.stderr:
        return None
    if done.returncode != 0 and b"No such file" not in done.stderr:
        return None
    return int(figure)
