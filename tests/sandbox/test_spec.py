"""The container plan: security decisions checked without Docker."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from tasks.sandbox.base import NetworkPolicy, SandboxError, SandboxOwner, SandboxSpec
from tasks.sandbox.images import warm_key
from tasks.sandbox.output import OutputCollector
from tasks.sandbox.snapshot import EnvironmentSnapshot
from tasks.sandbox.spec import (
    EGRESS_MOUNT,
    LABEL_ATTEMPT,
    LABEL_DEADLINE,
    LABEL_FOR,
    LABEL_OWNER,
    LABEL_SANDBOX,
    agent_user,
    check_path_prefix,
    container_name,
    container_plan,
    exec_environment,
    workspace_path,
)
from tasks.worker.sandbox_settings import image_for, spec_from_snapshot


def spec(**fields):
    base = {"owner": SandboxOwner.attempt(7), "image": "img", "workspace": Path("/tmp/x")}
    base.update(fields)
    return SandboxSpec(**base)


def test_a_setup_runs_container_is_labelled_as_its_own_not_as_an_attempt():
    run = spec(owner=SandboxOwner.setup_run(7))
    plan = container_plan(run, image="img", name="n", egress_dir=None, disk_quota=False)
    assert plan.labels[LABEL_FOR] == "setup-run:7"
    assert LABEL_ATTEMPT not in plan.labels  # no attempt 0 (or 7) for the reaper to mistake
    assert container_name(run, "ab12").startswith("codexweb-setup-run-7-")


def test_the_workspace_volume_is_anonymous_labelled_and_filled_from_the_image():
    """Anonymous: removing the container with `v=True` removes it. Labelled: the reaper finds
    one a crash left; nothing of the attempt in it (the pool keys on the host settings).
    Filled from the image (no NoCopy): that is what makes `sandbox` its owner, since nobody in
    the container may chown."""
    plan = container_plan(
        spec(), image="img", name="n", egress_dir=None, disk_quota=False, workspace_volume=True
    )
    (mount,) = plan.host_config["mounts"]  # type: ignore[misc]
    assert mount["Target"] == "/workspace" and mount["Type"] == "volume"
    assert not mount["Source"] and not mount["ReadOnly"]
    assert mount["VolumeOptions"]["NoCopy"] is False
    assert mount["VolumeOptions"]["Labels"] == {LABEL_SANDBOX: "1"}
    other = container_plan(
        spec(owner=SandboxOwner.setup_run(8)),
        image="img",
        name="m",
        egress_dir=None,
        disk_quota=False,
        workspace_volume=True,
    )
    assert other.host_config["mounts"] == plan.host_config["mounts"]
    plain = container_plan(spec(), image="img", name="n", egress_dir=None, disk_quota=False)
    assert "mounts" not in plain.host_config


def test_plan_isolates_and_limits():
    plan = container_plan(
        spec(cpus=1.5, memory_mb=1024, pids=100, disk_mb=2048, variables={"A": "1"}),
        image="img",
        name="n",
        egress_dir=None,
        disk_quota=True,
        now=1000,
    )
    hc = plan.host_config
    assert hc["network_mode"] == "none"
    assert hc["cap_drop"] == ["ALL"]
    assert hc["security_opt"] == ["no-new-privileges:true"]
    assert hc["nano_cpus"] == 1_500_000_000
    assert hc["mem_limit"] == hc["memswap_limit"] == 1024 * 1024 * 1024
    assert hc["pids_limit"] == 100
    assert hc["storage_opt"] == {"size": "2048M"}
    assert "binds" not in hc
    assert plan.labels[LABEL_SANDBOX] == "1"
    assert plan.labels[LABEL_ATTEMPT] == "7"
    assert plan.labels[LABEL_FOR] == "attempt:7"
    assert plan.labels[LABEL_DEADLINE] == str(1000 + 3600)
    assert plan.labels[LABEL_OWNER].count(":") == 2
    # A repository's variables reach the users' commands only, never the container's own
    # environment, which root's helpers inherit (a variable LD_PRELOAD would run as root).
    assert "A" not in plan.environment
    assert (
        exec_environment(user="sandbox", policy=NetworkPolicy(), variables={"A": "1"})["A"] == "1"
    )


def test_egress_folder_is_mounted_read_only_and_no_quota_without_support():
    plan = container_plan(
        spec(), image="img", name="n", egress_dir=Path("/var/e"), disk_quota=False
    )
    assert plan.host_config["binds"] == {"/var/e": {"bind": EGRESS_MOUNT, "mode": "ro"}}
    assert "storage_opt" not in plan.host_config


def test_secrets_never_reach_the_container_environment():
    plan = container_plan(
        spec(secrets={"TOKEN": "x"}), image="img", name="n", egress_dir=None, disk_quota=False
    )
    assert "TOKEN" not in plan.environment


def test_proxy_variables_only_when_egress_is_allowed():
    off = exec_environment(user="sandbox", policy=NetworkPolicy(mode="off"))
    assert not any("proxy" in k.lower() for k in off)
    on = exec_environment(user="reader", policy=NetworkPolicy(mode="allowlist"))
    assert on["HTTPS_PROXY"] == "http://127.0.0.1:3128"
    assert on["HOME"] == "/home/reader"
    assert "SSL_CERT_FILE" not in on  # no interception, no CA variables


def test_ca_variables_only_when_the_proxy_intercepts_tls():
    policy = NetworkPolicy(mode="allowlist")
    env = exec_environment(user="sandbox", policy=policy, egress_ca=True)
    for name in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "PIP_CERT", "GIT_SSL_CAINFO"):
        assert env[name] == "/etc/ssl/certs/ca-certificates.crt"
    assert env["CURL_CA_BUNDLE"] == "/etc/ssl/certs/ca-certificates.crt"
    assert env["NODE_EXTRA_CA_CERTS"] == "/usr/local/share/codexweb/cas.pem"  # codexweb's only
    off = exec_environment(user="sandbox", policy=NetworkPolicy(mode="off"), egress_ca=True)
    assert "SSL_CERT_FILE" not in off


def test_ask_runs_as_the_reader():
    assert agent_user(spec(read_only=True)) == "reader"
    assert agent_user(spec()) == "sandbox"


@pytest.mark.parametrize("name", ["1A", "A-B", "", "A B"])
def test_bad_variable_names_are_refused(name):
    with pytest.raises(SandboxError):
        container_plan(
            spec(variables={name: "x"}), image="i", name="n", egress_dir=None, disk_quota=False
        )


@pytest.mark.parametrize("path", ["/etc/passwd", "..", "a/../../b", "", "a\x00b"])
def test_workspace_paths_stay_inside(path):
    with pytest.raises(SandboxError):
        workspace_path(path)


def test_workspace_path_normalizes():
    assert workspace_path("./src//app.py") == "/workspace/src/app.py"


def test_output_cap_keeps_whole_characters_and_notes_the_rest():
    chunks = []
    out = OutputCollector(max_bytes=5, on_output=chunks.append, started=0)
    out.feed("stdout", "ab€cd".encode())  # € is 3 bytes: a b € = 5 bytes
    out.feed("stderr", b"more")
    out.finish()
    assert out.text().startswith("ab€")
    assert "[output truncated: 6 more bytes" in out.text()
    assert [c.text for c in chunks] == ["ab€"]


def test_output_decodes_split_utf8():
    out = OutputCollector(max_bytes=100, on_output=None, started=0)
    data = "é".encode()
    out.feed("stdout", data[:1])
    out.feed("stdout", data[1:])
    out.finish()
    assert out.text() == "é"


def test_spec_from_settings_uses_the_configured_image_and_limits(settings, tmp_path):
    from tasks.worker.sandbox_settings import spec_from_settings

    settings.SANDBOX_IMAGE = "custom:1"
    settings.SANDBOX_MEMORY_MB = 1234
    settings.ATTEMPT_TIMEOUT_SECONDS = 99
    made = spec_from_settings(
        SandboxSpec(owner=SandboxOwner.attempt(3), image="", workspace=tmp_path, read_only=True)
    )
    assert (made.image, made.memory_mb, made.wall_seconds, made.read_only) == (
        "custom:1",
        1234,
        99,
        True,
    )
    assert made.agent_network.mode == "off"


def test_unknown_backend_is_a_clear_error(settings):
    from tasks.worker.sandbox_settings import make_sandbox

    settings.SANDBOX_BACKEND = "none"
    with pytest.raises(SandboxError, match="SANDBOX_BACKEND=docker"):
        make_sandbox(spec())


# -- PATH and image choice ------------------------------------------------------------------------


def test_path_puts_the_prefix_then_the_users_tools_then_the_system():
    env = exec_environment(
        user="reader", policy=NetworkPolicy(mode="off"), path_prefix=("/opt/a/bin", "/x//y/")
    )
    assert env["PATH"].split(":") == [
        "/opt/a/bin",
        "/x/y",
        "/home/sandbox/.local/bin",
        "/home/sandbox/go/bin",
        "/home/sandbox/.cargo/bin",
        "/home/sandbox/.npm-global/bin",
        "/usr/local/sbin",
        "/usr/local/bin",
        "/usr/sbin",
        "/usr/bin",
        "/sbin",
        "/bin",
    ]
    # What setup installed with `pip install --user` is importable for Ask's reader too.
    assert env["PYTHONUSERBASE"] == "/home/sandbox/.local"


@pytest.mark.parametrize(
    "folder,why",
    [
        ("bin", "must be an absolute folder"),
        ("/usr/bin:.", "contains ':'"),
        ("/opt/../etc", "'.' or '..' parts"),
        ("/opt/./bin", "'.' or '..' parts"),
        ("/opt/my tools", "no spaces or shell characters"),
        ("/opt/$(id)", "no spaces or shell characters"),
        ("/opt/a\nPATH=/evil", "no spaces or shell characters"),
        ("", "must be an absolute folder"),
    ],
)
def test_bad_path_prefixes_are_refused_with_the_reason(folder, why):
    with pytest.raises(SandboxError, match=re.escape(why)):
        check_path_prefix([folder])
    with pytest.raises(SandboxError):
        exec_environment(user="sandbox", policy=NetworkPolicy(mode="off"), path_prefix=(folder,))


def test_path_prefix_has_a_length_limit():
    with pytest.raises(SandboxError, match="20 folders at most"):
        check_path_prefix([f"/opt/{n}" for n in range(21)])


def test_warm_key_changes_with_the_image_the_path_prefix_and_the_workspace_layout(tmp_path):
    base = SandboxSpec(
        owner=SandboxOwner.attempt(1),
        image="codexweb-sandbox-universal:latest",
        workspace=tmp_path,
        setup_script="s",
        install_id="i",
        repository="1:git:acme/demo",
        commit="c" * 40,
    )
    volume = "volume"
    keys = {
        warm_key(base, base_image_id="sha256:1", workspace=volume),
        warm_key(
            replace(base, image="codexweb-sandbox-slim:latest"),
            base_image_id="sha256:1",
            workspace=volume,
        ),
        warm_key(
            replace(base, path_prefix=("/opt/bin",)), base_image_id="sha256:1", workspace=volume
        ),
        # An image made with the tree in its layer is never reused for a workspace volume.
        warm_key(base, base_image_id="sha256:1", workspace="layer"),
    }
    assert len(keys) == 4


def test_image_choice_maps_to_the_configured_images(settings):
    settings.SANDBOX_IMAGE = "u:1"
    settings.SANDBOX_SLIM_IMAGE = "s:1"
    settings.SANDBOX_ALLOWED_IMAGES = ["corp/py:3.12"]
    assert image_for("universal") == "u:1"
    assert image_for("slim") == "s:1"
    assert image_for("custom", " corp/py:3.12 ") == "corp/py:3.12"
    with pytest.raises(SandboxError, match="not one this installation allows; allowed: corp/py"):
        image_for("custom", "evil/miner:latest")
    settings.SANDBOX_ALLOWED_IMAGES = []
    with pytest.raises(SandboxError, match=r"allowed: none \(SANDBOX_ALLOWED_IMAGES is empty\)"):
        image_for("custom", "corp/py:3.12")


def test_snapshot_fields_reach_the_spec(settings, tmp_path):
    settings.SANDBOX_SLIM_IMAGE = "s:1"
    snapshot = {
        "environment_id": 4,
        "image": {"choice": "slim", "custom": ""},
        "setup_script": "make",
        "maintenance_script": "make again",
        "path_prefix": ["/opt/bin"],
        "variables": {},
        "setup_policy": {"mode": "on"},
        "agent_policy": {"mode": "off"},
    }
    made = spec_from_snapshot(
        EnvironmentSnapshot.from_json(snapshot),
        owner=SandboxOwner.attempt(1),
        workspace=tmp_path,
        read_only=False,
        secrets={},
        install_id="i",
        commit="c" * 40,
        secret_versions={},
    )
    assert (made.image, made.maintenance_script, made.path_prefix) == (
        "s:1",
        "make again",
        ("/opt/bin",),
    )
    # A snapshot taken before these fields existed starts from the default image.
    settings.SANDBOX_IMAGE = "u:1"
    del snapshot["image"], snapshot["maintenance_script"], snapshot["path_prefix"]
    old = spec_from_snapshot(
        EnvironmentSnapshot.from_json(snapshot),
        owner=SandboxOwner.attempt(1),
        workspace=tmp_path,
        read_only=False,
        secrets={},
        install_id="i",
        commit="c" * 40,
        secret_versions={},
    )
    assert (old.image, old.maintenance_script, old.path_prefix) == ("u:1", "", ())


def test_a_snapshot_reads_back_typed_and_round_trips():
    stored = {
        "version": 3,
        "taken_at": "2026-01-01T00:00:00+00:00",
        "repository": "acme/demo",
        "repository_identity": "4:github:acme/demo",
        "environment_id": 4,
        "image": {"choice": "custom", "custom": "corp/py:3.12"},
        "setup_script": "make",
        "maintenance_script": "",
        "variables": {"A": "1"},
        "path_prefix": ["/opt/bin"],
        "secret_names": ["TOKEN"],
        "agent_policy": {
            "mode": "allowlist",
            "domains": ["pypi.org"],
            "domain_lists": ["python"],
            "methods": ["GET"],
        },
        "setup_policy": {"mode": "on", "domains": [], "domain_lists": [], "methods": ["GET"]},
        "cache": {"generation": 2, "ttl_hours": 6, "reset_at": None},
    }
    snapshot = EnvironmentSnapshot.from_json(stored)
    assert snapshot.agent_policy.network() == NetworkPolicy(
        mode="allowlist", domains=("pypi.org",), methods=("GET",)
    )
    assert (snapshot.cache_ttl_hours, snapshot.secret_names) == (6.0, ("TOKEN",))
    assert snapshot.warm_identity == "4:github:acme/demo"
    assert EnvironmentSnapshot.from_json(snapshot.to_json()) == snapshot
    assert snapshot.to_json() == {**stored, "cache": {**stored["cache"], "ttl_hours": 6.0}}


def test_an_old_snapshot_names_its_repository_by_full_name():
    old = EnvironmentSnapshot.from_json(
        {
            "environment_id": 1,
            "repository": "acme/demo",
            "setup_script": "",
            "variables": {},
            "setup_policy": {"mode": "on"},
            "agent_policy": {"mode": "off"},
        }
    )
    assert (old.warm_identity, old.image_choice, old.cache_scope) == (
        "acme/demo",
        "universal",
        "environment-1",
    )
