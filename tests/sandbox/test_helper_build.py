"""Building the resident helper (tasks/sandbox/helper_build.py) and mounting it (spec.py)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tasks.sandbox import helper_build
from tasks.sandbox.base import SandboxOwner, SandboxSpec
from tasks.sandbox.spec import HELPER_PATH, container_plan


def test_the_binary_is_static_keyed_by_the_source_and_rebuilt_when_it_changes(
    tmp_path: Path,
) -> None:
    source = tmp_path / "helper.c"
    source.write_text(helper_build.SOURCE.read_text())
    first = helper_build.build(tmp_path / "cache", source)
    assert first.parent.name == helper_build.source_key(source)
    assert (
        "statically linked"
        in subprocess.run(
            ["file", "-b", str(first)], capture_output=True, text=True, check=False
        ).stdout
        or b"libc.so" not in first.read_bytes()
    )
    assert helper_build.build(tmp_path / "cache", source) == first  # built once
    source.write_text(source.read_text() + "\n/* changed */\n")
    second = helper_build.build(tmp_path / "cache", source)
    assert second != first and second.is_file()


def test_a_source_that_does_not_compile_says_why(tmp_path: Path) -> None:
    source = tmp_path / "broken.c"
    source.write_text("int main(void) { return nope; }\n")
    with pytest.raises(RuntimeError, match="(?s)cannot build the sandbox helper: .*nope"):
        helper_build.build(tmp_path / "cache", source)
    assert helper_build.built(tmp_path / "cache", source) is None


def test_a_missing_compiler_says_so(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="no-such-cc is not installed"):
        helper_build.build(tmp_path / "cache", compiler="no-such-cc")


def test_the_plan_mounts_the_binary_read_only(tmp_path: Path) -> None:
    spec = SandboxSpec(owner=SandboxOwner.attempt(1), image="i", workspace=tmp_path)
    plan = container_plan(
        spec, image="i", name="n", egress_dir=None, disk_quota=False, helper_binary="/h/bin"
    )
    assert plan.host_config["binds"] == {"/h/bin": {"bind": HELPER_PATH, "mode": "ro"}}
    plain = container_plan(spec, image="i", name="n", egress_dir=None, disk_quota=False)
    assert "binds" not in plain.host_config
