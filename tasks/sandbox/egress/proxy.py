"""Start and stop one attempt phase's egress proxy on the host.

Shape (DESIGN.md, "Trust boundary"): the container has no network interface but loopback. The
proxy — mitmdump from `.venv-proxy` with `addon.py` — listens on the host's loopback on a port
the kernel picks; socat bridges a unix socket in a per-phase folder to it, and that folder is
the only thing mounted into the container. Inside, another socat bridges 127.0.0.1:3128 to the
socket and HTTP(S)_PROXY points there. No packet can route around the proxy.

Each proxy has its own mitmproxy confdir (`WORKDIR/mitmproxy`, emptied at start), so mitmproxy
makes a fresh CA for every proxy it starts; nothing is shared between attempts. The CA's private
key stays in that folder on the host (never in the mounted socket folder); `ca_certificate()`
hands out the public certificate only, for the container to trust when the rules intercept TLS.

Corporate networks: upstream servers are verified against this host's system store plus the
installation's extra CA (a TLS-intercepting company proxy re-signs every server's certificate),
and `upstream_proxy` chains everything through the company's proxy (`--mode upstream:`); its
credentials go to the confdir's config.yaml, never onto the command line.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from tasks.sandbox.base import CredentialUse, EgressRecord, SandboxError, TlsFailure
from tasks.sandbox.egress import children
from tasks.sandbox.egress import credentials as egress_credentials
from tasks.sandbox.egress.credentials import EgressCredential
from tasks.sandbox.egress.policy import EgressRules
from tasks.sandbox.egress.rules_file import write_atomically
from tasks.sandbox.masking import secret_forms
from tasks.sandbox.spec import BRIDGE_BACKLOG, EGRESS_SOCKET
from tasks.sandbox.trust import upstream_parts

ADDON = Path(__file__).with_name("addon.py")
START_TIMEOUT = 30.0
STOPPED_WHILE_STARTING = "the egress proxy was stopped while it was starting"


class EgressProxy:
    """mitmdump + a unix-socket bridge for one phase. `start()` returns when the socket accepts
    connections; `stop()` is idempotent and ends both processes, also from another thread while
    `start()` runs: then nothing more is started and `start()` raises SandboxError."""

    def __init__(
        self,
        *,
        rules: EgressRules,
        workdir: Path,
        mitmdump: str,
        upstream_ca: str = "",
        extra_ca_pem: str = "",
        upstream_proxy: str = "",
        probe_trust: bool = False,
        credentials: tuple[EgressCredential, ...] = (),
    ) -> None:
        """`upstream_ca`: a PEM file of the only CAs trusted for upstream servers (tests use it
        for the loopback target's own certificate); "" trusts this host's system store plus
        `extra_ca_pem`. `upstream_proxy`: a checked SANDBOX_UPSTREAM_PROXY URL to chain to.
        `probe_trust`: passed-through servers whose certificate the sandbox's CA bundle does
        not verify are recorded (`tls_failures()`); the bundle is handed over with
        `set_sandbox_trust` once the container can be read, which may be after `start()` (the
        proxy starts while the container is made), but before anything can connect: until
        then the probe is skipped. `credentials`: headers
        the proxy adds to matching requests (egress/credentials.py); handed over in a file only
        this user can read, removed as soon as the proxy has read it."""
        self.rules = rules
        self.confdir = workdir / "mitmproxy"  # this proxy's own CA, made at start
        self.upstream_ca = upstream_ca
        self.extra_ca_pem = extra_ca_pem
        self.upstream_proxy = upstream_proxy
        self.probe_trust = probe_trust
        self.workdir = workdir
        self.mitmdump = mitmdump
        self.socket_dir = workdir / "socket"
        self.socket_path = self.socket_dir / EGRESS_SOCKET
        self.log_path = workdir / "requests.jsonl"
        self.rules_path = workdir / "rules.json"
        self.tls_log_path = workdir / "tls-failures.jsonl"
        self.credentials = credentials
        self.credentials_path = workdir / "credentials.json"
        self.credential_log_path = workdir / "credentials-used.jsonl"
        self.sandbox_trust_path = workdir / "sandbox-trust.pem"
        self._procs: list[subprocess.Popen[bytes]] = []
        self._port = 0  # mitmdump's, once started
        self._lock = threading.Lock()  # a stop from another thread against a start's spawn
        self._stopped = False  # stop() ran: no process may be started any more

    def start(self) -> None:
        """Start mitmdump, then the bridge to it from the socket folder."""
        self.start_proxy()
        self.start_bridge()

    def adopt(self, rules: EgressRules, socket_dir: Path) -> None:
        """Take over a proxy started ahead with other rules (egress/spare.py): replace its rules
        (in one rename; the addon re-reads them on the next request, and nothing could connect
        before the bridge) and start the bridge from `socket_dir`, the sandbox's own folder."""
        write_atomically(self.rules_path, rules.to_json())
        self.rules = rules
        self.socket_dir = socket_dir
        self.socket_path = socket_dir / EGRESS_SOCKET
        self.start_bridge()

    def start_proxy(self) -> None:
        """Start mitmdump (on a loopback port) and wait until it is ready."""
        if not Path(self.mitmdump).is_file():
            raise SandboxError(
                f"the egress proxy is not installed ({self.mitmdump} is missing); "
                "run scripts/proxy-venv.sh (make proxy-venv) or set SANDBOX_MITMDUMP"
            )
        self._socat()
        self.workdir.mkdir(parents=True, exist_ok=True)
        rules_path = self.rules_path
        rules_path.write_text(self.rules.to_json())
        ready = self.workdir / "ready.json"
        ready.unlink(missing_ok=True)
        self.log_path.touch()
        confdir = self.confdir
        shutil.rmtree(confdir, ignore_errors=True)  # a fresh CA for every proxy
        confdir.mkdir(mode=0o700, parents=True)
        self.tls_log_path.touch()
        upstream = self._upstream_options() + self._credential_options()
        mitmdump = self._spawn(
            [
                self.mitmdump,
                "--quiet",
                "--listen-host",
                "127.0.0.1",
                "--listen-port",
                "0",
                "--scripts",
                str(ADDON),
                "--set",
                f"confdir={confdir}",
                "--set",
                "connection_strategy=eager",
                "--set",
                "upstream_cert=false",
                "--set",
                f"codexweb_rules={rules_path}",
                "--set",
                f"codexweb_log={self.log_path}",
                "--set",
                f"codexweb_ready={ready}",
                "--set",
                f"codexweb_tls_log={self.tls_log_path}",
                *upstream,
            ],
            log_name="proxy.log",
        )
        try:
            self._port = self._wait_ready(mitmdump, ready)
        finally:  # read by the addon before it said it is ready; nothing keeps it on disk
            self.credentials_path.unlink(missing_ok=True)
        self._write_pids()

    def start_bridge(self) -> None:
        """socat from the unix socket in `socket_dir` (mounted into the container) to mitmdump;
        returns once the socket accepts connections."""
        socat = self._socat()
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.socket_dir, 0o755)  # noqa: S103 — the sandbox user must reach the socket
        port = self._port
        bridge = self._spawn(
            [
                socat,
                f"UNIX-LISTEN:{self.socket_path},fork,mode=0666,unlink-early,backlog={BRIDGE_BACKLOG}",
                f"TCP:127.0.0.1:{port}",
            ],
            log_name="bridge.log",
        )
        deadline = time.monotonic() + 10
        while not _accepts(self.socket_path):
            if time.monotonic() > deadline or bridge.poll() is not None:
                stopped = self._stopped
                self.stop()
                raise SandboxError(
                    STOPPED_WHILE_STARTING if stopped
                    else "the egress proxy's socket bridge did not start"
                )
            time.sleep(0.02)
        self._write_pids()

    def _spawn(self, argv: list[str], *, log_name: str) -> subprocess.Popen[bytes]:
        """Start one of this proxy's processes in a session of its own (its output to
        `log_name` in the workdir), unless `stop()` ran: then SandboxError. Under the lock, so
        a concurrent `stop()` either finds the process or keeps it from starting."""
        with self._lock:
            if self._stopped:
                raise SandboxError(STOPPED_WHILE_STARTING)
            with open(self.workdir / log_name, "ab") as log:
                proc = subprocess.Popen(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            self._procs.append(proc)
            children.track(proc)
        return proc

    def running(self) -> bool:
        """Whether mitmdump still runs."""
        return bool(self._procs) and self._procs[0].poll() is None

    def _socat(self) -> str:
        """socat's path; SandboxError when it is missing or the socket path is too long."""
        if len(str(self.socket_path)) > 100:  # sun_path holds 108 bytes
            raise SandboxError(
                f"the egress socket path {self.socket_path} is too long for a unix socket; "
                "set SANDBOX_RUNTIME_DIR to a shorter folder"
            )
        socat = shutil.which("socat")
        if socat is None:
            raise SandboxError("socat is not installed on this host (apt-get install socat)")
        return socat

    def _write_pids(self) -> None:
        """The processes, for the reaper (reaper.py) should this worker die: in the proxy's
        folder and, when the bridge's socket is in another one (an adopted spare), there too."""
        pids = " ".join(str(p.pid) for p in self._procs)
        for folder in dict.fromkeys((self.workdir, self.socket_dir.parent)):
            if folder.is_dir():
                (folder / "pids").write_text(pids)

    def _upstream_options(self) -> list[str]:
        """mitmdump options for the upstream side: whom to trust, what to chain to, and whether
        to check passed-through servers against the sandbox's trust. Writes the files they
        name into the workdir (and the company proxy's credentials into the confdir)."""
        trusted = self.upstream_ca
        pem = "" if trusted else (system_ca_bundle() + "\n" + self.extra_ca_pem).strip()
        if pem:  # else (no store on this host, no extra CA): mitmproxy's own (certifi)
            bundle = self.workdir / "upstream-trust.pem"
            bundle.write_text(pem + "\n")
            trusted = str(bundle)
        options = ["--set", f"ssl_verify_upstream_trusted_ca={trusted}"] if trusted else []
        if self.upstream_proxy:
            address, auth = upstream_parts(self.upstream_proxy)
            options += ["--mode", f"upstream:{address}"]
            if auth:
                # JSON is YAML; mitmproxy reads config.yaml from the confdir (mode 0700).
                config = self.confdir / "config.yaml"
                config.write_text(json.dumps({"upstream_auth": auth}) + "\n")
                os.chmod(config, 0o600)
        if self.probe_trust:
            self.sandbox_trust_path.write_bytes(b"")  # nothing to check against until set
            options += ["--set", f"codexweb_probe_ca={self.sandbox_trust_path}"]
        return options

    def set_sandbox_trust(self, pem: bytes) -> None:
        """The sandbox's CA bundle for the probe (see `probe_trust`); b"" leaves it off. In one
        rename: the addon reads the whole bundle or none."""
        if self.probe_trust:
            write_atomically(self.sandbox_trust_path, pem.decode(errors="replace"))

    def _credential_options(self) -> list[str]:
        """Write the credentials for the addon (0600; each with every form of its secret parts
        to strip from responses) and name the file; [] when there are none."""
        self.credentials_path.unlink(missing_ok=True)
        self.credential_log_path.unlink(missing_ok=True)
        if not self.credentials:
            return []
        egress_credentials.write_file(
            self.credentials_path,
            [replace(c, redact=secret_forms(c.secret_parts())) for c in self.credentials],
        )
        self.credential_log_path.touch(mode=0o600)
        return [
            "--set",
            f"codexweb_credentials={self.credentials_path}",
            "--set",
            f"codexweb_credential_log={self.credential_log_path}",
        ]

    def _wait_ready(self, proc: subprocess.Popen[bytes], ready: Path) -> int:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and not self._stopped:
            if ready.exists():
                return int(json.loads(ready.read_text())["port"])
            if proc.poll() is not None:
                break
            time.sleep(0.05)
        stopped = self._stopped
        self.stop()
        if stopped:
            raise SandboxError(STOPPED_WHILE_STARTING)
        try:
            tail = (self.workdir / "proxy.log").read_text(errors="replace")[-2000:]
        except OSError:
            tail = ""
        raise SandboxError(f"the egress proxy did not start: {tail.strip() or 'no output'}")

    def allow_domains(self, domains: Iterable[str]) -> EgressRules:
        """Add `domains` to the running proxy's allowlist: the rules file is replaced in one
        rename and the addon re-reads it on its next request (no restart, open connections
        kept). Returns the new rules; ValueError for a bad pattern, SandboxError unless the
        rules are an allowlist."""
        if self.rules.mode != "allowlist":
            raise SandboxError(
                f"the egress policy of this phase is {self.rules.mode!r}, not an allowlist"
            )
        merged = tuple(dict.fromkeys((*self.rules.domains, *domains)))
        rules = dataclasses.replace(self.rules, domains=merged)  # checks every pattern
        write_atomically(self.rules_path, rules.to_json())
        self.rules = rules
        return rules

    def ca_certificate(self) -> bytes:
        """The public certificate (PEM) of this proxy's CA; SandboxError before `start()`."""
        path = self.confdir / "mitmproxy-ca-cert.pem"
        try:
            pem = path.read_bytes()
        except OSError as exc:
            raise SandboxError(f"the egress proxy's CA certificate is missing: {exc}") from exc
        if b"PRIVATE KEY" in pem or b"BEGIN CERTIFICATE" not in pem:
            raise SandboxError(f"{path} is not a public certificate")
        return pem

    def stop(self, *, wait: bool = True) -> None:
        """End the bridge, then mitmdump. Idempotent. The bridge is the only way in from the
        sandbox, so once it is gone (waited for, its socket unlinked) nothing more reaches the
        proxy, and as every decision is written when it is made, the records are complete.
        `wait=False` leaves waiting for mitmdump's exit (a second or more: it shuts down
        gracefully) to a background thread (and to `children` at exit, should this process end
        first). Safe from another thread during `start()`: what it started is ended, and it
        starts nothing more."""
        with self._lock:
            self._stopped = True
            procs, self._procs = self._procs, []
        for proc in reversed(procs):
            if proc.poll() is None:
                children.end_group(proc, signal.SIGTERM)
        for proc in reversed(procs[1:]):  # the bridges
            _reap(proc)
        self.socket_path.unlink(missing_ok=True)
        self.credentials_path.unlink(missing_ok=True)
        if not procs:
            return
        if wait:
            _reap(procs[0])
        else:
            threading.Thread(target=_reap, args=(procs[0],), daemon=True).start()

    def credential_uses(self) -> list[CredentialUse]:
        """Every credential this proxy added so far, oldest first."""
        if not self.credential_log_path.exists():
            return []
        lines = self.credential_log_path.read_text().splitlines()
        return [CredentialUse(**json.loads(line)) for line in lines if line.strip()]

    def records(self) -> list[EgressRecord]:
        """Every decision so far, oldest first."""
        return read_records(self.log_path)

    def tls_failures(self) -> list[TlsFailure]:
        """Upstream servers whose certificate failed verification so far, oldest first."""
        if not self.tls_log_path.exists():
            return []
        lines = self.tls_log_path.read_text().splitlines()
        return [TlsFailure(**json.loads(line)) for line in lines if line.strip()]


# Where common systems keep the bundle of trusted CAs (Debian/Ubuntu, Fedora/RHEL, Alpine/SUSE).
SYSTEM_BUNDLES = (
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
)


def system_ca_bundle() -> str:
    """This host's trusted CAs (PEM): the bundle Python's OpenSSL names, else a known path;
    "" when there is none."""
    paths = ssl.get_default_verify_paths()
    for path in (paths.cafile, paths.openssl_cafile, *SYSTEM_BUNDLES):
        if path and os.path.isfile(path):
            return Path(path).read_text(errors="replace")
    return ""


def _reap(proc: subprocess.Popen[bytes]) -> None:
    """Wait for a signalled process; kill its group when it takes more than 5 s."""
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        children.end_group(proc, signal.SIGKILL)
        proc.wait(timeout=5)
    children.forget(proc)


def _accepts(path: Path) -> bool:
    """Whether the unix socket at `path` takes connections (socat creates the file before it
    listens; a client in between would be refused)."""
    if not path.exists():
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(1)
        try:
            probe.connect(str(path))
        except OSError:
            return False
    return True


def read_records(path: Path) -> list[EgressRecord]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        raw = json.loads(line)
        out.append(
            EgressRecord(
                at=float(raw["at"]),
                host=str(raw["host"]),
                port=int(raw["port"]),
                method=str(raw["method"]),
                allowed=bool(raw["allowed"]),
                reason=str(raw["reason"]),
                url=str(raw.get("url", "")),
            )
        )
    return out
