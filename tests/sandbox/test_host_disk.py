"""Measuring on the engine's host (tasks/sandbox/host_disk.py) only where the engine's folders
are this host's: paths an engine names are trusted only when the container's PID 1 here mounts
that layer. (The measurement itself, against the one from inside: test_workspace_volume.py.)"""

from __future__ import annotations

import os

from tasks.sandbox.host_disk import host_layout


def _info(*, driver: str = "overlay2", upper: str = "/var/lib/docker/overlay2/x/diff",
          pid: int | None = None) -> dict:
    return {
        "GraphDriver": {"Name": driver, "Data": {"UpperDir": upper}},
        "State": {"Pid": os.getpid() if pid is None else pid},
        "Mounts": [],
    }


def test_a_layer_the_named_process_does_not_mount_is_not_measured_here():
    """Another host's engine (or a pid that is not the container's) names folders that may
    exist here too: without its mount they are not taken."""
    assert host_layout(_info(), workspace_volume=False) is None


def test_another_storage_driver_or_no_process_is_measured_from_inside():
    assert host_layout(_info(driver="vfs"), workspace_volume=False) is None
    assert host_layout(_info(pid=0), workspace_volume=False) is None
    assert host_layout(_info(upper=""), workspace_volume=False) is None
