"""The symbolic-link-proof path walk that the programs run inside the container share.

`file_tool.py` (one file read or written) and `tasks/agent/patch_exec.py` (a whole patch in one
exec) both open a workspace path one component at a time, relative to the folder before it, with
`O_NOFOLLOW` on every step, so that a link anywhere on the path fails the open whenever it
appears. `SOURCE` is that walk as program text (they run it with the image's own Python, so it is
text, not an import): `opened()` raises `LinkOnPath(rel)` where a component is a link, and
`parent()` returns an open folder holding the last component, and that name.
"""

from __future__ import annotations

SOURCE = r'''
import errno, os, stat

DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class LinkOnPath(Exception):
    """A component of `path` is a symbolic link."""

    def __init__(self, path):
        self.path = path


def opened(fd, name, flags, rel, mode=0o644):
    try:
        return os.open(name, flags, mode, dir_fd=fd)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
            try:
                if stat.S_ISLNK(os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode):
                    raise LinkOnPath(rel)
            except FileNotFoundError:
                pass
        raise


def parent(root, rel, create):
    """An open folder holding the last component of `rel`, and that name (folders on the way made
    when `create`); LinkOnPath when a component on the way is a symbolic link."""
    parts = [p for p in rel.split("/") if p]
    fd = os.open(root, DIR)
    for part in parts[:-1]:
        if create:
            try:
                os.mkdir(part, 0o755, dir_fd=fd)
            except FileExistsError:
                pass
        try:
            child = opened(fd, part, DIR, rel)
        finally:
            os.close(fd)
        fd = child
    return fd, parts[-1]
'''
