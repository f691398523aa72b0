"""The in-memory sandbox answers the tool's plumbing by what a command does, so rewording a
command in the agent (options, order, `--`, how it is chained) does not break the loop's tests."""

from __future__ import annotations

import shlex

from tests.support.memory_sandbox import MemorySandbox


def test_plumbing_is_recognised_however_it_is_worded():
    files = {"a.py": "a", "b.py": "b", "docs/AGENTS.md": "x", "AGENTS.md": "y"}
    sandbox = MemorySandbox(files=dict(files))

    found = sandbox.exec("find . -type f -name AGENTS.md -not -path './.git/*' | sort")
    assert found.output == "AGENTS.md\ndocs/AGENTS.md\n"
    stat = sandbox.exec(f"bash -c {shlex.quote('echo any script')} stat a.py docs missing")
    assert stat.output == "F\ta.py\nD\tdocs\nN\tmissing\n"
    sandbox.exec("rm -f a.py")
    sandbox.exec("rm -- b.py")
    assert set(sandbox.files) == {"docs/AGENTS.md", "AGENTS.md"}
    committed = sandbox.exec("git add --all; git -c user.name=x commit -qm 'other words'")
    assert committed.output == "COMMITTED\n" and sandbox.commits == 1
    assert sandbox.exec("git add -A && git commit -m again").output == "NOTHING\n"
    assert sandbox.commands == []  # none of these reached the model's command handler


def test_the_models_own_commands_reach_its_handler():
    sandbox = MemorySandbox(files={"a.py": "a"})
    sandbox.exec("pytest -q 'unclosed", cwd="/workspace/src")
    sandbox.exec("git status")
    assert sandbox.commands == [
        ("pytest -q 'unclosed", "/workspace/src"),
        ("git status", "/workspace"),
    ]
    assert sandbox.files == {"a.py": "a"}
