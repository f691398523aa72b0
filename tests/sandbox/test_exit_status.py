"""Commands codexweb wrote end their stderr with their exit status (tasks/sandbox/exit_status.py),
so the host learns it without asking the engine; for any other command the engine is asked,
and a code it has not recorded yet is waited for, never read as success."""

from __future__ import annotations

import io
import tarfile

import pytest

from tasks.sandbox import exit_status
from tasks.sandbox.base import SandboxError


def test_the_trailer_gives_the_status_and_is_taken_off():
    assert exit_status.split(b"warning: x\n" + exit_status.MARK + b"0") == (0, b"warning: x\n")
    assert exit_status.split(b"no such file" + exit_status.MARK + b"3") == (3, b"no such file")


MARK = exit_status.MARK


@pytest.mark.parametrize("err", [b"", b"plain stderr", MARK, MARK + b"1x", MARK + b"1234"])
def test_without_a_whole_trailer_there_is_no_status(err):
    assert exit_status.split(err) == (None, err)


@pytest.fixture
def inspections(monkeypatch):  # noqa: ANN001, ANN201
    """Counts the engine's exec inspections (the real call still runs)."""

    def spy(sandbox):  # noqa: ANN001, ANN202
        api = sandbox.api
        calls: list[str] = []
        real = api.exec_inspect

        def counted(exec_id):  # noqa: ANN001, ANN202
            calls.append(exec_id)
            return real(exec_id)

        monkeypatch.setattr(api, "exec_inspect", counted)
        return calls

    return spy


@pytest.mark.docker
def test_file_reads_writes_and_the_workspace_copy_need_no_inspection(make_sandbox, inspections):
    sandbox = make_sandbox()
    calls = inspections(sandbox)
    sandbox.write_file("pkg/mod.py", "A = 1\n")
    assert sandbox.read_file("pkg/mod.py") == "A = 1\n"
    with pytest.raises(SandboxError, match="No such file"):
        sandbox.read_file("pkg/missing.py")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("only.txt")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"hi\n"))
    buf.seek(0)
    sandbox._require_shell().replace_workspace(buf)
    assert sandbox.read_file("only.txt") == "hi\n"
    assert calls == []


@pytest.mark.docker
def test_a_code_the_engine_has_not_recorded_yet_is_waited_for(make_sandbox, monkeypatch):
    sandbox = make_sandbox()
    api = sandbox.api
    real = api.exec_inspect
    answers = iter([{"Running": True, "ExitCode": None}])  # what a busy engine says at first

    def late(exec_id):  # noqa: ANN001, ANN202
        return next(answers, None) or real(exec_id)

    monkeypatch.setattr(api, "exec_inspect", late)
    code, _, _ = sandbox._require_shell().run(["sh", "-c", "exit 3"], user="root")
    assert code == 3
