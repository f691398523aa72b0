"""The sandbox's egress per phase: one host-side proxy for the current policy (none when off)
and the in-container bridge to it, plus every decision both phases' proxies recorded."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from docker.errors import APIError

from tasks.sandbox.base import (
    CredentialUse,
    EgressRecord,
    NetworkPolicy,
    SandboxError,
    TlsFailure,
)
from tasks.sandbox.config import DockerConfig
from tasks.sandbox.container import ContainerShell
from tasks.sandbox.egress import spare
from tasks.sandbox.egress.credentials import EgressCredential
from tasks.sandbox.egress.policy import EgressRules, expand_domains, needs_tls_interception
from tasks.sandbox.egress.proxy import STOPPED_WHILE_STARTING, EgressProxy


class EgressSwitch:
    """Replaces the proxy when the phase changes. `ended()` says why the sandbox ended (then no
    proxy is started for a stopped container)."""

    def __init__(
        self,
        *,
        config: DockerConfig,
        workdir: Path,
        extra_ca_pem: str,
        upstream_proxy: str,
        ended: Callable[[], str | None],
        credentials: tuple[EgressCredential, ...] = (),
    ) -> None:
        self.config = config
        self.workdir = workdir
        self.extra_ca_pem = extra_ca_pem
        self.upstream_proxy = upstream_proxy
        self._ended = ended
        self.credentials = credentials  # the agent phase's proxy adds them (never setup's)
        self.policy = NetworkPolicy(mode="off")
        self.egress_ca = False  # the current proxy intercepts TLS; the container trusts its CA
        self._proxy: EgressProxy | None = None
        self._records: list[EgressRecord] = []
        self._agent = False  # the current proxy is the agent phase's
        self._lock = threading.Lock()  # `allow` comes from another thread than `set`
        self.approved: tuple[str, ...] = ()  # domains people approved for this agent phase
        self._tls_failures: list[TlsFailure] = []
        self._credential_uses: list[CredentialUse] = []
        # (policy, agent phase, its proxy) started by `prepare`, until `set` takes it
        self._pending: tuple[NetworkPolicy, bool, EgressProxy | None] | None = None
        self._closed = False  # the sandbox ended: a proxy `prepare` finishes now is stopped
        self._starting: EgressProxy | None = None  # being started (by `prepare` or `set`)

    def prepare(self, policy: NetworkPolicy, *, agent: bool = False) -> None:
        """Start the host proxy for `policy` ahead of `set` (none when off): it needs nothing of
        the container, so it can start while the container is made. Nothing reaches it until
        `set` starts the in-container bridge to it."""
        if self._proxy is not None or self._pending is not None:
            raise SandboxError("a proxy for this sandbox runs already")  # they share a folder
        self._raise_if_ended()
        proxy = None if policy.mode == "off" else self._start_proxy(policy, agent=agent)
        with self._lock:
            closed = self._closed
            if not closed:
                self._pending = (policy, agent, proxy)
        if closed and proxy is not None:  # the sandbox stopped (cancelled) meanwhile
            _discard(proxy)

    def set(self, policy: NetworkPolicy, shell: ContainerShell, *, agent: bool = False) -> bool:
        """Replace the host proxy with one for `policy` (none when off) and (re)start the
        in-container bridge to it. In the agent phase, an allowlist restricting methods
        intercepts TLS, and so do credentials (for their domains): the container then trusts
        that proxy's (fresh, per-attempt) CA. Uses the proxy `prepare` started when it was for
        this policy. Returns whether that made a Java trust store."""
        with self._lock:
            pending, self._pending = self._pending, None
        # A proxy about to start in the same folder waits for the old one to be gone.
        self.stop(shell, wait=policy.mode != "off")
        proxy = None
        if pending is not None:
            if pending[:2] == (policy, agent):
                proxy = pending[2]
            elif pending[2] is not None:
                _discard(pending[2])
        self.policy = policy
        self.egress_ca = False
        if policy.mode == "off":
            return False
        if self._ended() is not None and proxy is not None:
            _discard(proxy)  # cancelled while it was starting: it never becomes current
        self._raise_if_ended()
        if proxy is None:
            proxy = self._start_proxy(policy, agent=agent)
        with self._lock:
            closed = self._closed
            if not closed:
                self._proxy, self._agent = proxy, agent
        if closed:  # stopped meanwhile: the proxy is nobody's
            _discard(proxy)
            raise SandboxError(self._ended() or STOPPED_WHILE_STARTING)
        intercept = agent and needs_tls_interception(policy.mode, policy.methods)
        java_store = False
        try:
            self._raise_if_ended()  # cancelled (or timed out) while the proxy was starting
            if intercept or (agent and self.credentials):
                java_store = shell.trust_ca(proxy.ca_certificate())
                self.egress_ca = True
            # Setup passes TLS through: the proxy learns the container's CA bundle (read in the
            # bridge's exec, before any setup command runs) to tell which servers the sandbox
            # will not trust (tls_hint.py says so if setup fails).
            bundle = shell.start_bridge(read_trust=not agent)
        except APIError as exc:  # the container was stopped under us: say why, not Docker's 409
            raise SandboxError(self._ended() or f"cannot start the egress bridge: {exc}") from exc
        if not agent:
            proxy.set_sandbox_trust(bundle)
        return java_store

    def _start_proxy(self, policy: NetworkPolicy, *, agent: bool) -> EgressProxy:
        """A started host proxy for `policy` (not off) in the agent or the setup phase."""
        domains = expand_domains(policy.domains, self.config.domain_lists)
        if agent:
            domains = tuple(dict.fromkeys((*domains, *self.approved)))
        rules = EgressRules(
            mode=policy.mode,
            domains=domains,
            methods=tuple(m.upper() for m in policy.methods),
            resolve=dict(self.config.egress_resolve),
            allow_private=self.config.allow_private,
            ports=self.config.egress_ports,
            intercept_tls=agent and needs_tls_interception(policy.mode, policy.methods),
        )
        if not agent and self.config.spare_proxy:
            taken = spare.take(self._spare_key())
            if taken is not None:
                return self._started(taken, lambda: taken.adopt(rules, self.workdir / "socket"))
        proxy = EgressProxy(
            rules=rules,
            workdir=self.workdir,
            mitmdump=self.config.mitmdump,
            upstream_ca=self.config.egress_upstream_ca,
            extra_ca_pem=self.extra_ca_pem,
            upstream_proxy=self.upstream_proxy,
            probe_trust=not agent,
            credentials=self.credentials if agent else (),
        )
        return self._started(proxy, proxy.start)

    def _started(self, proxy: EgressProxy, start: Callable[[], None]) -> EgressProxy:
        """`proxy` once `start` ran, unless `stop` came first or meanwhile (from another
        thread: the sandbox stopped while its setup proxy started early): then `stop` ended
        it, or it is ended here, and SandboxError. Never a proxy left running unowned."""
        with self._lock:
            if self._closed:
                closed = True
            else:
                closed, self._starting = False, proxy
        if closed:
            _discard(proxy)
            raise SandboxError(self._ended() or STOPPED_WHILE_STARTING)
        try:
            start()
        except BaseException:
            _discard(proxy)
            raise
        finally:
            with self._lock:
                self._starting = None
        return proxy

    def _spare_key(self) -> spare.SpareKey:
        return spare.SpareKey(
            runtime_dir=str(self.config.runtime_dir),
            mitmdump=self.config.mitmdump,
            upstream_ca=self.config.egress_upstream_ca,
            extra_ca_pem=self.extra_ca_pem,
            upstream_proxy=self.upstream_proxy,
        )

    def _raise_if_ended(self) -> None:
        ended = self._ended()
        if ended:
            raise SandboxError(ended)

    def stop(self, shell: ContainerShell | None, *, wait: bool = True) -> None:
        """Stop the current proxy (keeping its records) and the bridges to it, and a proxy
        `prepare` started that was never used. `wait=False`: the bridges are gone when this
        returns, mitmdump ends in the background (see `EgressProxy.stop`)."""
        with self._lock:
            proxy, self._proxy = self._proxy, None
            pending, self._pending = self._pending, None
            self._closed = self._ended() is not None or self._closed
            starting = self._starting if self._closed else None
        if starting is not None:  # its start raises; what it started ends now, not when ready
            _discard(starting)
        if pending is not None and pending[2] is not None:
            _discard(pending[2])
        if proxy is not None:
            proxy.stop(wait=wait)
            self._records.extend(proxy.records())
            self._tls_failures.extend(proxy.tls_failures())
            self._credential_uses.extend(proxy.credential_uses())
            proxy.log_path.unlink(missing_ok=True)
            if spare.is_spare(proxy):  # its folder is its own; mitmdump may still be ending
                shutil.rmtree(proxy.workdir.parent, ignore_errors=True)
            if not self._agent and self.config.spare_proxy:
                # The next sandbox's setup proxy starts now, while this one's agent works.
                spare.refill_later(self._spare_key())
            if shell is not None and self._ended() is None:
                shell.stop_bridges()

    def allow(self, domains: Sequence[str]) -> None:
        """Let the agent phase's proxy allow `domains` too (kept if the proxy is replaced).
        SandboxError when the current phase has no allowlist proxy."""
        with self._lock:
            proxy = self._proxy
            if proxy is None or not self._agent or proxy.rules.mode != "allowlist":
                raise SandboxError(
                    "no allowlist proxy runs for the agent now (internet off or on), so there "
                    "is nothing a domain could be added to"
                )
            try:
                proxy.allow_domains(domains)
            except ValueError as exc:
                raise SandboxError(f"cannot allow {', '.join(domains)}: {exc}") from exc
            self.approved = tuple(dict.fromkeys((*self.approved, *domains)))

    @property
    def current(self) -> EgressProxy | None:
        """The proxy of the current phase (None when its policy is off)."""
        return self._proxy

    def records(self, since: int = 0) -> list[EgressRecord]:
        """Every egress decision so far (both phases), oldest first, from the `since`-th on."""
        proxy = self._proxy  # read once: `allow`/`stop` may swap it from another thread
        return (self._records + (proxy.records() if proxy else []))[since:]

    def tls_failures(self) -> list[TlsFailure]:
        proxy = self._proxy
        return self._tls_failures + (proxy.tls_failures() if proxy else [])

    def credential_uses(self) -> list[CredentialUse]:
        return self._credential_uses + (self._proxy.credential_uses() if self._proxy else [])


def _discard(proxy: EgressProxy) -> None:
    """Stop a proxy that never served (and remove its folder when it was a spare)."""
    if spare.is_spare(proxy):
        spare.discard(proxy)
    else:
        proxy.stop()
