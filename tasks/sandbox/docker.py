"""The Docker backend: one throw-away container per attempt (see tasks/sandbox/README.md).

Lifecycle of `DockerSandbox.start()`:
1. reuse the repository's warm image when one is current and all its labels match (same
   installation, repository and commit: images.py), else the base image;
2. create the container (`spec.container_plan`: no network but loopback, no capabilities,
   limits) and arm the wall-clock timer;
3. copy the pristine checkout into /workspace (owned by `sandbox`), emptied first on a warm
   start, so the workspace is exactly the checkout;
4. setup phase (only without a warm image): the setup script runs as `sandbox` in one command
   whose environment alone carries the secrets, with egress per the setup policy; then every
   process and IPC object it left is removed, the egress proxy for setup is stopped, everything
   setup wrote is scanned for the secrets and their encoded forms (leftovers.py; found: the
   attempt fails, nothing is cached), and the container is committed as the warm image. From a
   warm image, the maintenance script (if any) runs the same way instead, without the commit;
5. agent phase: egress per the agent policy; commands run as `sandbox` (Code) or `reader`
   (Ask, who can read /workspace but not write it).
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
import uuid
from pathlib import Path

import docker
import requests
from docker.errors import APIError, DockerException, ImageNotFound, NotFound

from tasks.sandbox import images, leftovers
from tasks.sandbox.base import (
    ExecResult,
    NetworkPolicy,
    OnOutput,
    OutputChunk,
    SandboxError,
    SandboxLost,
    SandboxSpec,
)
from tasks.sandbox.config import DockerConfig
from tasks.sandbox.container import (
    ContainerShell,
    disk_quota_supported,
    docker_client,
    workspace_archive,
)
from tasks.sandbox.egress.policy import EgressRules, expand_domains, needs_tls_interception
from tasks.sandbox.egress.proxy import EgressProxy, EgressRecord, TlsFailure
from tasks.sandbox.output import OutputCollector
from tasks.sandbox.spec import (
    EXTRA_CA_PREFIX,
    SETUP_USER,
    SYSTEM_CA_BUNDLE,
    WORKSPACE,
    agent_user,
    check_path_prefix,
    container_plan,
    exec_environment,
    java_tool_options,
    owner_token,
    workspace_path,
)
from tasks.sandbox.streaming import StreamedExec
from tasks.sandbox.tls_hint import setup_tls_hint
from tasks.sandbox.trust import split_certificates

logger = logging.getLogger(__name__)

KILL_GRACE = 5.0  # seconds to wait for output to end after killing a command
# What a call to the engine raises when it refuses (409 "container is not running", 404) or does
# not answer (restarting); never shown to a person as such (see `DockerSandbox._failure`).
ENGINE_ERRORS: tuple[type[Exception], ...] = (
    DockerException,
    requests.exceptions.RequestException,
)
# What a sandbox operation can fail with, to be turned into what a person sees.
FAILURES: tuple[type[Exception], ...] = (SandboxError, *ENGINE_ERRORS)
ENGINE_LOST = "the container engine restarted or stopped this attempt's container"


class DockerSandbox:
    """`Sandbox` on a Docker engine. Not thread-safe except `cancel()` (and the wall timer)."""

    def __init__(
        self,
        spec: SandboxSpec,
        *,
        config: DockerConfig | None = None,
        client: docker.DockerClient | None = None,
        on_setup_output: OnOutput | None = None,
    ) -> None:
        self.spec = spec
        # Receives the setup script's output as it arrives. It is raw: whoever shows it must
        # mask the secrets first (tasks/sandbox/masking.py).
        self.on_setup_output = on_setup_output
        self.config = config or DockerConfig.from_settings()
        self.client = client or docker_client()
        self.api = self.client.api
        self.container_id: str | None = None
        self._shell: ContainerShell | None = None
        self.warm_image: str | None = None  # the warm image this attempt started from or made
        self.warm_hit = False
        self.disk_quota = False
        self._phase = "new"
        self._policy = NetworkPolicy(mode="off")
        self._user = SETUP_USER
        self._proxy: EgressProxy | None = None
        self._egress_ca = False  # the current proxy intercepts TLS; the container trusts its CA
        self._extra_ca = False  # the container trusts the installation's extra CA
        self._java_store = False  # the image has a JDK: a trust store with codexweb's CAs exists
        self._records: list[EgressRecord] = []
        self._tls_failures: list[TlsFailure] = []
        self._ended: str | None = None  # why the sandbox can no longer run commands
        self._lost = False  # it ended because the engine lost the container
        self._timer: threading.Timer | None = None
        self._stopped = threading.Event()  # set once the container was killed after _ended
        self._lock = threading.Lock()
        self._oom_kills = 0
        self._started_at = 0.0
        # The setup script's result, or the maintenance script's on a warm start
        # (`maintenance_ran` says which); None when neither ran.
        self.setup_result: ExecResult | None = None
        self.maintenance_ran = False
        self._workdir = (
            self.config.runtime_dir / f"attempt-{spec.attempt_id}-{uuid.uuid4().hex[:8]}"
        )

    def _cache_hours(self) -> float:
        """The repository's expiry when its environment sets one, else the installation's."""
        if self.spec.cache_hours is not None:
            return self.spec.cache_hours
        return self.config.warm_cache_hours

    # -- Sandbox protocol --------------------------------------------------------------------

    def start(self) -> None:
        try:
            self._start()
        except FAILURES as exc:
            failure = self._failure(exc, "start the sandbox")
            self.stop()
            if failure is exc:
                raise
            raise failure from exc
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
        try:
            return self._exec(
                command,
                user=self._user,
                cwd=cwd,
                timeout=timeout,
                on_output=on_output,
                max_output_bytes=max_output_bytes,
                extra_env=None,
            )
        except FAILURES as exc:
            failure = self._failure(exc, "run the command")
            if failure is exc:
                raise
            raise failure from exc

    def write_file(self, path: str, content: str) -> None:
        if self.spec.read_only:
            raise SandboxError("the workspace is read-only for Ask tasks")
        # Written from inside, as the command user, refusing a symbolic link at every step at
        # the moment it is opened (tasks/sandbox/file_tool.py): never by the engine as root.
        try:
            self._require_shell().write_file(
                workspace_path(path), content.encode(), user=self._user
            )
        except FAILURES as exc:
            failure = self._failure(exc, f"write {path}")
            if failure is exc:
                raise
            raise failure from exc

    def read_file(self, path: str, *, max_bytes: int = 1_000_000) -> str:
        try:
            data = self._require_shell().read_file(
                workspace_path(path), user=self._user, max_bytes=max_bytes
            )
        except FAILURES as exc:
            failure = self._failure(exc, f"read {path}")
            if failure is exc:
                raise
            raise failure from exc
        if len(data) > max_bytes:
            raise SandboxError(f"{path} is larger than {max_bytes} bytes")
        return data.decode(errors="replace")

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
            except ENGINE_ERRORS as exc:  # the reaper will find it by its labels
                logger.warning("could not remove sandbox %s: %s", self.container_id, exc)
        shutil.rmtree(self._workdir, ignore_errors=True)

    # -- extras the worker uses --------------------------------------------------------------

    def egress_records(self) -> list[EgressRecord]:
        """Every egress request so far (setup and agent phases), oldest first."""
        return self._records + (self._proxy.records() if self._proxy else [])

    def tls_failures(self) -> list[TlsFailure]:
        """Upstream servers whose certificate failed verification so far (both phases): the
        sandbox would not trust them (setup), or the proxy did not (interception)."""
        return self._tls_failures + (self._proxy.tls_failures() if self._proxy else [])

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
        check_path_prefix(spec.path_prefix)
        self._workdir.mkdir(parents=True, exist_ok=True)
        (self._workdir / "owner").write_text(owner_token())
        image = spec.image
        key = ""
        if images.cacheable(spec):
            key = images.warm_key(spec, base_image_id=base.id)
            found = images.find_warm_image(
                self.client,
                key,
                labels=images.warm_labels(spec, key),
                max_age_hours=self._cache_hours(),
            )
            if found:
                image, self.warm_image, self.warm_hit = found, images.warm_tag(key), True
        runs_setup = bool(spec.setup_script.strip()) and not self.warm_hit
        runs_maintenance = self.warm_hit and bool(spec.maintenance_script.strip())
        needs_egress = spec.agent_network.mode != "off" or (
            (runs_setup or runs_maintenance) and spec.setup_network.mode != "off"
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
        self._shell = ContainerShell(self.client, self.container_id)
        self._timer = threading.Timer(spec.wall_seconds, self._on_wall_clock)
        self._timer.daemon = True
        self._started_at = time.monotonic()
        self._timer.start()
        self.api.start(self.container_id)
        if self._ended:  # cancelled while the container was being made
            raise SandboxError(self._ended)
        shell = self._require_shell()
        self._oom_kills = shell.oom_kills()
        separate_setup = runs_setup and spec.setup_workspace is not None
        if self.warm_hit:
            # The workspace is exactly the new checkout: nothing setup left in the tree (build
            # output, files of a commit since deleted) is laid under it. No process of the
            # command users runs yet, so nothing can swap a path while it is replaced.
            shell.clear_workspace()
        first = spec.setup_workspace if separate_setup and spec.setup_workspace else spec.workspace
        with workspace_archive(Path(first)) as archive:
            shell.put_archive(WORKSPACE, archive, what="copy the workspace in")
        self._trust_extra_ca()
        if runs_setup:
            self._setup_phase(key)
        if separate_setup and not self._ended:
            # Setup ran on the commit's own tree (and was cached as that); now the attempt's.
            shell.clear_workspace()
            with workspace_archive(Path(spec.workspace)) as archive:
                shell.put_archive(WORKSPACE, archive, what="copy the workspace in")
        if runs_maintenance:
            self.maintenance_ran = True
            # A follow-up's tree was written by the agent: the secrets never meet it.
            self._prepare_script(
                spec.maintenance_script,
                what="maintenance",
                with_secrets=spec.setup_workspace is None,
            )
        if self._ended:
            raise SandboxError(self._ended)
        self._enter_agent_phase()

    def _setup_phase(self, key: str) -> None:
        self._prepare_script(self.spec.setup_script, what="setup")
        if key and self._cache_hours() > 0:
            try:
                self.warm_image = images.commit_warm_image(
                    self.client,
                    self._require_container(),
                    key,
                    labels=images.warm_labels(self.spec, key),
                )
            except APIError as exc:
                logger.warning("could not cache the prepared sandbox: %s", exc)

    def _prepare_script(self, script: str, *, what: str, with_secrets: bool = True) -> None:
        """Run the setup or maintenance script as the setup user with the secrets (unless
        `with_secrets` is off) and the setup policy, then end its processes and IPC objects,
        close egress and refuse secrets left in files."""
        spec = self.spec
        self._phase = what
        self._set_network(spec.setup_network)
        remaining = self._remaining()
        result = self._exec(
            script,
            user=SETUP_USER,
            cwd=WORKSPACE,
            timeout=remaining,
            on_output=self.on_setup_output,
            max_output_bytes=200_000,
            extra_env=dict(spec.secrets) if with_secrets else {},
        )
        self.setup_result = result
        # Whatever setup started dies with it: no process may keep the secrets in its memory,
        # environment or command line into the agent phase.
        if not self._ended:
            self._end_user_processes(SETUP_USER)
            self._require_shell().clear_ipc(SETUP_USER)
        self._set_network(NetworkPolicy(mode="off"))
        if self._ended:
            raise SandboxError(self._ended)
        if result.exit_code != 0:
            tail = result.output[-4000:]
            why = result.error or f"exit code {result.exit_code}"
            hint = self._setup_tls_hint(result.output)
            raise SandboxError(
                f"the {what} script failed ({why}):\n{tail}" + (f"\n\n{hint}" if hint else "")
            )
        self._check_no_secret_files(what)

    def _setup_tls_hint(self, output: str) -> str:
        """Why setup failed when it was TLS verification (tls_hint.py); also told in the setup
        log, where the person reads the output."""
        hint = setup_tls_hint(
            self._tls_failures,
            output,
            extra_ca_set=self._extra_ca,
            hosts_reached=[r.host for r in self._records if r.allowed and r.method == "CONNECT"],
        )
        if hint and self.on_setup_output is not None:
            elapsed = time.monotonic() - self._started_at
            self.on_setup_output(OutputChunk(stream="stderr", text=f"\n[{hint}]\n", at=elapsed))
        return hint

    def _trust_extra_ca(self) -> None:
        """The installation's extra CAs (SANDBOX_EXTRA_CA_FILE), trusted from the start, for
        setup and agent alike. On a warm start without them, ones an earlier setting left in
        the image are removed: a CA the operator dropped must not live on in a cache."""
        certs = split_certificates(self.spec.extra_ca_pem)
        if not certs and not self.warm_hit:
            return
        self._java_store = self._require_shell().trust_cas(
            {f"{EXTRA_CA_PREFIX}{n}.crt": cert.encode() for n, cert in enumerate(certs, 1)},
            what="the certificates of SANDBOX_EXTRA_CA_FILE",
            replace=f"{EXTRA_CA_PREFIX}*.crt",
            if_present=not certs,
        )
        self._extra_ca = bool(certs)

    def _check_no_secret_files(self, what: str) -> None:
        """Fail when the setup (or maintenance) script left a secret (or a common encoding of
        one) anywhere: every file it added or changed, of any owner and mode, and /dev/shm
        (tasks/sandbox/leftovers.py)."""
        values = list(self.spec.secrets.values())
        if not leftovers.needles(values):
            return
        shell = self._require_shell()
        found = leftovers.files_with_secrets(self.api, self._require_container(), values)
        found += leftovers.shm_files_with_secrets(shell.shm_archive(SETUP_USER), values)
        if found:
            raise SandboxError(
                f"the {what} script left a secret in "
                + ", ".join(found[:5])
                + ("…" if len(found) > 5 else "")
                + "; secrets must not be written to files, also not encoded (they would reach"
                " the agent)"
            )

    def _enter_agent_phase(self) -> None:
        self._phase = "agent"
        self._user = agent_user(self.spec)
        self._set_network(self.spec.agent_network, agent=True)

    # -- egress --------------------------------------------------------------------------------

    def _set_network(self, policy: NetworkPolicy, *, agent: bool = False) -> None:
        """Replace the host proxy with one for `policy` (none when off) and (re)start the
        in-container bridge to it. In the agent phase, an allowlist restricting methods
        intercepts TLS: the container then trusts that proxy's (fresh, per-attempt) CA."""
        self._stop_proxy()
        self._policy = policy
        self._egress_ca = False
        if policy.mode == "off":
            return
        if self._ended:  # cancelled or out of time: start no proxy for a stopped container
            raise SandboxError(self._ended)
        domains = expand_domains(policy.domains, self.config.domain_lists)
        intercept = agent and needs_tls_interception(policy.mode, policy.methods)
        rules = EgressRules(
            mode=policy.mode,
            domains=domains,
            methods=tuple(m.upper() for m in policy.methods),
            resolve=dict(self.config.egress_resolve),
            allow_private=self.config.allow_private,
            ports=self.config.egress_ports,
            intercept_tls=intercept,
        )
        shell = self._require_shell()
        proxy = EgressProxy(
            rules=rules,
            workdir=self._workdir / "egress",
            mitmdump=self.config.mitmdump,
            upstream_ca=self.config.egress_upstream_ca,
            extra_ca_pem=self.spec.extra_ca_pem,
            upstream_proxy=self.spec.upstream_proxy,
            # Setup passes TLS through: let the proxy tell which servers the sandbox will not
            # trust (tls_hint.py says so if setup fails).
            sandbox_trust=b"" if agent else self._sandbox_trust(shell),
        )
        proxy.start()
        self._proxy = proxy
        try:
            if self._ended:  # cancelled (or timed out) while the proxy was starting
                raise SandboxError(self._ended)
            if intercept:
                self._java_store = shell.trust_ca(proxy.ca_certificate()) or self._java_store
                self._egress_ca = True
            shell.start_bridge()
        except APIError as exc:  # the container was stopped under us: say why, not Docker's 409
            raise SandboxError(self._ended or f"cannot start the egress bridge: {exc}") from exc

    @staticmethod
    def _sandbox_trust(shell: ContainerShell) -> bytes:
        """The container's CA bundle as its tools see it ("" when unreadable: no check)."""
        code, out, _ = shell.run(["cat", SYSTEM_CA_BUNDLE], user="root")
        return out if code == 0 and b"BEGIN CERTIFICATE" in out else b""

    def _stop_proxy(self) -> None:
        proxy, self._proxy = self._proxy, None
        if proxy is not None:
            proxy.stop()
            self._records.extend(proxy.records())
            self._tls_failures.extend(proxy.tls_failures())
            proxy.log_path.unlink(missing_ok=True)
            if self._shell is not None and self._ended is None:
                self._shell.stop_bridges()

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
        env = exec_environment(
            user=user,
            policy=self._policy,
            variables=self.spec.variables,
            extra=extra_env,
            egress_ca=self._egress_ca,
            extra_ca=self._extra_ca,
            java_options=java_tool_options(self.spec.variables) if self._java_store else "",
            path_prefix=self.spec.path_prefix,
        )
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
        except ENGINE_ERRORS as exc:
            raise self._failure(exc, "run the command") from exc
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
                used = self._require_shell().disk_used_mb()
                # Measuring walks the writable layer; on a big tree it takes a while, so never
                # spend more than a fifth of the time measuring.
                spent = time.monotonic() - now
                next_disk_check = time.monotonic() + max(self.config.disk_watch_seconds, 4 * spent)
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
            self._stopped.wait(30)
        if killed:
            run.pump(KILL_GRACE)
        exit_code = None if killed else run.exit_code()
        if not killed and (exit_code is None or exit_code == 126 or not 0 <= exit_code < 128):
            # Killed by a signal, "cannot execute" (what the engine answers for an exec in a
            # container that is going away), or the engine cannot say how it ended: was it the
            # container that went (engine restarted, killed from outside)? Then nothing more can
            # run.
            if not self._container_running(settle=1.0):
                self._lose()
                raise self._failure(SandboxLost(ENGINE_LOST), "run the command")
            if exit_code is None:
                raise self._failure(
                    run.stream_error or SandboxError("the engine did not report an exit status"),
                    "learn how the command ended",
                )
        if not killed and exit_code == 137:
            oom = self._require_shell().oom_kills()
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
        if self._ended:
            return
        shell = self._require_shell()
        elapsed = int(time.monotonic() - run.collector.started) + 1
        shell.kill_command(pid_file=run.pid_file, user=user, elapsed=elapsed)
        if not run.pump(KILL_GRACE):
            # The output is still open: something survived.
            self._end_user_processes(user)

    def _end_user_processes(self, user: str) -> None:
        """Kill every process of `user`; if even that cannot run (a fork bomb holding every
        pid), restart the container: its file system stays, its processes do not."""
        shell = self._require_shell()
        if shell.kill_user_processes(user):
            return
        logger.warning("restarting sandbox %s to end runaway processes", self.container_id)
        self.api.restart(self._require_container(), timeout=0)
        self._oom_kills = shell.oom_kills()  # a restart may start a fresh memory cgroup
        if self._policy.mode != "off":
            shell.start_bridge()

    def _failure(self, exc: BaseException, what: str) -> SandboxError:
        """The error a person sees when `what` failed: why the sandbox ended when it had
        (cancelled, time limit), the engine losing the container when it did, else what
        failed. Never a raw engine error ("409 Conflict … is not running")."""
        if self._ended is None and self.container_id is not None and not self._container_running():
            self._lose()
        if self._ended is not None:
            return SandboxLost(self._ended) if self._lost else SandboxError(self._ended)
        if isinstance(exc, SandboxError):
            return exc
        detail = getattr(exc, "explanation", None) or str(exc) or type(exc).__name__
        return SandboxError(f"cannot {what}: {detail}")

    def _container_running(self, *, settle: float = 0.0) -> bool:
        """Whether the container still runs. With `settle`, keep looking that long: the engine
        closes a killed container's exec streams a moment before its state says so."""
        if self.container_id is None:
            return False
        deadline = time.monotonic() + settle
        while True:
            try:
                state = self.api.inspect_container(self.container_id).get("State") or {}
            except ENGINE_ERRORS:  # gone, or the engine does not answer
                return False
            if not state.get("Running") or state.get("Restarting"):
                return False
            if time.monotonic() >= deadline:
                return True
            time.sleep(0.2)

    def _lose(self) -> None:
        """The engine lost the container: end the sandbox with that reason."""
        self._end(ENGINE_LOST, lost=True)

    def _remaining(self) -> float:
        return max(1.0, self.spec.wall_seconds - (time.monotonic() - self._started_at))

    def _on_wall_clock(self) -> None:
        self._end(f"the attempt reached its time limit of {self.spec.wall_seconds} seconds")

    def _end(self, reason: str, *, lost: bool = False) -> None:
        """Stop the container now (from any thread); later calls raise SandboxError(reason)."""
        with self._lock:
            if self._ended is not None:
                return
            self._ended = reason
            self._lost = lost
        try:
            if self.container_id is not None:
                self.api.kill(self.container_id)
                self.api.wait(self.container_id, timeout=15)  # until it has really stopped
        except ENGINE_ERRORS:
            pass
        finally:
            self._stopped.set()

    def _require_container(self) -> str:
        if self.container_id is None:
            raise SandboxError("the sandbox has not been started")
        return self.container_id

    def _require_shell(self) -> ContainerShell:
        if self._shell is None:
            raise SandboxError("the sandbox has not been started")
        return self._shell
