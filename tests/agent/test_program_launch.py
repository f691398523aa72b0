"""The boot line of the in-container programs (tasks/agent/program_launch.py): a container
whose Python takes this interpreter's bytecode runs the precompiled code object and never
compiles the text; any other Python compiles the text and gets the same answer."""

from __future__ import annotations

import shlex
import subprocess
import sys

from tasks.agent import program_launch

PROGRAM = (
    "import sys\n"
    "sys.stdout.write(MARKER + ' ' + ' '.join(sys.argv[1:]) + ' ' + __name__ + '\\n')\n"
)


def run_here(line: str) -> subprocess.CompletedProcess:
    line = line.replace("/usr/bin/python3", shlex.quote(sys.executable), 1)
    return subprocess.run(["bash", "-c", line], capture_output=True, text=True, timeout=60)


def test_the_program_gets_its_marker_and_only_its_own_arguments():
    done = run_here(program_launch.launch("probe:", PROGRAM) + " 'a b' c")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "probe: a b c __main__\n"


def test_a_python_that_takes_this_bytecode_never_compiles_the_text():
    line = program_launch.launch("probe:", PROGRAM)
    words = shlex.split(line)
    text = words[-1]
    broken = line.replace(text, "bm90IHpsaWI=")  # base64 of "not zlib": decoding it would fail
    assert broken != line

    done = run_here(broken + " x")

    assert done.returncode == 0, done.stderr
    assert done.stdout == "probe: x __main__\n"


def test_another_python_compiles_the_text_and_gets_the_same_answer():
    other = program_launch.launch("probe:", PROGRAM, magic=b"\x00\x00\r\n")
    code = shlex.split(other)[-2]
    broken = other.replace(code, "bm90IHpsaWI=")  # the code object is never read

    done = run_here(broken + " x")

    assert done.returncode == 0, done.stderr
    assert done.stdout == "probe: x __main__\n"
