"""The Docker backend: one throw-away container per attempt (see tasks/sandbox/README.md).

Lifecycle of `DockerSandbox.start()`:
1. reuse the repository's warm image when one is current, else the base image;
2. create the container (`spec.container_plan`: no network but loopback, no capabilities,
   limits) and arm the wall-clock timer;
3. copy the pristine checkout into /workspace (owned by `sandbox`);
4. setup phase (only without a warm image): the setup script runs as `sandbox` in one command
   whose environment alone carries the secrets, with egress per the setup policy; then every
   process it left is killed, the egress proxy for setup is stopped, the file system is scanned
   for secret values (found: the attempt fails, nothing is cached), and the container is
   committed as the warm image;
5. agent phase: egress per the agent policy; commands run as `sandbox` (Code) or `reader`
   (Ask, who can read /workspace but not write it).
"""

from __future__ import annotations

import io
import logging
import os
import shutil
import tarfile
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import docker
import requests
from docker.errors import APIError, DockerException, ImageNotFound, NotFound

from tasks.sandbox import images
from tasks.sandbox.base import (
    ExecResult,
    NetworkPolicy,
    OnOutput,
    SandboxError,
    SandboxSpec,
)
from tasks.sandbox.config import DockerConfig
from tasks.sandbox.egress.policy import EgressRules, expand_domains
from tasks.sandbox.egress.proxy import EgressProxy, EgressRecord
from tasks.sandbox.output import OutputCollector
from tasks.sandbox.spec import (
    EGRESS_MOUNT,
    EGRESS_SOCKET,
    PROXY_PORT,
    SETUP_USER,
    WORKSPACE,
    agent_user,
    container_plan,
    exec_environment,
    owner_token,
    workspace_path,
)
from tasks.sandbox.streaming import StreamedExec

logger = logging.getLogger(__name__)

KILL_GRACE = 5.0  # seconds to wait for output to end after killing a command
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
    """Whether the engine enforces `--storage-opt size` (overlay2 on XFS with pquota)."""
    key = client.api.base_url
    if key not in _quota_support:
        try:
            container = client.api.create_container(
                image,
                command=["true"],
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


class DockerSandbox:
    """`Sandbox` on a Docker engine. Not thread-safe except `cancel()` (and the wall timer)."""

    def __init__(
        self,
        spec: SandboxSpec,
        *,
        config: DockerConfig | None = None,
        client: docker.DockerClient | None = None,
    ) -> None:
        self.spec = spec
        self.config = config or DockerConfig.from_settings()
        self.client = client or docker_client()
        self.api = self.client.api
        self.container_id: str | None = None
        self.warm_image: str | None = None  # the warm image this attempt started from or made
        self.warm_hit = False
        self.disk_quota = False
        self._phase = "new"
        self._policy = NetworkPolicy(mode="off")
        self._user = SETUP_USER
        self._proxy: EgressProxy | None = None
        self._records: list[EgressRecord] = []
        self._ended: str | None = None  # why the sandbox can no longer run commands
        self._timer: threading.Timer | None = None
        self._stopped = threading.Event()  # set once the container was killed after _ended
        self._lock = threading.Lock()
        self._oom_kills = 0
        self._started_at = 0.0
        self.setup_result: ExecResult | None = None
        self._workdir = (
            self.config.runtime_dir / f"attempt-{spec.attempt_id}-{uuid.uuid4().hex[:8]}"
        )

    # -- Sandbox protocol --------------------------------------------------------------------

    def start(self) -> None:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def exec(
        self,
        command: str,
        *,
        cwd: str = WORKSPACE,
        timeout: float = 600,
        on_output: OnOutput | None = None,
        max_output_bytes: int = 1_000_000,
    ) -> ExecResult:
        return self._exec(
            command,
            user=self._user,
            cwd=cwd,
            timeout=timeout,
            on_output=on_output,
            max_output_bytes=max_output_bytes,
            extra_env=None,
        )

    def write_file(self, path: str, content: str) -> None:
        if self.spec.read_only:
            raise SandboxError("the workspace is read-only for Ask tasks")
        target = workspace_path(path)
        mode = self._checked_path(target, create_parent=True)
        parent, name = os.path.split(target)
        data = content.encode()
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), mode or 0o644, int(time.time())
            info.uid = info.gid = 1000
            info.uname = info.gname = SETUP_USER
            tar.addfile(info, io.BytesIO(data))
        try:
            self.api.put_archive(self._require_container(), parent, buf.getvalue())
        except APIError as exc:
            raise SandboxError(f"cannot write {path}: {exc.explanation or exc}") from exc

    def read_file(self, path: str, *, max_bytes: int = 1_000_000) -> str:
        target = workspace_path(path)
        self._checked_path(target, create_parent=False)
        code, out, err = self._run(
            ["head", "-c", str(max_bytes + 1), "--", target], user=self._user
        )
        if code != 0:
            raise SandboxError(f"cannot read {path}: {err.decode(errors='replace').strip()}")
        if len(out) > max_bytes:
            raise SandboxError(f"{path} is larger than {max_bytes} bytes")
        return out.decode(errors="replace")

    def cancel(self) -> None:
        self._end("the attempt was cancelled")

    def stop(self) -> None:
        with self._lock:
            if self._ended is None:
                self._ended = "the sandbox was stopped"
            timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
        self._stop_proxy()
        if self.container_id is not None:
            try:
                self.api.remove_container(self.container_id, force=True, v=True)
            except NotFound:
                pass
            except APIError as exc:  # the reaper will find it by its labels
                logger.warning("could not remove sandbox %s: %s", self.container_id, exc)
        shutil.rmtree(self._workdir, ignore_errors=True)

    # -- extras the worker uses --------------------------------------------------------------

    def egress_records(self) -> list[EgressRecord]:
        """Every egress request so far (setup and agent phases), oldest first."""
        return self._records + (self._proxy.records() if self._proxy else [])

    @property
    def phase(self) -> str:
        return self._phase

    # -- start ---------------------------------------------------------------------------------

    def _start(self) -> None:
        spec = self.spec
        if self.container_id is not None:
            raise SandboxError("this sandbox was already started")
        try:
            base = self.client.images.get(spec.image)
        except ImageNotFound:
            raise SandboxError(
                f"the sandbox image {spec.image!r} does not exist; build it with "
                "`make sandbox-image` (scripts/sandbox-image.sh)"
            ) from None
        self._workdir.mkdir(parents=True, exist_ok=True)
        (self._workdir / "owner").write_text(owner_token())
        image = spec.image
        key = ""
        if spec.setup_script.strip():
            key = images.warm_key(
                base_image_id=base.id, setup_script=spec.setup_script, variables=spec.variables
            )
            found = images.find_warm_image(
                self.client, key, max_age_hours=self.config.warm_cache_hours
            )
            if found:
                image, self.warm_image, self.warm_hit = found, found, True
        runs_setup = bool(key) and not self.warm_hit
        needs_egress = spec.agent_network.mode != "off" or (
            runs_setup and spec.setup_network.mode != "off"
        )
        egress_dir = self._workdir / "egress" / "socket" if needs_egress else None
        if egress_dir is not None:
            egress_dir.mkdir(parents=True, exist_ok=True)
            os.chmod(egress_dir, 0o755)  # noqa: S103 — the sandbox user must reach the socket
        self.disk_quota = disk_quota_supported(self.client, image)
        plan = container_plan(
            spec,
            image=image,
            name=f"codexweb-attempt-{spec.attempt_id}-{uuid.uuid4().hex[:8]}",
            egress_dir=egress_dir,
            disk_quota=self.disk_quota,
        )
        try:
            created = self.api.create_container(
                plan.image,
                command=["sleep", "infinity"],
                name=plan.name,
                labels=plan.labels,
                environment=plan.environment,
                # PID 1 (tini + sleep) runs as root without capabilities: `kill -1` by the
                # command user must never end the container.
                user="root",
                working_dir=WORKSPACE,
                stdin_open=False,
                tty=False,
                network_disabled=False,
                host_config=self.api.create_host_config(**plan.host_config),
            )
        except APIError as exc:
            raise SandboxError(f"cannot create the sandbox: {exc.explanation or exc}") from exc
        self.container_id = created["Id"]
        self._timer = threading.Timer(spec.wall_seconds, self._on_wall_clock)
        self._timer.daemon = True
        self._started_at = time.monotonic()
        self._timer.start()
        self.api.start(self.container_id)
        self._oom_kills = self._read_oom_kills()
        self._copy_workspace()
        if self.warm_hit:
            self._refresh_warm_workspace()
        if runs_setup:
            self._setup_phase(key)
        self._enter_agent_phase()

    def _copy_workspace(self) -> None:
        source = Path(self.spec.workspace)
        if not source.is_dir():
            raise SandboxError(f"the workspace {source} is not a folder")

        def owned(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
            if not (info.isfile() or info.isdir() or info.issym()):
                return None  # no devices, fifos or hard links into the container
            info.uid = info.gid = 1000
            info.uname = info.gname = SETUP_USER
            return info

        with tempfile.SpooledTemporaryFile(max_size=64 * 1024 * 1024) as buf:
            with tarfile.open(fileobj=buf, mode="w") as tar:
                for entry in sorted(os.listdir(source)):
                    tar.add(source / entry, arcname=entry, recursive=True, filter=owned)
            buf.seek(0)
            try:
                self.api.put_archive(self._require_container(), WORKSPACE, buf.read())
            except APIError as exc:
                raise SandboxError(
                    f"cannot copy the workspace in: {exc.explanation or exc}"
                ) from exc

    def _refresh_warm_workspace(self) -> None:
        """The warm image holds an older checkout plus what setup built (ignored files); make the
        tracked files exactly the new checkout's and drop untracked leftovers."""
        code, _, err = self._run(
            [
                "bash",
                "-c",
                "if [ -d .git ]; then git reset -q --hard && git clean -q -fd; fi",
            ],
            user=SETUP_USER,
        )
        if code != 0:
            raise SandboxError(f"cannot refresh the warm workspace: {err.decode(errors='replace')}")

    def _setup_phase(self, key: str) -> None:
        spec = self.spec
        self._phase = "setup"
        self._set_network(spec.setup_network)
        remaining = self._remaining()
        result = self._exec(
            spec.setup_script,
            user=SETUP_USER,
            cwd=WORKSPACE,
            timeout=remaining,
            on_output=None,
            max_output_bytes=200_000,
            extra_env=dict(spec.secrets),
        )
        self.setup_result = result
        # Whatever setup started dies with it: no process may keep the secrets in its memory,
        # environment or command line into the agent phase.
        self._kill_user_processes(SETUP_USER)
        self._set_network(NetworkPolicy(mode="off"))
        if self._ended:
            raise SandboxError(self._ended)
        if result.exit_code != 0:
            tail = result.output[-4000:]
            why = result.error or f"exit code {result.exit_code}"
            raise SandboxError(f"the setup script failed ({why}):\n{tail}")
        self._check_no_secret_files()
        if self.config.warm_cache_hours > 0:
            try:
                self.warm_image = images.commit_warm_image(
                    self.client, self._require_container(), key
                )
            except APIError as exc:
                logger.warning("could not cache the prepared sandbox: %s", exc)

    def _check_no_secret_files(self) -> None:
        values = [v for v in self.spec.secrets.values() if len(v) >= 4]
        if not values:
            return
        env = {f"CODEXWEB_SCAN_{i}": v for i, v in enumerate(values)}
        script = (
            'args=(); for n in "${!CODEXWEB_SCAN_@}"; do args+=(-e "${!n}"); done; '
            "find / -xdev -type f -user sandbox -print0 2>/dev/null "
            '| xargs -0 -r grep -l -F "${args[@]}" -- 2>/dev/null; true'
        )
        _, out, _ = self._run(["bash", "-c", script], user=SETUP_USER, environment=env)
        found = [line for line in out.decode(errors="replace").splitlines() if line.strip()]
        if found:
            raise SandboxError(
                "the setup script left a secret in "
                + ", ".join(found[:5])
                + ("…" if len(found) > 5 else "")
                + "; secrets must not be written to files (they would reach the agent)"
            )

    def _enter_agent_phase(self) -> None:
        self._phase = "agent"
        self._user = agent_user(self.spec)
        self._set_network(self.spec.agent_network)

    # -- egress --------------------------------------------------------------------------------

    def _set_network(self, policy: NetworkPolicy) -> None:
        """Replace the host proxy with one for `policy` (none when off) and (re)start the
        in-container bridge to it."""
        self._stop_proxy()
        self._policy = policy
        if policy.mode == "off":
            return
        domains = expand_domains(policy.domains, self.config.domain_lists)
        rules = EgressRules(
            mode=policy.mode,
            domains=domains,
            methods=tuple(m.upper() for m in policy.methods),
            resolve=dict(self.config.egress_resolve),
            allow_private=self.config.allow_private,
        )
        proxy = EgressProxy(
            rules=rules,
            workdir=self._workdir / "egress",
            mitmdump=self.config.mitmdump,
            confdir=self.config.runtime_dir / "mitmproxy",
        )
        proxy.start()
        self._proxy = proxy
        self._start_bridge()

    def _start_bridge(self) -> None:
        # root inside the container (no capabilities) so the agent's user cannot kill it.
        exec_id = self.api.exec_create(
            self._require_container(),
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
            code, _, _ = self._run(
                ["bash", "-c", f"exec 3<>/dev/tcp/127.0.0.1/{PROXY_PORT}"], user="root"
            )
            if code == 0:
                return
            time.sleep(0.05)
        raise SandboxError("the in-sandbox bridge to the egress proxy did not start")

    def _stop_proxy(self) -> None:
        proxy, self._proxy = self._proxy, None
        if proxy is not None:
            proxy.stop()
            self._records.extend(proxy.records())
            proxy.log_path.unlink(missing_ok=True)
            if self.container_id is not None and self._ended is None:
                self._run(["pkill", "-KILL", "-x", "socat"], user="root")

    # -- exec ------------------------------------------------------------------------------------

    def _exec(
        self,
        command: str,
        *,
        user: str,
        cwd: str,
        timeout: float,
        on_output: OnOutput | None,
        max_output_bytes: int,
        extra_env: dict[str, str] | None,
    ) -> ExecResult:
        container = self._require_container()
        if self._ended:
            raise SandboxError(self._ended)
        started = time.monotonic()
        collector = OutputCollector(
            max_bytes=max_output_bytes, on_output=on_output, started=started
        )
        env = exec_environment(user=user, policy=self._policy, extra=extra_env)
        try:
            run = StreamedExec(
                self.api,
                container,
                command,
                user=user,
                cwd=cwd,
                environment=env,
                collector=collector,
            )
        except APIError as exc:
            if self._ended:
                raise SandboxError(self._ended) from exc
            raise SandboxError(f"cannot run the command: {exc.explanation or exc}") from exc
        deadline = started + max(timeout, 0.1)
        next_disk_check = started + self.config.disk_watch_seconds
        error = ""
        timed_out = killed = False
        while not run.pump(0.2):
            now = time.monotonic()
            if self._ended:
                error, killed = self._ended, True
                self._stopped.wait(30)
                break
            if now >= deadline:
                error = f"the command was killed after its time limit of {timeout:g} seconds"
                timed_out = killed = True
                self._kill_command(run, user)
                break
            if not self.disk_quota and now >= next_disk_check:
                used = self._disk_used_mb()
                next_disk_check = time.monotonic() + self.config.disk_watch_seconds
                if used is not None and used > self.spec.disk_mb:
                    error = (
                        f"the command was killed: the sandbox's disk limit of {self.spec.disk_mb}"
                        f" MB was reached ({used} MB written)"
                    )
                    killed = True
                    self._kill_command(run, user)
                    break
        if not killed and self._ended:  # the container was stopped under the command
            error, killed = self._ended, True
        if killed:
            run.pump(KILL_GRACE)
        exit_code = None if killed else run.exit_code()
        if not killed and exit_code == 137:
            oom = self._read_oom_kills()
            if oom > self._oom_kills:
                self._oom_kills = oom
                exit_code = None
                error = (
                    "the command ran out of memory and was killed: the sandbox's memory limit "
                    f"is {self.spec.memory_mb} MB"
                )
        if error:
            collector.note(error)
        return ExecResult(
            exit_code=exit_code,
            output=collector.text(),
            truncated=collector.truncated,
            timed_out=timed_out,
            duration=time.monotonic() - started,
            error=error,
        )

    def _kill_command(self, run: StreamedExec, user: str) -> None:
        """Kill the command's process group, then every process of `user` that started while
        the command ran (a `setsid` or daemonized child leaves the group). Processes the user
        started with earlier commands (a dev server, say) are left alone."""
        if self._ended:
            return
        elapsed = int(time.monotonic() - run.collector.started) + 1
        script = (
            f'p=$(cat {run.pid_file} 2>/dev/null) && kill -KILL -- "-$p"; '
            'list=$(ps -u "$(id -u)" -o pid=,etimes=); '
            "while read -r pid age; do "
            f'[ "$pid" != "$$" ] && [ "$age" -le {elapsed} ] && kill -KILL "$pid" 2>/dev/null; '
            'done <<< "$list"; true'
        )
        self._run(["bash", "-c", script], user=user)
        if run.pump(KILL_GRACE):
            return
        # The output is still open: something survived; end every process of the user.
        self._kill_user_processes(user)

    def _kill_user_processes(self, user: str) -> None:
        """SIGKILL every process of `user` in the container (retried: a fork bomb may leave no
        room for the killing command at first)."""
        if self._ended:
            return
        for _ in range(20):
            code, _, _ = self._run(["bash", "-c", "kill -KILL -1 2>/dev/null; true"], user=user)
            if code == 0:
                code, out, _ = self._run(["pgrep", "-u", user, "-c", "."], user="root")
                if out.strip() in (b"0", b""):
                    return
            time.sleep(0.25)
        logger.warning("processes of %s survived in sandbox %s", user, self.container_id)

    def _run(
        self, cmd: list[str], *, user: str, environment: dict[str, str] | None = None
    ) -> tuple[int, bytes, bytes]:
        """A short internal command; (exit code, stdout, stderr). -1 when Docker refused."""
        try:
            container = self.client.containers.get(self._require_container())
            result = container.exec_run(
                cmd, user=user, environment=environment or {}, demux=True, stdin=False
            )
        except (APIError, NotFound) as exc:
            return -1, b"", str(exc).encode()
        out, err = result.output if isinstance(result.output, tuple) else (result.output, b"")
        return int(result.exit_code or 0), out or b"", err or b""

    def _checked_path(self, target: str, *, create_parent: bool) -> int | None:
        """Refuse symlinks anywhere on the path; return the file's mode when it exists."""
        script = (
            'p="$1"; d=$(dirname -- "$p"); '
            + ('mkdir -p -- "$d" || exit 3; ' if create_parent else "")
            + '[ "$(realpath -m -- "$p")" = "$p" ] || { echo symlink >&2; exit 4; }; '
            '[ -e "$p" ] && stat -c %a -- "$p"; true'
        )
        code, out, err = self._run(["bash", "-c", script, "check", target], user=self._user)
        if code == 4:
            raise SandboxError(f"{target} goes through a symbolic link; refusing")
        if code != 0:
            raise SandboxError(f"cannot use {target}: {err.decode(errors='replace').strip()}")
        text = out.decode().strip()
        return int(text, 8) if text else None

    # -- limits and time -------------------------------------------------------------------------

    def _read_oom_kills(self) -> int:
        code, out, _ = self._run(
            [
                "cat",
                "/sys/fs/cgroup/memory/memory.oom_control",
            ],
            user="root",
        )
        if code != 0:
            code, out, _ = self._run(["cat", "/sys/fs/cgroup/memory.events"], user="root")
        for line in out.decode(errors="replace").splitlines():
            name, _, value = line.partition(" ")
            if name == "oom_kill":
                return int(value)
        return 0

    def _disk_used_mb(self) -> int | None:
        try:
            found: list[dict[str, Any]] = self.api.containers(
                all=True, size=True, filters={"id": self._require_container()}
            )
        except APIError:
            return None
        size = found[0].get("SizeRw") if found else None
        return int(size) // (1024 * 1024) if size is not None else None

    def _remaining(self) -> float:
        return max(1.0, self.spec.wall_seconds - (time.monotonic() - self._started_at))

    def _on_wall_clock(self) -> None:
        self._end(f"the attempt reached its time limit of {self.spec.wall_seconds} seconds")

    def _end(self, reason: str) -> None:
        """Stop the container now (from any thread); later calls raise SandboxError(reason)."""
        with self._lock:
            if self._ended is not None:
                return
            self._ended = reason
        try:
            if self.container_id is not None:
                self.api.kill(self.container_id)
                self.api.wait(self.container_id, timeout=15)  # until it has really stopped
        except (APIError, requests.exceptions.RequestException):
            pass
        finally:
            self._stopped.set()

    def _require_container(self) -> str:
        if self.container_id is None:
            raise SandboxError("the sandbox has not been started")
        return self.container_id
