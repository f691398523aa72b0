"""apply_patch in one exec: the patch goes into the container and is applied there.

Checking the paths, reading the files, writing them and deleting cost one exec each when done
from the host (≈ 0.15 s apiece through the Docker API, 0.58 s for a one-line change); the
person waits on every one. So the tool sends one command: the image's own Python
(`/usr/bin/python3 -I -S`, as for tasks/sandbox/file_tool.py) running this module's program,
with the patch text compressed in its arguments. The program is patch.py's own source (the same
parser and matcher as on the host) plus a driver that, as the command user:

- inspects every path one component at a time with `O_NOFOLLOW` (a symbolic link anywhere on a
  path refuses the patch, also when it appears between the check and the write: every open
  refuses links), reads the files, computes all new contents, and only then
- creates the parent folders, writes the files and deletes what the patch deletes, and
- prints one line: `MARKER` + JSON saying what happened.

A patch whose command would not fit in one argument (Linux caps one at 128 KiB), or an image
whose Python is older than 3.10, gets `STEPS`: the tool then takes its step-by-step path.
"""

from __future__ import annotations

import base64
import json
import shlex
import zlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from tasks.agent.program_launch import launch
from tasks.sandbox import path_walk
from tasks.sandbox.base import SandboxError

MARKER = "codexweb-apply-patch:"
MAX_COMMAND_BYTES = 120_000  # under MAX_ARG_STRLEN (128 KiB): the command is one argument
READ_LIMIT = 1_000_000  # as Sandbox.read_file's default: larger files are refused

# What the one-exec programs share (this one and tree_exec.py's): the link-proof path walk
# (tasks/sandbox/path_walk.py, also file_tool.py's), `kind`, `read`, a JSON writer. The
# program's head sets LIMIT; MARKER is set by the boot line (program_launch.py).
COMMON = path_walk.SOURCE + r'''
import binascii, sys, zlib


class Stop(Exception):
    """Ends the program with a result."""

    def __init__(self, **result):
        self.result = result


def kind(root, rel):
    """"F" file, "D" folder, "O" other, "N" absent, "L" a link on the way."""
    try:
        fd, name = parent(root, rel, False)
        mode = os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode
    except LinkOnPath:
        return "L"
    except (FileNotFoundError, NotADirectoryError):
        return "N"
    if stat.S_ISLNK(mode):
        return "L"
    return "F" if stat.S_ISREG(mode) else "D" if stat.S_ISDIR(mode) else "O"


def read_bytes(root, rel):
    """The bytes of the regular file `rel`, opened as the command user without following any
    link; Stop("other"/"link"/"read") otherwise, also when larger than LIMIT."""
    try:
        fd, name = parent(root, rel, False)
        f = opened(fd, name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, rel)
        if not stat.S_ISREG(os.fstat(f).st_mode):
            raise Stop(error="other", path=rel)
        os.set_blocking(f, True)
        with os.fdopen(f, "rb") as src:
            data = src.read(LIMIT + 1)
    except LinkOnPath as link:
        raise Stop(error="link", path=link.path)
    except OSError as exc:
        raise Stop(error="read", path=rel, message=exc.strerror or str(exc))
    if len(data) > LIMIT:
        raise Stop(error="read", path=rel, message=f"{rel} is larger than {LIMIT} bytes")
    return data


def read(root, rel):
    return read_bytes(root, rel).decode(errors="replace")


def as_json(value):
    """JSON of the result (str, int, bool, lists, dicts) without importing json (which imports
    re)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return '"' + "".join(
            c if " " <= c and c not in '"\\' else "\\u%04x" % ord(c) for c in value
        ) + '"'
    if isinstance(value, dict):
        return "{" + ", ".join(as_json(k) + ": " + as_json(v) for k, v in value.items()) + "}"
    return "[" + ", ".join(as_json(v) for v in value) + "]"
'''

DRIVER = r'''

def write(root, rel, content):
    fd, name = parent(root, rel, True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    f = opened(fd, name, flags, rel)
    if not stat.S_ISREG(os.fstat(f).st_mode):
        os.close(f)
        raise Stop(error="other", path=rel)
    os.set_blocking(f, True)
    os.ftruncate(f, 0)
    with os.fdopen(f, "wb") as out:
        out.write(content.encode())


def delete(root, rel):
    fd, name = parent(root, rel, False)
    try:
        os.unlink(name, dir_fd=fd)
    except FileNotFoundError:
        pass


def apply(root, text):
    patch = parse_patch(text)
    kinds = {path: kind(root, path) for path in patch.paths}
    for path, k in kinds.items():
        if k == "L":
            raise Stop(error="link", path=path)
        if k in ("D", "O"):
            raise Stop(error="other", path=path)
    contents = {path: read(root, path) for path, k in kinds.items() if k == "F"}
    try:
        changes = compute_changes(patch, contents.get)
    except ApplyError as exc:
        raise Stop(error="apply", message=str(exc))
    writes = [c for c in changes if c.content is not None]
    done = []
    current = ""
    try:  # the folders first (as `mkdir -p` did): a folder that cannot be made writes nothing
        for current in sorted({c.path.rpartition("/")[0] for c in writes} - {""}):
            os.close(parent(root, current + "/.", True)[0])
        for change in writes:
            current = change.path
            write(root, current, change.content)
            done.append(current)
        for change in changes:
            if change.content is None:
                current = change.path
                delete(root, current)
    except Stop as stop:
        raise Stop(**dict(stop.result, done=done))
    except LinkOnPath as link:
        raise Stop(error="link", path=link.path, done=done)
    except OSError as exc:
        raise Stop(error="write", path=current, done=done, message=exc.strerror or str(exc))
    return {"ok": True, "changes": [[c.path, c.content is None] for c in changes]}


def main():
    root, packed = sys.argv[1], sys.argv[2]
    text = zlib.decompress(binascii.a2b_base64(packed)).decode()
    try:
        result = apply(root, text)
    except Stop as stop:
        result = stop.result
    except PatchError as exc:
        result = {"error": "patch", "message": str(exc)}
    sys.stdout.write(MARKER + as_json(result) + "\n")


main()
'''


# patch.py's two heavier imports, replaced in the container by what the module needs of them:
# `dataclasses` pulls in inspect, re and enum (≈ 0.2 s of a loaded machine's time per call).
HEAVY_IMPORTS = {
    "from collections.abc import Callable\n": (
        "class _Hint:\n    def __getitem__(self, item):\n        return self\n\n\n"
        "Callable = _Hint()\n"
    ),
    "from dataclasses import dataclass, field\n": '''
class _Factory:
    def __init__(self, make):
        self.make = make


def field(default_factory):
    return _Factory(default_factory)


def dataclass(cls=None, frozen=False):
    """Enough of dataclasses.dataclass for patch.py: keyword or positional fields."""
    def wrap(cls):
        names = list(cls.__dict__.get("__annotations__", {}))

        def __init__(self, *args, **kwargs):
            values = dict(zip(names, args), **kwargs)
            for name in names:
                value = values[name] if name in values else getattr(cls, name)
                object.__setattr__(self, name, value.make() if isinstance(value, _Factory)
                                   else value)

        cls.__init__ = __init__
        return cls
    return wrap if cls is None else wrap(cls)
''',
}


@cache
def program() -> str:
    """The whole program: a version check, patch.py's source (its heavier imports replaced),
    then the driver."""
    source = (Path(__file__).parent / "patch.py").read_text()
    body = source.replace("from __future__ import annotations\n", "", 1)
    for line, replacement in HEAVY_IMPORTS.items():
        if line not in body:
            raise RuntimeError(f"patch.py no longer has {line.strip()!r}: update HEAVY_IMPORTS")
        body = body.replace(line, replacement, 1)
    head = (
        "from __future__ import annotations\nimport sys\n"
        f"LIMIT = {READ_LIMIT}\n"
        "if sys.version_info < (3, 10):\n"
        "    sys.stdout.write(MARKER + '{\"error\": \"steps\"}\\n')\n"
        "    sys.exit(0)\n"
    )
    return head + body + COMMON + DRIVER


def command(patch_text: str, root: str) -> str | None:
    """The one command that applies `patch_text` under `root`; None when it would not fit."""
    packed = base64.b64encode(zlib.compress(patch_text.encode(), 6)).decode()
    line = f"{launch(MARKER, program())} {shlex.quote(root)} {packed}"
    return line if len(line.encode()) <= MAX_COMMAND_BYTES else None


@dataclass(frozen=True)
class Outcome:
    """What the program said: `error` is "" when the patch was applied (`changes`: path and
    whether it was deleted), "steps" when the tool must take its step-by-step path, else one of
    patch / apply / link / other / read / write, with `path`, `message` and the paths already
    written (`done`)."""

    error: str = ""
    path: str = ""
    message: str = ""
    done: tuple[str, ...] = ()
    changes: tuple[tuple[str, bool], ...] = ()


def outcome(exit_code: int | None, output: str, error: str = "") -> Outcome:
    """Read the program's answer; SandboxError when it did not give one (it was killed, the
    container went away, the image has no /usr/bin/python3)."""
    for line in reversed(output.splitlines()):
        if line.startswith(MARKER):
            data = json.loads(line[len(MARKER):])
            return Outcome(
                error=str(data.get("error", "")),
                path=str(data.get("path", "")),
                message=str(data.get("message", "")),
                done=tuple(data.get("done", ())),
                changes=tuple((str(p), bool(d)) for p, d in data.get("changes", ())),
            )
    detail = (error or output).strip()[-300:]
    raise SandboxError(f"the patch program failed in the sandbox (exit {exit_code}): {detail}")
