"""Starting one of the agent's in-container programs (patch_exec.py, tree_exec.py) cheaply.

Each program is a few hundred lines of Python run by the image's own `/usr/bin/python3 -I -S`
as the command user. Compiling that text is most of what the program costs in the container
after the interpreter starts (≈ 10 ms on a quiet machine, ≈ 90 ms on a loaded one, per call),
and apply_patch pays it while the person waits. So the command carries the program twice, both
compressed: as a code object compiled here (`marshal`), and as text. A small boot line runs the
code object when the container's Python takes this interpreter's bytecode (the same
`MAGIC_NUMBER`, the number `.pyc` files are checked against) and compiles the text otherwise
(another Python version), so any image works and the common one skips the compile.

The boot line passes the program its answer's marker (`MARKER`), so the command names which
program it runs. Nothing crosses back but the program's printed answer, read as before.
"""

from __future__ import annotations

import base64
import importlib.util
import marshal
import shlex
import zlib
from functools import cache

PYTHON = "/usr/bin/python3 -I -S -c"

# argv: marker, code (base64 of zlib of marshal), source (base64 of zlib), the program's own.
BOOT = (
    "import sys, binascii, zlib\n"
    "marker, code, text = sys.argv[1:4]\n"
    "del sys.argv[1:4]\n"
    "ext = sys.modules.get('_frozen_importlib_external')\n"
    "if getattr(ext, 'MAGIC_NUMBER', None) == {magic!r}:\n"
    "    import marshal\n"
    "    program = marshal.loads(zlib.decompress(binascii.a2b_base64(code)))\n"
    "else:\n"
    "    program = compile(zlib.decompress(binascii.a2b_base64(text)).decode(), "
    "'<codexweb>', 'exec')\n"
    "exec(program, {{'__name__': '__main__', 'MARKER': marker}})\n"
)


@cache
def launch(marker: str, source: str, *, magic: bytes = importlib.util.MAGIC_NUMBER) -> str:
    """The start of a command line that runs `source` (a program that prints `marker` + its
    answer; `MARKER` is set for it) in the container; the program's own arguments follow.
    `magic`: the bytecode number the code object is for (this interpreter's)."""
    code = compile(source, "<codexweb>", "exec", dont_inherit=True)
    words = [
        PYTHON,
        shlex.quote(BOOT.format(magic=magic)),
        shlex.quote(marker),
        _packed(marshal.dumps(code)),
        _packed(source.encode()),
    ]
    return " ".join(words)


def _packed(data: bytes) -> str:
    return base64.b64encode(zlib.compress(data, 9)).decode()
