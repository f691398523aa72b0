"""The sandbox package is a boundary: plain specs in, text and typed reports out. It must not
import Django, the database models or the `repos` app (the worker reads settings and rows and
passes plain data down), and the egress addon's by-path siblings must run in mitmdump's own
environment, which has nothing of the project.

Every module is found by globbing the package, so a new module is checked without being listed.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "tasks" / "sandbox"
MODULES = sorted(PACKAGE.rglob("*.py"))
# Run inside mitmdump (.venv-proxy), which does not have the project's dependencies.
ADDON = PACKAGE / "egress" / "addon.py"
# Loaded by path from the addon (`_load`), so the standard library only.
# Read from the addon's own `_load("name")` calls, so a new sibling is checked too.
ADDON_SIBLINGS = [
    PACKAGE / "egress" / f"{name}.py"
    for name in re.findall(r'_load\("(\w+)"\)', ADDON.read_text())
]
STDLIB = set(sys.stdlib_module_names) | {"__future__"}


def imported_names(path: Path) -> list[str]:
    """Every module `path` imports, at any depth (also inside functions)."""
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def forbidden(name: str) -> bool:
    top = name.split(".")[0]
    if top in ("django", "repos", "codexweb", "celery", "channels"):
        return True
    # Of this project's `tasks` app, only the sandbox package itself.
    return top == "tasks" and not (name == "tasks.sandbox" or name.startswith("tasks.sandbox."))


def test_the_addon_siblings_are_found():
    names = {p.name for p in ADDON_SIBLINGS}
    assert {"policy.py", "addresses.py", "tlsprobe.py", "credentials.py"} <= names
    assert all(p.is_file() for p in ADDON_SIBLINGS)


def test_the_glob_finds_the_package_modules():
    found = {p.relative_to(PACKAGE).as_posix() for p in MODULES}
    assert {"base.py", "docker.py", "spec.py", "egress/addon.py", "egress/proxy.py"} <= found


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_no_module_of_the_sandbox_imports_django_models_or_repos(path: Path):
    bad = [name for name in imported_names(path) if forbidden(name)]
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


@pytest.mark.parametrize("path", ADDON_SIBLINGS, ids=lambda p: p.name)
def test_what_the_addon_loads_by_path_uses_the_standard_library_only(path: Path):
    outside = [n for n in imported_names(path) if n.split(".")[0] not in STDLIB]
    assert not outside, f"{path.name} imports {outside}, which mitmdump's environment lacks"


def test_the_addon_imports_only_mitmproxy_and_the_standard_library():
    outside = [
        n for n in imported_names(ADDON) if n.split(".")[0] not in STDLIB | {"mitmproxy"}
    ]
    assert not outside, outside


def test_importing_every_module_loads_no_django():
    """The import-time check: a module may pull Django in through a third one."""
    modules = [
        ".".join(p.relative_to(ROOT).with_suffix("").parts)
        for p in MODULES
        if p != ADDON  # mitmproxy is not installed here; checked above
    ]
    modules = [m.removesuffix(".__init__") for m in modules]
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in modules)
        + "loaded = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('django', 'repos', 'codexweb') or m == 'tasks.models')\n"
        + "assert not loaded, loaded\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
