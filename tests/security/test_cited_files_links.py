"""The final answer's cited files are read in one exec inside the container
(tasks/agent/tree_exec.py), and what it reads is kept with the attempt and shown on the task
page. A model (or a command it ran) can plant symbolic links in the workspace and cite them:
the reader must never follow one, wherever it sits on the path, so nothing outside the
workspace (nor a file only root may read) reaches the host as a "cited file"."""

from __future__ import annotations

import pytest

from tasks.agent.citations import check_citations, cited_file_paths
from tasks.agent.tree_exec import read_tree
from tests.security.sandbox_support import checkout

pytestmark = pytest.mark.docker

ANSWER = (
    "See 【F:notes.txt†L1】, 【F:etc/hostname†L1】, 【F:app/pw†L1】 and 【F:app/main.py†L1-L2】; "
    "also 【F:../../etc/passwd†L1】."
)


def test_cited_links_out_of_the_workspace_are_never_read(make_sandbox, tmp_path):
    checkout(tmp_path / "c", {"app/main.py": "import os\nprint(os.getcwd())\n"})
    sandbox = make_sandbox(workspace=tmp_path / "c")
    # What a model's command can do: links to files and folders outside the workspace.
    planted = sandbox.exec("ln -s /etc/passwd notes.txt && ln -s /etc etc && ln -s /etc/passwd "
                           "app/pw && echo planted")
    assert planted.output.strip() == "planted", planted.output

    tree = read_tree(sandbox, cited_file_paths(ANSWER))

    assert {path: found.kind for path, found in tree.items()} == {
        "notes.txt": "L", "etc/hostname": "L", "app/pw": "L", "app/main.py": "F",
    }
    assert tree["app/main.py"].text == "import os\nprint(os.getcwd())\n"
    assert all(found.text is None for path, found in tree.items() if path != "app/main.py")
    report = check_citations(
        ANSWER, count_lines=lambda p: tree[p].lines if tree[p].kind == "F" else None, chunks={}
    )
    assert [c.valid for c in report.citations] == [False, False, False, True, False]
    assert "root:" not in repr(tree)


def test_a_file_the_command_user_cannot_read_is_not_read(make_sandbox, tmp_path):
    checkout(tmp_path / "c", {"a.txt": "a\n"})
    sandbox = make_sandbox(workspace=tmp_path / "c")
    # /etc/shadow is root's: a hard link to it (same file) cannot be made by the user, but the
    # path itself through a link to /etc is refused before any open.
    sandbox.exec("ln -s /etc/shadow shadow; ln -s / root")
    tree = read_tree(sandbox, ["shadow", "root/etc/shadow", "a.txt"])
    assert [tree[p].kind for p in ("shadow", "root/etc/shadow", "a.txt")] == ["L", "L", "F"]
    assert tree["a.txt"].text == "a\n"
