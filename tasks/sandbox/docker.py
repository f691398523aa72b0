"""The Docker backend: one throw-away container per attempt or setup run (see
tasks/sandbox/README.md). This module holds the lifecycle; its parts live next to it: the engine
(engine.py), the image to start from (warm_start.py), the wall clock and cancel (lifetime.py),
egress per phase (network.py), watching a command (watch.py), the checks around setup
(setup_checks.py).

Lifecycle of `DockerSandbox.start()`:
1. reuse the repository's warm image when one is current and all its labels match (same
   installation, repository and commit: images.py), else the base image; when another start
   of this worker process is running the same setup, wait for it and take its image
   (warm_flight.py);
2. create the container (`spec.container_plan`: no network but loopback, no capabilities,
   limits) and arm the wall-clock timer; or, when the plan needs no egress mount and no script
   runs, claim a pre-started container of the same image and plan from the pool (pool.py);
3. copy the pristine checkout into /workspace (owned by `sandbox`), emptied first on a warm
   start, so the workspace is exactly the checkout;
4. setup phase (only without a warm image): the setup script runs as `sandbox` in one command
   whose environment alone carries the secrets, with egress per the setup policy; then every
   process and IPC object it left is removed, the egress proxy for setup is stopped, everything
   setup wrote is scanned for the secrets and their encoded forms (leftovers.py; found: the
   attempt fails, nothing is cached), and the container is committed as the warm image. From a
   warm image, the maintenance script (if any) runs the same way instead, without the commit.
   The setup phase's egress proxy starts in the background while steps 2-3 run, or is adopted
   from the one the worker started ahead (network.py, egress/spare.py);
5. agent phase: egress per the agent policy; commands run as `sandbox` (Code) or `reader`
   (Ask, who can read /workspace but not write it).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import threading
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import IO

import docker
from docker.errors import APIError, NotFound

from tasks.sandbox import images, pool, removal, warm_flight
from tasks.sandbox.base import (
    CredentialUse,
    EgressRecord,
    ExecResult,
    NetworkPolicy,
    OnOutput,
    OutputChunk,
    Phase,
    SandboxError,
    SandboxLost,
    SandboxOwner,
    SandboxSpec,
    SandboxStartError,
    SetupScript,
    StartReport,
    TlsFailure,
)
from tasks.sandbox.config import DockerConfig
from tasks.sandbox.container import ContainerShell
from tasks.sandbox.egress.proxy import EgressProxy
from tasks.sandbox.engine import (
    ENGINE_ERRORS,
    ENGINE_LOST,
    FAILURES,
    container_running,
    disk_quota_supported,
    docker_client,
    person_error,
)
from tasks.sandbox.helper import HelperChannel, HelperError, HelperRun, claim, discard, park
from tasks.sandbox.host_disk import HostLayout, host_layout
from tasks.sandbox.host_disk import measure as measure_on_host
from tasks.sandbox.idle_watch import (
    Census,
    IdleDiskWatch,
    container_processes,
    near_process_limit,
    process_census,
    process_limit_reason,
)
from tasks.sandbox.lifetime import Lifetime
from tasks.sandbox.network import EgressSwitch
from tasks.sandbox.output import OutputCollector
from tasks.sandbox.setup_checks import check_no_secret_files, trust_extra_ca
from tasks.sandbox.spec import (
    LABEL_DEADLINE,
    SETUP_USER,
    WORKSPACE,
    ContainerPlan,
    agent_user,
    check_path_prefix,
    container_name,
    container_plan,
    exec_environment,
    java_tool_options,
    labels_for,
    owner_token,
    runtime_folder_name,
    workspace_path,
)
from tasks.sandbox.streaming import QueuedRun, StreamedExec
from tasks.sandbox.tls_hint import setup_tls_hint
from tasks.sandbox.warm_start import ImageChoice, choose_image, create_container
from tasks.sandbox.watch import (
    DiskBound,
    DiskUse,
    Watched,
    first_disk_check_in,
    watch_command,
)
from tasks.sandbox.workspace_archive import workspace_archive

logger = logging.getLogger(__name__)

KILL_GRACE = 5.0  # seconds to wait for output to end after killing a command
# Times a sandbox starts its resident helper again after the sandbox itself ended it (every
# process of the user killed: a disk-limit kill, a runaway command). Bounded, so an agent that
# makes us kill everything over and over cannot make us start helpers in a loop; after that its
# commands get an exec each, as after a helper that misbehaved.
MAX_HELPER_RESTARTS = 3
# Output pieces of one stream arriving within this window are streamed as one chunk (one event
# instead of one per pipe read; see output.py).
OUTPUT_BATCH_SECONDS = 0.075


class DockerSandbox:
    """`Sandbox` on a Docker engine. Not thread-safe except `cancel()` (and the wall timer)."""

    def __init__(
        self,
        spec: SandboxSpec,
        *,
        config: DockerConfig,
        client: docker.DockerClient | None = None,
        on_setup_output: OnOutput | None = None,
    ) -> None:
        self.spec = spec
        # Receives the setup script's output as it arrives. It is raw: whoever shows it must
        # mask the secrets first (tasks/sandbox/masking.py).
        self.on_setup_output = on_setup_output
        self.config = config
        self.client = client or docker_client()
        self.api = self.client.api
        self.container_id: str | None = None
        self._shell: ContainerShell | None = None
        self.warm_image: str | None = None  # the warm image this sandbox started from or made
        self.warm_hit = False
        self.pooled = False  # the container came from the pool of pre-started ones (pool.py)
        self.pool_key = ""  # the pool this sandbox's plan belongs to ("" when not poolable)
        self.pool_refill: threading.Thread | None = None  # the refill it asked for, if any
        self.disk_quota = False
        self.workspace_volume = False  # /workspace is a volume of its own (spec.workspace_mount)
        self._phase: Phase = "new"
        self._user = SETUP_USER
        self._extra_ca = False  # the container trusts the installation's extra CA
        self._java_store = False  # the image has a JDK: a trust store with codexweb's CAs exists
        self._lifetime = Lifetime(spec.wall_seconds, self._kill_container)
        self._oom_kills = 0
        # The resident helper running the agent phase's commands (helper.py); None before the
        # agent phase, without DockerConfig.helper_binary, and once it failed (then every
        # command gets an exec of its own, as before).
        self._helper: HelperChannel | None = None
        # The sandbox ended the helper itself (`_end_user_processes`): the next agent command
        # starts it again, at most MAX_HELPER_RESTARTS times (`_helper_restarts` so far).
        self._helper_restart_due = False
        self._helper_restarts = 0
        # Command time left until the disk watchdog measures again (watch.Watched.disk_due_in).
        self._disk_due_in = config.disk_watch_seconds
        # The disk limit between commands of the agent phase (idle_watch.py; without quotas).
        self._idle_disk: IdleDiskWatch | None = None
        # What the sandbox may have written (the limit, or what was there when processes were
        # ended over it: deleting stays possible), for its commands and the idle watch.
        self._disk_bound = DiskBound(spec.disk_mb)
        # The container's folders on this host, for measuring there (host_disk.py); None: not
        # here. Asked of the engine at the first measurement.
        self._host_layout: HostLayout | None = None
        self._host_layout_known = False
        self._helper_host_pid: tuple[str, int] = ("", 0)  # (its exec id, its host pid)
        self._init_pid = 0  # the container's PID 1 on the host (0: not asked yet)
        # The setup script's result, or the maintenance script's on a warm start
        # (`maintenance_ran` says which); None when neither ran.
        self.setup_result: ExecResult | None = None
        self.maintenance_ran = False
        self._setup_seconds = 0.0
        self._warm_lead: warm_flight.Lead | None = None  # this start runs its key's setup first
        self._workdir = self.config.runtime_dir / runtime_folder_name(spec, uuid.uuid4().hex[:8])
        self._network = EgressSwitch(
            config=config,
            workdir=self._workdir / "egress",
            extra_ca_pem=spec.extra_ca_pem,
            upstream_proxy=spec.upstream_proxy,
            ended=lambda: self._lifetime.ended,
            credentials=spec.egress_credentials,
        )
        # Work done while the main thread makes the container: the setup phase's proxy.
        self._background = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sandbox-start")
        self._early_proxy: Future[None] | None = None

    def _cache_hours(self) -> float:
        """The repository's expiry when its environment sets one, else the installation's."""
        if self.spec.cache_hours is not None:
            return self.spec.cache_hours
        return self.config.warm_cache_hours

    # -- Sandbox protocol --------------------------------------------------------------------

    def start(self) -> StartReport:
        started = time.monotonic()
        self._lifetime.begin()
        try:
            self._start()
        except FAILURES as exc:
            failure = self._failure(exc, "start the sandbox")
            self.stop()
            raise SandboxStartError(str(failure), self._report(started)) from exc
        except BaseException:
            self.stop()
            raise
        return self._report(started)

    def _report(self, started: float) -> StartReport:
        script: SetupScript | None = None
        if self.setup_result is not None:
            script = "maintenance" if self.maintenance_ran else "setup"
        return StartReport(
            setup_result=self.setup_result,
            script=script,
            warm_hit=self.warm_hit,
            warm_image=self.warm_image or "",
            start_seconds=time.monotonic() - started,
            setup_seconds=self._setup_seconds,
        )

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
        self._lifetime.end("the attempt was cancelled")

    def stop(self, *, remove_later: bool = False) -> None:
        """Remove the container and everything it held. With `remove_later` it is killed now
        and removed by this process's remover thread (tasks/sandbox/removal.py), so a worker's
        slot is not held while the engine deletes the workspace's files."""
        self._lifetime.disarm("the sandbox was stopped")
        self._land_warm_lead()
        if self._idle_disk is not None:
            self._idle_disk.close()
        if self._helper is not None:
            self._helper.close()
            self._helper = None
        # A proxy still starting early is not waited for (a cancel ends the start at once): the
        # switch, ended by the lifetime above, stops it when it is ready.
        self._background.shutdown(wait=False)
        self._network.stop(self._shell)
        if self.container_id is not None and not (remove_later and self._kill_for_removal_later()):
            removal.remove_container(self.api, self.container_id)
        shutil.rmtree(self._workdir, ignore_errors=True)

    def _kill_for_removal_later(self) -> bool:
        """Kill the container now and queue its removal; False when the engine did not answer
        the kill (then it is removed now, or left to the reaper)."""
        assert self.container_id is not None
        try:
            self.api.kill(self.container_id)
        except NotFound:
            return True  # already gone: nothing to remove
        except APIError as exc:
            if exc.status_code != 409:  # 409: not running (exited, or paused in the pool)
                return False
        except ENGINE_ERRORS:
            return False
        removal.remove_later(self.api, self.container_id)
        return True

    def egress_records(self, since: int = 0) -> list[EgressRecord]:
        """Every egress request so far (setup and agent phases), oldest first, from the
        `since`-th on."""
        return self._network.records(since)

    def egress_allow(self, domains: Sequence[str]) -> None:
        """Add `domains` to the agent phase's allowlist now (the proxy re-reads its rules)."""
        self._network.allow(domains)

    # -- extras of this backend ----------------------------------------------------------------

    def tls_failures(self) -> list[TlsFailure]:
        """Upstream servers whose certificate failed verification so far (both phases): the
        sandbox would not trust them (setup), or the proxy did not (interception)."""
        return self._network.tls_failures()

    def credential_uses(self) -> list[CredentialUse]:
        """The credentials the agent phase's egress proxy added so far, oldest first."""
        return self._network.credential_uses()

    @property
    def egress_proxy(self) -> EgressProxy | None:
        """The current phase's egress proxy (None when its policy is off)."""
        return self._network.current

    @property
    def phase(self) -> Phase:
        return self._phase

    # -- start ---------------------------------------------------------------------------------

    def _start(self) -> None:
        spec = self.spec
        if self.container_id is not None:
            raise SandboxError("this sandbox was already started")
        # With a storage quota the workspace stays in the layer the kernel limits; else it gets
        # a volume of its own, which the disk watchdog measures with the layer. (The probe runs
        # once per engine.) The layout is part of the warm image's key.
        self.disk_quota = disk_quota_supported(self.client, spec.image)
        self.workspace_volume = self.config.workspace_volume and not self.disk_quota
        choice = self._choose_image()
        if choice.key and not choice.warm_hit and self._cache_hours() > 0:
            choice = self._lead_or_follow_setup(choice)
        check_path_prefix(spec.path_prefix)
        self._workdir.mkdir(parents=True, exist_ok=True)
        (self._workdir / "owner").write_text(owner_token())
        if choice.warm_hit:
            self.warm_image, self.warm_hit = choice.warm_image, True
        runs_setup = bool(spec.setup_script.strip()) and not self.warm_hit
        runs_maintenance = self.warm_hit and bool(spec.maintenance_script.strip())
        needs_egress = spec.agent_network.mode != "off" or (
            (runs_setup or runs_maintenance) and spec.setup_network.mode != "off"
        )
        egress_dir = self._workdir / "egress" / "socket" if needs_egress else None
        if egress_dir is not None:
            egress_dir.mkdir(parents=True, exist_ok=True)
            os.chmod(egress_dir, 0o755)  # noqa: S103 — the sandbox user must reach the socket
        if (runs_setup or runs_maintenance) and spec.setup_network.mode != "off":
            # mitmdump takes a second or more to start: it starts while the container is made.
            self._early_proxy = self._background.submit(self._network.prepare, spec.setup_network)
        plan = container_plan(
            spec,
            image=choice.image,
            name=container_name(spec, uuid.uuid4().hex[:8]),
            egress_dir=egress_dir,
            disk_quota=self.disk_quota,
            workspace_volume=self.workspace_volume,
            helper_binary=self._helper_binary(),
        )
        self._acquire(
            plan,
            choice,
            poolable=pool.poolable(
                spec, runs_script=runs_setup or runs_maintenance, needs_egress=needs_egress
            ),
        )
        self._raise_if_ended()  # cancelled while the container was being made
        shell = self._require_shell()
        # A container just made has a memory cgroup of its own: no OOM kill counted yet.
        self._oom_kills = 0
        separate_setup = runs_setup and spec.setup_workspace is not None
        first = spec.setup_workspace if separate_setup and spec.setup_workspace else spec.workspace
        # The workspace is exactly the new checkout: nothing setup left in a warm image's tree
        # (build output, files of a commit since deleted) is laid under it. One exec.
        packed = None if separate_setup else spec.workspace_archive
        with workspace_archive(Path(first), packed=packed) as archive:
            if not self._copy_with_helper(archive, runs_script=runs_setup or runs_maintenance):
                shell.replace_workspace(archive)
            # The container has written nothing but this copy yet: the disk schedule starts
            # from its size instead of measuring it at the first command's 2nd second.
            self._disk_due_in = first_disk_check_in(
                archive.seek(0, os.SEEK_END),
                limit_mb=spec.disk_mb,
                base=self.config.disk_watch_seconds,
            )
        # Extra CAs matter only to TLS, which needs egress: a sandbox with none skips the
        # ~5 s of update-ca-certificates and keytool (a warm image keeps what its setup had).
        self._java_store, self._extra_ca = trust_extra_ca(
            shell, spec.extra_ca_pem if needs_egress else ""
        )
        if runs_setup:
            self._setup_phase(choice.key)
        if separate_setup and not self._lifetime.ended:
            # Setup ran on the commit's own tree (and was cached as that); now the attempt's.
            with workspace_archive(Path(spec.workspace)) as archive:
                shell.replace_workspace(archive)
        if runs_maintenance:
            self.maintenance_ran = True
            # A follow-up's tree was written by the agent: the secrets never meet it.
            self._prepare_script(
                spec.maintenance_script,
                what="maintenance",
                with_secrets=spec.setup_workspace is None,
            )
        self._raise_if_ended()
        self._enter_agent_phase()

    def _choose_image(self) -> ImageChoice:
        workspace = (
            images.WORKSPACE_ON_VOLUME if self.workspace_volume else images.WORKSPACE_IN_LAYER
        )
        return choose_image(
            self.client, self.spec, cache_hours=self._cache_hours(), workspace=workspace
        )

    def _lead_or_follow_setup(self, choice: ImageChoice) -> ImageChoice:
        """No warm image yet: run setup when no other start of this process is running the same
        one, else wait for it to land and start from its image (warm_flight.py)."""
        lead, landing = warm_flight.lead_or_follow(choice.key)
        if lead is not None:
            self._warm_lead = lead
            return choice
        assert landing is not None
        # The wait is part of the attempt's wall time: a leader that hangs cannot stretch it.
        landed = warm_flight.wait_for_landing(
            landing,
            limit_seconds=self._lifetime.remaining(),
            given_up=lambda: self._lifetime.ended is not None,
        )
        self._lifetime.expire_if_due()
        self._raise_if_ended()  # cancelled, or out of time, while it waited
        return self._choose_image() if landed else choice

    def _land_warm_lead(self) -> None:
        """Setup ended (committed, failed or cut off): starts waiting for it look again."""
        lead, self._warm_lead = self._warm_lead, None
        if lead is not None:
            lead.land()

    def _acquire(self, plan: ContainerPlan, choice: ImageChoice, *, poolable: bool) -> None:
        """Claim a pre-started container of the same image and plan when `poolable` and the
        pool holds one (pool.py), else create and start the container of `plan`; arm the wall
        clock either way. A take also asks for a refill in the background."""
        # None on a host whose name cannot be part of a container name: no pool there.
        name = pool.claimed_name(
            plan.name, deadline=float(plan.labels[LABEL_DEADLINE]), owner=owner_token()
        )
        if poolable and self.config.pool_size > 0 and choice.image_id and name:
            key = pool.pool_key(plan, image_id=choice.image_id, install_id=self.spec.install_id)
            self.pool_key = key
            taken = pool.take(self.api, key, image_id=choice.image_id, name=name)
            self._refill_pool(plan, key, choice.image_id)
            if taken:
                self.container_id, self.pooled = taken, True
                self._shell = ContainerShell(self.client, taken)
                self._lifetime.arm()
                return
        self.container_id = create_container(self.api, plan)
        self._shell = ContainerShell(self.client, self.container_id)
        self._lifetime.arm()
        self.api.start(self.container_id)

    def _refill_pool(self, plan: ContainerPlan, key: str, image_id: str) -> None:
        """Ask for the pool `key` (containers of `plan` from `image_id`) to be topped up in the
        background (pool.py)."""
        prepare = partial(park, user=agent_user(self.spec)) if self._helper_binary() else None
        self.pool_refill = pool.refill_later(
            pool.Refill(
                plan=plan,
                key=key,
                image_id=image_id,
                size=self.config.pool_size,
                idle_seconds=self.config.pool_idle_seconds,
                cache_hours=self._cache_hours(),
                # The pooled container's helper starts before it is paused: the attempt that
                # claims it here skips that exec (helper.park; it never runs a script).
                prepare=prepare,
            ),
            create=create_container,
            client_factory=docker_client,
        )

    def _pool_for_warm_image(self, image_id: str) -> None:
        """Setup just made the warm image the next attempts of this spec start from: when they
        can use the pool (no maintenance script, no egress), pre-start their container now, so
        the first of them does not miss the pool (it is otherwise learned from that miss). The
        pool's key (the plan's image, limits and host settings) decides who may take it."""
        spec = self.spec
        warm_attempt = replace(spec, owner=SandboxOwner.attempt(0))
        if self.config.pool_size <= 0 or not pool.poolable(
            warm_attempt,
            runs_script=bool(spec.maintenance_script.strip()),
            needs_egress=spec.agent_network.mode != "off",
        ):
            return
        plan = container_plan(
            warm_attempt,
            image=image_id,
            name=container_name(warm_attempt, "warm"),
            egress_dir=None,
            disk_quota=self.disk_quota,
            workspace_volume=self.workspace_volume,
            helper_binary=self._helper_binary(),
        )
        key = pool.pool_key(plan, image_id=image_id, install_id=spec.install_id)
        self._refill_pool(plan, key, image_id)

    def _setup_phase(self, key: str) -> None:
        try:
            self._prepare_script(self.spec.setup_script, what="setup")
            if key and self._cache_hours() > 0:
                try:
                    self.warm_image, image_id = images.commit_warm_image(
                        self.client,
                        self._require_container(),
                        key,
                        labels=images.warm_labels(self.spec, key),
                        forget=labels_for(self.spec),
                    )
                except APIError as exc:
                    logger.warning("could not cache the prepared sandbox: %s", exc)
                else:
                    self._pool_for_warm_image(image_id)
        finally:
            self._land_warm_lead()

    def _prepare_script(self, script: str, *, what: SetupScript, with_secrets: bool = True) -> None:
        """Run the setup or maintenance script as the setup user with the secrets (unless
        `with_secrets` is off) and the setup policy, then end its processes and IPC objects,
        close egress and refuse secrets left in files."""
        spec = self.spec
        self._phase = what
        # A pooled container never runs a script (pool.poolable); should one ever, no helper
        # started before it may live on into it.
        discard(self._require_container())
        if self._early_proxy is not None:
            self._early_proxy.result()  # its failure (e.g. mitmdump missing) is the start's
        self._set_network(spec.setup_network)
        result = self._exec(
            script,
            user=SETUP_USER,
            cwd=WORKSPACE,
            timeout=self._lifetime.remaining(),
            on_output=self.on_setup_output,
            max_output_bytes=200_000,
            extra_env=dict(spec.secrets) if with_secrets else {},
        )
        self.setup_result = result
        self._setup_seconds = result.duration
        # Whatever setup started dies with it: no process may keep the secrets in its memory,
        # environment or command line into the agent phase.
        if not self._lifetime.ended:
            self._end_user_processes(SETUP_USER, clear_ipc=True)
        self._set_network(NetworkPolicy(mode="off"))
        self._raise_if_ended()
        if result.exit_code != 0:
            tail = result.output[-4000:]
            why = result.error or f"exit code {result.exit_code}"
            hint = self._setup_tls_hint(result.output)
            raise SandboxError(
                f"the {what} script failed ({why}):\n{tail}" + (f"\n\n{hint}" if hint else "")
            )
        check_no_secret_files(
            self.api,
            self._require_shell(),
            self._require_container(),
            spec.secrets,
            what,
            volumes=(WORKSPACE,) if self.workspace_volume else (),
        )

    def _setup_tls_hint(self, output: str) -> str:
        """Why setup failed when it was TLS verification (tls_hint.py); also told in the setup
        log, where the person reads the output."""
        hint = setup_tls_hint(
            self._network.tls_failures(),
            output,
            extra_ca_set=self._extra_ca,
            hosts_reached=[
                r.host for r in self._network.records() if r.allowed and r.method == "CONNECT"
            ],
        )
        if hint and self.on_setup_output is not None:
            elapsed = self._lifetime.elapsed()
            self.on_setup_output(OutputChunk(stream="stderr", text=f"\n[{hint}]\n", at=elapsed))
        return hint

    def _enter_agent_phase(self) -> None:
        self._phase = "agent"
        self._user = agent_user(self.spec)
        self._set_network(self.spec.agent_network, agent=True)
        self._start_helper()
        self._start_idle_disk_watch()

    def _helper_binary(self) -> str:
        """The helper's host path to mount, "" when off or gone (a mount of a missing file
        would fail the container's start)."""
        path = self.config.helper_binary
        return path if path and os.path.isfile(path) else ""

    def _copy_with_helper(self, archive: IO[bytes], *, runs_script: bool) -> bool:
        """Copy the checkout in and start the agent's resident helper with one exec instead of
        two (helper.py, `unpack`), when the agent phase comes next in a container made for this
        sandbox (no setup or maintenance script runs, so no secret ever exists here; a pooled
        one has its helper already) and the agent user owns the workspace (Code). False when
        that does not apply or did not work: the caller copies the checkout alone (again), and
        the agent phase starts the helper as usual."""
        if runs_script or self.pooled or not self._helper_binary():
            return False
        if agent_user(self.spec) != SETUP_USER:
            return False
        try:
            self._helper = HelperChannel.start(
                self.api, self._require_container(), user=SETUP_USER, unpack=archive
            )
        except HelperError as exc:
            logger.info("sandbox %s: one exec for the copy and the helper failed (%s); "
                        "copying the checkout alone", self.container_id, exc)
            archive.seek(0)
            return False
        return True

    def _start_helper(self) -> None:
        """Start the resident helper for the agent user (helper.py): only now, after setup, its
        processes and its secrets are gone. Without it every command gets an exec of its own.
        (Started with the checkout's copy already when nothing ran before: `_copy_with_helper`.)"""
        if not self._helper_binary() or self._helper is not None:
            return
        parked = claim(self._require_container(), user=self._user) if self.pooled else None
        if parked is not None:  # started before the pool paused the container (helper.park)
            self._helper = parked
            return
        try:
            self._helper = HelperChannel.start(self.api, self._require_container(), user=self._user)
        except HelperError as exc:
            logger.warning(
                "sandbox %s: the command helper did not start (%s); each command gets an exec",
                self.container_id,
                exc,
            )

    def _helper_down(self, why: str) -> None:
        """The helper is of no use any more: say so once, close it, and run later commands
        with an exec each."""
        helper, self._helper = self._helper, None
        if helper is None:
            return
        logger.warning(
            "sandbox %s: the command helper stopped working (%s); each command gets an exec",
            self.container_id,
            helper.dead or why,
        )
        helper.close()

    def _helper_ended_by_us(self, user: str) -> None:
        """Every process of `user` is about to be killed by the sandbox itself: its helper goes
        too, not for misbehaving, so it is closed now (no command is sent to a dying helper)
        and started again at the next command (`_restart_helper`). A helper already dead was
        ended by something else (a command): that is misbehaviour, dropped for good."""
        helper = self._helper
        if helper is None or helper.user != user:
            return
        if helper.dead:
            self._helper_down("it ended")
            return
        self._helper = None
        helper.close()
        self._helper_restart_due = True

    def _restart_helper(self) -> None:
        """Start the helper the sandbox ended (`_helper_ended_by_us`) again, unless this
        sandbox did so MAX_HELPER_RESTARTS times already."""
        self._helper_restart_due = False
        if self._helper is not None or self._helper_restarts >= MAX_HELPER_RESTARTS:
            if self._helper is None:
                logger.info(
                    "sandbox %s: the command helper was restarted %d times; each command "
                    "gets an exec now",
                    self.container_id,
                    self._helper_restarts,
                )
            return
        self._helper_restarts += 1
        self._start_helper()

    def _set_network(self, policy: NetworkPolicy, *, agent: bool = False) -> None:
        java_store = self._network.set(policy, self._require_shell(), agent=agent)
        self._java_store = java_store or self._java_store

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
        self._raise_if_ended()
        started = time.monotonic()
        collector = OutputCollector(
            max_bytes=max_output_bytes,
            on_output=on_output,
            started=started,
            batch_seconds=OUTPUT_BATCH_SECONDS,
        )
        env = exec_environment(
            user=user,
            policy=self._network.policy,
            variables=self.spec.variables,
            extra=extra_env,
            egress_ca=self._network.egress_ca,
            extra_ca=self._extra_ca,
            java_options=java_tool_options(self.spec.variables) if self._java_store else "",
            path_prefix=self.spec.path_prefix,
        )
        self._pause_idle_disk_watch(collector)
        run = self._start_command(command, user=user, cwd=cwd, env=env, collector=collector)
        watched = self._watch(run, user=user, started=started, timeout=timeout)
        if isinstance(run, HelperRun) and run.refused and not watched.killed:
            # The helper could not start it (no pipe, no process): an exec of its own.
            logger.warning("the command helper refused a command: %s", run.refused)
            run = self._start_command(
                command, user=user, cwd=cwd, env=env, collector=collector, helper=False
            )
            watched = self._watch(run, user=user, started=started, timeout=timeout)
        error = watched.error
        if watched.killed:
            run.pump(KILL_GRACE)
        if watched.over_disk:
            self._end_user_processes(user)
            self._disk_bound.ended(self._measure_disk())
        exit_code = None if watched.killed else run.exit_code()
        if isinstance(run, HelperRun) and run.lost and not watched.killed:
            # The helper went away under the command (the command may have killed it).
            if not container_running(self.api, container, settle=1.0):
                self._lose()
                raise self._failure(SandboxLost(ENGINE_LOST), "run the command")
            self._helper_down("it ended during a command")
            # Whatever the command started is ended, as after a timeout.
            elapsed = int(time.monotonic() - started) + 1
            self._require_shell().kill_command(pid_file="", user=user, elapsed=elapsed)
            error = (
                "the sandbox's command runner ended during the command (was it killed?), so "
                "how the command ended is unknown; later commands run without it"
            )
            if self._new_oom_kill():  # the memory limit's killer chose the helper
                error = self._oom_error()
        elif not watched.killed and (
            exit_code is None or exit_code == 126 or not 0 <= exit_code < 128
        ):
            # Killed by a signal, "cannot execute" (what the engine answers for an exec in a
            # container that is going away), or the engine cannot say how it ended: was it the
            # container that went (engine restarted, killed from outside)? Then nothing more can
            # run.
            if not container_running(self.api, container, settle=1.0):
                self._lose()
                raise self._failure(SandboxLost(ENGINE_LOST), "run the command")
            if exit_code is None:
                raise self._failure(
                    run.stream_error or SandboxError("the engine did not report an exit status"),
                    "learn how the command ended",
                )
        if not watched.killed and exit_code == 137 and self._new_oom_kill():
            exit_code = None
            error = self._oom_error()
        if error:
            collector.note(error)
        collector.flush()
        if self._idle_disk is not None:
            self._idle_disk.resume(self._disk_due_in)
        return ExecResult(
            exit_code=exit_code,
            output=collector.text(),
            truncated=collector.truncated,
            timed_out=watched.timed_out,
            duration=time.monotonic() - started,
            error=error,
        )

    def _new_oom_kill(self) -> bool:
        """Whether the container's memory cgroup counted an OOM kill since the last look."""
        oom = self._require_shell().oom_kills()
        if oom <= self._oom_kills:
            return False
        self._oom_kills = oom
        return True

    def _oom_error(self) -> str:
        return (
            "the command ran out of memory and was killed: the sandbox's memory limit "
            f"is {self.spec.memory_mb} MB"
        )

    def _start_command(
        self,
        command: str,
        *,
        user: str,
        cwd: str,
        env: dict[str, str],
        collector: OutputCollector,
        helper: bool = True,
    ) -> QueuedRun:
        """Start `command` through the resident helper when it runs for `user` (the agent
        phase), else (and when the helper fails) with an exec of its own."""
        if helper and self._helper_restart_due and user == self._user and self._phase == "agent":
            self._restart_helper()
        channel = self._helper if helper else None
        if channel is not None and channel.user == user and self._phase == "agent":
            try:
                return channel.run(command, cwd=cwd, environment=env, collector=collector)
            except HelperError:
                self._helper_down("a command could not be sent")
        try:
            return StreamedExec(
                self.api,
                self._require_container(),
                command,
                user=user,
                cwd=cwd,
                environment=env,
                collector=collector,
            )
        except ENGINE_ERRORS as exc:
            raise self._failure(exc, "run the command") from exc

    def _watch(self, run: QueuedRun, *, user: str, started: float, timeout: float) -> Watched:
        watched = watch_command(
            run,
            started=started,
            timeout=timeout,
            lifetime=self._lifetime,
            kill=lambda: self._kill_command(run, user),
            disk_bound=self._disk_bound,
            measure_disk=None if self.disk_quota else self._measure_disk,
            disk_watch_seconds=self.config.disk_watch_seconds,
            disk_due_in=self._disk_due_in,
        )
        self._disk_due_in = watched.disk_due_in
        return watched

    def _measure_disk(self) -> DiskUse:
        """What the sandbox wrote: from this host when the engine's files are here (host_disk.py),
        else from inside. A measurement that could not run because the container's processes
        fill its limit (a fork bomb) says so instead of an exec's exit code."""
        use = self._measure_on_host()
        if use is not None:
            return use
        use = self._require_shell().disk_use(workspace_volume=self.workspace_volume)
        if not use.hidden or self._lifetime.ended:
            return use
        try:
            count = len(self._processes())
        except (APIError, SandboxError, OSError, ValueError):
            # The container is going (a stop, the lifetime's end, its removal): the measurement
            # failed for that, and the command's own ending says so; nothing to name here.
            return use
        if near_process_limit(count, self.spec.pids):
            return DiskUse(use.mb, process_limit_reason(self.spec.pids))
        return use

    def _measure_on_host(self) -> DiskUse | None:
        """The measurement taken on this host (no exec, no engine walk: host_disk.py); None when
        the engine's files are not here, a walk failed, or the processes fill the container's
        limit (then the measurement from inside runs, and says so when it cannot start)."""
        if not self._host_layout_known:
            info = self.api.inspect_container(self._require_container())
            self._init_pid = int((info.get("State") or {}).get("Pid") or 0)
            self._host_layout = host_layout(info, workspace_volume=self.workspace_volume)
            self._host_layout_known = True
        if self._host_layout is None:
            return None
        try:
            if near_process_limit(len(self._processes()), self.spec.pids):
                return None
        except (APIError, SandboxError, OSError, ValueError):
            return None
        return measure_on_host(self._host_layout)

    # -- the disk limit between commands (idle_watch.py) ----------------------------------------

    def _start_idle_disk_watch(self) -> None:
        """Without a storage quota, watch the disk between the agent's commands too: a process
        an earlier command left running could otherwise fill the host's disk while the model
        thinks."""
        if self.disk_quota:
            return
        self._idle_disk = IdleDiskWatch(
            census=self._process_census,
            process_limit=self.spec.pids,
            measure=self._measure_disk,
            end_processes=self._end_leftovers,
            bound=self._disk_bound,
            base=self.config.disk_watch_seconds,
        )

    def _pause_idle_disk_watch(self, collector: OutputCollector) -> None:
        """A command starts: the idle watch stops and its schedule goes on in the command's.
        Its note (processes ended between commands) opens the output of the next command whose
        output is streamed (the model's: the person and the model read it), never that of a
        command of codexweb's own (a diff, a file edit), which parses its output."""
        if self._idle_disk is None:
            return
        note, due_in = self._idle_disk.pause(take_note=collector.on_output is not None)
        if due_in is not None:
            self._disk_due_in = due_in
        if note:
            collector.note(note)

    def take_notes(self) -> list[str]:
        """What the sandbox did on its own that no command's output carried yet (processes
        ended between commands over the disk limit), each note once."""
        note = self._idle_disk.take_note() if self._idle_disk is not None else ""
        return [note] if note else []

    def _user_processes_left(self) -> bool:
        """Whether some process of the command users runs, the resident helper aside (one
        inspect and a read of its cgroup, or one `docker top`; no exec)."""
        return self._process_census().users_left

    def _process_census(self) -> Census:
        """The container's processes: whether a command user's runs (the resident helper
        aside) and how many there are."""
        container = self._require_container()
        spare = self._helper_pid_on_host()

        def ask() -> Census | None:
            return process_census(self.api, container, init_pid=self._init_pid, spare_pid=spare)

        census = ask() if self._init_pid else None
        if census is None:  # not known yet, or the container was restarted: ask the engine
            self._refresh_init_pid()
            census = ask()
        # Still None: PID 1 is gone, the container is ending.
        return census or Census(users_left=False, total=0)

    def _processes(self) -> dict[int, int]:
        """Every process of the container (host pid → uid), as `_user_processes_left` reads
        them."""
        container = self._require_container()
        found = container_processes(self.api, container, init_pid=self._init_pid)
        if self._init_pid not in found:  # not known yet, or the container was restarted
            self._refresh_init_pid()
            found = container_processes(self.api, container, init_pid=self._init_pid)
        return found

    def _refresh_init_pid(self) -> None:
        container = self._require_container()
        self._init_pid = int(self.api.inspect_container(container)["State"].get("Pid") or 0)

    def _helper_pid_on_host(self) -> int:
        """The resident helper's host pid (0 without one), asked of the engine once."""
        helper = self._helper
        if helper is None or not helper.exec_id:
            return 0
        if self._helper_host_pid[0] != helper.exec_id:
            pid = int(self.api.exec_inspect(helper.exec_id).get("Pid") or 0)
            self._helper_host_pid = (helper.exec_id, pid)
        return self._helper_host_pid[1]

    def _end_leftovers(self) -> None:
        """Past the disk limit between commands: end every process of the command user but the
        resident helper (the next command needs it); if some survive, all of them, the helper
        with them (later commands then run with an exec each). Processes that fill the process
        limit (a fork bomb) leave no room for sparing: the sparing script's own forks would
        wait out bash's retries (~15 s), so all of them go at once."""
        helper, user = self._helper, self._user
        fill_limit = near_process_limit(self._process_census().total, self.spec.pids)
        if helper is not None and helper.pid > 0 and not fill_limit:
            self._require_shell().kill_command(
                pid_file="", user=user, elapsed=1 << 30, spare=helper.pid
            )
            if not self._user_processes_left():
                return
            self._helper_down("processes left running had to be ended")
        self._end_user_processes(user)

    def _kill_command(self, run: QueuedRun, user: str) -> None:
        if self._lifetime.ended:
            return
        shell = self._require_shell()
        elapsed = int(time.monotonic() - run.collector.started) + 1
        if isinstance(run, HelperRun):
            # The helper kills the group; the exec below ends what left it (`setsid`), sparing
            # the helper itself.
            with contextlib.suppress(HelperError):
                run.kill()
            helper = run.channel
            shell.kill_command(pid_file="", user=user, elapsed=elapsed, spare=helper.pid)
            if not run.pump(KILL_GRACE):
                # No answer: the helper is stopped or stuck; every process of the user goes,
                # the helper with them.
                self._helper_down("it did not answer a kill")
                self._end_user_processes(user)
                run.pump(KILL_GRACE)
            return
        assert isinstance(run, StreamedExec)
        shell.kill_command(pid_file=run.pid_file, user=user, elapsed=elapsed)
        if not run.pump(KILL_GRACE):
            # The output is still open: something survived.
            self._end_user_processes(user)

    def _end_user_processes(self, user: str, *, clear_ipc: bool = False) -> None:
        """Kill every process of `user` (and with `clear_ipc` remove its IPC objects, in the
        same exec); if even that cannot run (a fork bomb holding every pid), restart the
        container: its file system stays, its processes do not. The user's resident helper
        dies with them; it is started again at the next command (`_helper_ended_by_us`)."""
        shell = self._require_shell()
        self._helper_ended_by_us(user)
        if shell.kill_user_processes(user, clear_ipc=clear_ipc):
            return
        logger.warning("restarting sandbox %s to end runaway processes", self.container_id)
        self.api.restart(self._require_container(), timeout=0)
        self._oom_kills = shell.oom_kills()  # a restart may start a fresh memory cgroup
        if clear_ipc:
            shell.clear_ipc(user)
        if self._network.policy.mode != "off":
            shell.start_bridge()

    # -- failures and the end ------------------------------------------------------------------

    def _failure(self, exc: BaseException, what: str) -> SandboxError:
        """The error a person sees when `what` failed: why the sandbox ended when it had
        (cancelled, time limit), the engine losing the container when it did, else what
        failed. Never a raw engine error ("409 Conflict … is not running")."""
        lifetime = self._lifetime
        if (
            lifetime.ended is None
            and self.container_id is not None
            and not container_running(self.api, self.container_id)
        ):
            self._lose()
        if lifetime.ended is not None:
            return SandboxLost(lifetime.ended) if lifetime.lost else SandboxError(lifetime.ended)
        return person_error(exc, what)

    def _lose(self) -> None:
        """The engine lost the container: end the sandbox with that reason."""
        self._lifetime.end(ENGINE_LOST, lost=True)

    def _raise_if_ended(self) -> None:
        if self._lifetime.ended:
            raise SandboxError(self._lifetime.ended)

    def _kill_container(self) -> None:
        """Kill the container and wait until it has really stopped (the lifetime's end)."""
        try:
            if self.container_id is not None:
                self.api.kill(self.container_id)
                self.api.wait(self.container_id, timeout=15)
        except ENGINE_ERRORS:
            pass

    def _require_container(self) -> str:
        if self.container_id is None:
            raise SandboxError("the sandbox has not been started")
        return self.container_id

    def _require_shell(self) -> ContainerShell:
        if self._shell is None:
            raise SandboxError("the sandbox has not been started")
        return self._shell
