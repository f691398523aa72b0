"""Short internal operations on one running sandbox container, and engine-level helpers.

`ContainerShell` runs the sandbox's own housekeeping inside the container (killing processes,
path checks, the egress bridge, secret scans, cgroup counters) and copies files in. The
untrusted commands themselves go through `streaming.StreamedExec`.
"""

from __future__ import annotations

import io
import logging
import os
import posixpath
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

import docker
import requests
from docker.errors import APIError, DockerException

from tasks.sandbox.base import SandboxError
from tasks.sandbox.spec import (
    EGRESS_CA_CERT,
    EGRESS_MOUNT,
    EGRESS_SOCKET,
    LABEL_DEADLINE,
    LABEL_OWNER,
    LABEL_SANDBOX,
    PROXY_PORT,
    SETUP_USER,
    owner_token,
)

logger = logging.getLogger(__name__)

SANDBOX_UID = 1000
_quota_support: dict[str, bool] = {}


def docker_client() -> docker.DockerClient:
    """A client for the engine in DOCKER_HOST (or the local socket); SandboxError when none."""
    try:
        client = docker.from_env(timeout=120)
        client.ping()
    except DockerException as exc:
        raise SandboxError(
            f"cannot reach the Docker engine ({exc}); start it with scripts/docker-engine.sh"
        ) from exc
    return client


def disk_quota_supported(client: docker.DockerClient, image: str) -> bool:
    """Whether the engine enforces `--storage-opt size` (overlay2 on XFS with pquota).
    Probed once per engine by creating (not starting) a labelled container."""
    key = client.api.base_url
    if key not in _quota_support:
        try:
            container = client.api.create_container(
                image,
                command=["true"],
                labels={LABEL_SANDBOX: "1", LABEL_OWNER: owner_token(), LABEL_DEADLINE: "0"},
                host_config=client.api.create_host_config(
                    storage_opt={"size": "64M"}, network_mode="none"
                ),
            )
        except APIError:
            _quota_support[key] = False
        else:
            client.api.remove_container(container["Id"], force=True)
            _quota_support[key] = True
    return _quota_support[key]


def workspace_archive(source: Path) -> tempfile.SpooledTemporaryFile[bytes]:
    """A tar of `source`'s contents owned by the sandbox user: regular files, folders and
    symlinks only (no devices, fifos or hard links). The caller closes it."""
    if not source.is_dir():
        raise SandboxError(f"the workspace {source} is not a folder")

    def owned(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
        if not (info.isfile() or info.isdir() or info.issym()):
            return None
        info.uid = info.gid = SANDBOX_UID
        info.uname = info.gname = SETUP_USER
        return info

    size = 64 * 1024 * 1024
    buf: tempfile.SpooledTemporaryFile[bytes] = tempfile.SpooledTemporaryFile(size)  # noqa: SIM115
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for entry in sorted(os.listdir(source)):
            tar.add(source / entry, arcname=entry, recursive=True, filter=owned)
    buf.seek(0)
    return buf


def file_archive(name: str, data: bytes, mode: int, *, root: bool = False) -> bytes:
    """A tar of one file, owned by the sandbox user (or by root when `root`)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.mtime = len(data), mode, int(time.time())
        info.uid = info.gid = 0 if root else SANDBOX_UID
        info.uname = info.gname = "root" if root else SETUP_USER
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


class ContainerShell:
    def __init__(self, client: docker.DockerClient, container_id: str) -> None:
        self.client = client
        self.api = client.api
        self.container_id = container_id

    def run(
        self, cmd: list[str], *, user: str, environment: dict[str, str] | None = None
    ) -> tuple[int, bytes, bytes]:
        """A short internal command; (exit code, stdout, stderr). -1 when Docker refused."""
        try:
            container = self.client.containers.get(self.container_id)
            result = container.exec_run(
                cmd, user=user, environment=environment or {}, demux=True, stdin=False
            )
        except (DockerException, requests.exceptions.RequestException) as exc:
            return -1, b"", str(exc).encode()
        out, err = result.output if isinstance(result.output, tuple) else (result.output, b"")
        return int(result.exit_code or 0), out or b"", err or b""

    def put_archive(self, path: str, data: Any, *, what: str) -> None:
        try:
            self.api.put_archive(self.container_id, path, data)
        except APIError as exc:
            raise SandboxError(f"cannot {what}: {exc.explanation or exc}") from exc

    # -- processes -------------------------------------------------------------------------------

    def kill_command(self, *, pid_file: str, user: str, elapsed: int) -> None:
        """Kill a command's process group, then every process of `user` that started within the
        last `elapsed` seconds (a `setsid` or daemonized child leaves the group). Processes the
        user started with earlier commands (a dev server, say) are left alone."""
        script = (
            f'p=$(cat {pid_file} 2>/dev/null) && kill -KILL -- "-$p"; '
            'list=$(ps -u "$(id -u)" -o pid=,etimes=); '
            "while read -r pid age; do "
            f'[ "$pid" != "$$" ] && [ "$age" -le {elapsed} ] && kill -KILL "$pid" 2>/dev/null; '
            'done <<< "$list"; true'
        )
        self.run(["bash", "-c", script], user=user)

    def kill_user_processes(self, user: str) -> bool:
        """SIGKILL every process of `user` (retried: a fork bomb may leave no room for the
        killing command at first). True when none is left."""
        for _ in range(20):
            code, _, _ = self.run(["bash", "-c", "kill -KILL -1 2>/dev/null; true"], user=user)
            if code == 0:
                code, out, _ = self.run(["pgrep", "-u", user, "-c", "."], user="root")
                if out.strip() in (b"0", b""):
                    return True
            time.sleep(0.25)
        logger.warning("processes of %s survived in sandbox %s", user, self.container_id)
        return False

    # -- the egress bridge ----------------------------------------------------------------------

    def start_bridge(self) -> None:
        """socat from 127.0.0.1:PROXY_PORT to the host proxy's socket, as root (without
        capabilities) so the command user cannot kill it."""
        exec_id = self.api.exec_create(
            self.container_id,
            [
                "socat",
                f"TCP-LISTEN:{PROXY_PORT},bind=127.0.0.1,reuseaddr,fork",
                f"UNIX-CONNECT:{EGRESS_MOUNT}/{EGRESS_SOCKET}",
            ],
            user="root",
            stdin=False,
            tty=False,
        )["Id"]
        self.api.exec_start(exec_id, detach=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            code, _, _ = self.run(
                ["bash", "-c", f"exec 3<>/dev/tcp/127.0.0.1/{PROXY_PORT}"], user="root"
            )
            if code == 0:
                return
            time.sleep(0.05)
        raise SandboxError("the in-sandbox bridge to the egress proxy did not start")

    def trust_ca(self, pem: bytes) -> None:
        """Add a CA certificate (public PEM) to the system store: written root-owned to
        EGRESS_CA_CERT, then `update-ca-certificates` as root (which owns the store; no
        capability needed). The command users can read it, not change it."""
        folder, name = posixpath.split(EGRESS_CA_CERT)
        self.put_archive(
            folder, file_archive(name, pem, 0o644, root=True), what="install the egress CA"
        )
        code, out, err = self.run(["update-ca-certificates"], user="root")
        if code != 0:
            detail = (err or out).decode(errors="replace").strip()
            raise SandboxError(f"cannot trust the egress proxy's CA: {detail}")

    def stop_bridges(self) -> None:
        self.run(["pkill", "-KILL", "-u", "root", "-x", "socat"], user="root")

    # -- checks ---------------------------------------------------------------------------------

    def checked_path(self, target: str, *, user: str, create_parent: bool) -> int | None:
        """Refuse symlinks anywhere on `target`; return the file's mode when it exists."""
        script = (
            'p="$1"; d=$(dirname -- "$p"); '
            + ('mkdir -p -- "$d" || exit 3; ' if create_parent else "")
            + '[ "$(realpath -m -- "$p")" = "$p" ] || { echo symlink >&2; exit 4; }; '
            '[ -e "$p" ] && stat -c %a -- "$p"; true'
        )
        code, out, err = self.run(["bash", "-c", script, "check", target], user=user)
        if code == 4:
            raise SandboxError(f"{target} goes through a symbolic link; refusing")
        if code != 0:
            raise SandboxError(f"cannot use {target}: {err.decode(errors='replace').strip()}")
        text = out.decode().strip()
        return int(text, 8) if text else None

    def files_containing(self, values: list[str], *, owner: str) -> list[str]:
        """Regular files owned by `owner` that contain any of `values` (passed through the
        command's environment, never its arguments or a file)."""
        env = {f"CODEXWEB_SCAN_{i}": v for i, v in enumerate(values)}
        script = (
            'args=(); for n in "${!CODEXWEB_SCAN_@}"; do args+=(-e "${!n}"); done; '
            f"find / -xdev -type f -user {owner} -print0 2>/dev/null "
            '| xargs -0 -r grep -l -F "${args[@]}" -- 2>/dev/null; true'
        )
        _, out, _ = self.run(["bash", "-c", script], user=owner, environment=env)
        return [line for line in out.decode(errors="replace").splitlines() if line.strip()]

    def refresh_git_workspace(self) -> None:
        """Make tracked files exactly the new checkout's and drop untracked leftovers; ignored
        files (what setup built) stay."""
        code, _, err = self.run(
            ["bash", "-c", "if [ -d .git ]; then git reset -q --hard && git clean -q -fd; fi"],
            user=SETUP_USER,
        )
        if code != 0:
            raise SandboxError(f"cannot refresh the warm workspace: {err.decode(errors='replace')}")

    # -- counters -------------------------------------------------------------------------------

    def oom_kills(self) -> int:
        """The memory cgroup's count of OOM kills (cgroup v1 or v2); 0 when unreadable."""
        code, out, _ = self.run(["cat", "/sys/fs/cgroup/memory/memory.oom_control"], user="root")
        if code != 0:
            code, out, _ = self.run(["cat", "/sys/fs/cgroup/memory.events"], user="root")
        for line in out.decode(errors="replace").splitlines():
            name, _, value = line.partition(" ")
            if name == "oom_kill":
                return int(value)
        return 0

    def disk_used_mb(self) -> int | None:
        """Size of the container's writable layer, as Docker measures it."""
        try:
            found: list[dict[str, Any]] = self.api.containers(
                all=True, size=True, filters={"id": self.container_id}
            )
        except APIError:
            return None
        size = found[0].get("SizeRw") if found else None
        return int(size) // (1024 * 1024) if size is not None else None
