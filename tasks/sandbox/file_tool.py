"""Reading and writing one workspace file from inside the container, as the command user.

The path check and the write must be one step: checked from the host and then written by the
engine (`put_archive`, as root), a background process could swap a folder for a symbolic link in
between and have root write anywhere. So the file is opened by a small Python program running as
the command user, one path component at a time relative to the folder before it, with
`O_NOFOLLOW` on every step: a symbolic link anywhere on the path fails the call, whenever it
appears, and the kernel applies that user's own permissions to whatever is opened. The content
travels through the command's standard input (writes) or output (reads), never a temporary file.

`python3 -I -S` ignores PYTHON* variables, the user's site folder and the current folder; the
interpreter is the image's own, root-owned `/usr/bin/python3`.
"""

from __future__ import annotations

from tasks.sandbox import exit_status, path_walk

PYTHON = ["/usr/bin/python3", "-I", "-S", "-c"]
SYMLINK_EXIT = 4
NOT_A_FILE_EXIT = 5

SCRIPT = path_walk.SOURCE + r"""
import sys

MARK = """ + repr(exit_status.MARK.decode()) + r"""

op, root, rel, limit = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])


def refuse(code, message):
    sys.stderr.write(message + MARK + str(code))  # the status, for the host (exit_status.py)
    sys.exit(code)


try:
    fd, name = parent(root, rel, op == "write")
    try:  # for a clear message only; the checks on the opened file below are what holds
        mode = os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode
        if stat.S_ISLNK(mode):
            refuse(4, "symlink")
        if not stat.S_ISREG(mode):
            refuse(5, "not a regular file")
    except FileNotFoundError:
        pass
    if op == "write":
        flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    else:
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    f = opened(fd, name, flags, rel)
    if not stat.S_ISREG(os.fstat(f).st_mode):
        refuse(5, "not a regular file")
    os.set_blocking(f, True)
    if op == "write":
        os.ftruncate(f, 0)
        with os.fdopen(f, "wb") as out:
            while True:
                block = sys.stdin.buffer.read(1 << 20)
                if not block:
                    break
                out.write(block)
    else:
        with os.fdopen(f, "rb") as src:
            sys.stdout.buffer.write(src.read(limit + 1))
except LinkOnPath:
    refuse(4, "symlink")
except OSError as exc:
    refuse(3, exc.strerror or str(exc))
sys.stdout.flush()
sys.stderr.write(MARK + "0")
"""


def command(op: str, root: str, relative: str, *, limit: int = 0) -> list[str]:
    """The exec command line for `op` ("read" or "write") on `relative` under `root`."""
    return [*PYTHON, SCRIPT, op, root, relative, str(limit)]
