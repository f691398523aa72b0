"""The sandbox interface the agent and the Celery job use; backends (Docker, later Kubernetes)
implement it. Keep it narrow: only text crosses it."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from tasks.sandbox.egress.credentials import EgressCredential

Stream = Literal["stdout", "stderr"]
OwnerKind = Literal["attempt", "setup-run", "verification"]


@dataclass(frozen=True)
class SandboxOwner:
    """What a sandbox is for: an attempt, a "run setup now" or a re-verification. It names the
    container, the runtime folder and a label, so the reaper can remove what one owner left."""

    kind: OwnerKind
    id: int

    @property
    def label(self) -> str:
        """The label value on the container, e.g. "attempt:42", "setup-run:7"."""
        return f"{self.kind}:{self.id}"

    @property
    def slug(self) -> str:
        """For names of containers and folders, e.g. "attempt-42", "setup-run-7"."""
        return f"{self.kind}-{self.id}"

    @classmethod
    def attempt(cls, attempt_id: int) -> SandboxOwner:
        return cls("attempt", attempt_id)

    @classmethod
    def setup_run(cls, run_id: int) -> SandboxOwner:
        return cls("setup-run", run_id)

    @classmethod
    def verification(cls, verification_id: int) -> SandboxOwner:
        """A best-of-N re-verification of a patch (tasks/verification/)."""
        return cls("verification", verification_id)


@dataclass(frozen=True)
class OutputChunk:
    """A piece of a command's output as it arrives."""

    stream: Stream
    text: str
    at: float  # seconds since the command started


OnOutput = Callable[[OutputChunk], None]


@dataclass(frozen=True)
class ExecResult:
    exit_code: int | None  # None when the command was killed (timeout, cancel, OOM)
    output: str  # stdout and stderr interleaved as they arrived, capped
    truncated: bool = False  # output exceeded the cap; a note says so at the end of `output`
    timed_out: bool = False
    duration: float = 0.0
    error: str = ""  # a clear sentence when the command did not end normally


@dataclass(frozen=True)
class NetworkPolicy:
    mode: Literal["off", "allowlist", "on"] = "off"
    domains: tuple[str, ...] = ()  # exact or wildcard ("*.example.org")
    methods: tuple[str, ...] = ("GET", "HEAD", "OPTIONS")


@dataclass(frozen=True)
class SandboxSpec:
    """Everything needed to start one container. Plain data, no Django: the worker reads the
    settings and the environment snapshot and fills it in (tasks/worker/sandbox_settings.py)."""

    owner: SandboxOwner
    image: str
    workspace: Path  # a pristine host-side checkout, copied into /workspace
    # `workspace`'s tar made before (workspace_archive.pack_workspace), copied in instead of
    # packing it again: the siblings sharing one checkout share its tar too.
    workspace_archive: Path | None = None
    read_only: bool = False  # Ask tasks
    cpus: float = 2.0
    memory_mb: int = 4096
    pids: int = 512
    disk_mb: int = 10240
    wall_seconds: int = 3600
    setup_script: str = ""
    # Runs instead of the setup script when the attempt starts from a warm image (e.g.
    # `pip install -e .` after the branch moved), with the same secrets, policy and output.
    maintenance_script: str = ""
    variables: Mapping[str, str] = field(default_factory=dict)
    secrets: Mapping[str, str] = field(default_factory=dict)  # setup/maintenance only
    # Absolute folders put before the sandbox's PATH for every command (spec.check_path_prefix).
    path_prefix: tuple[str, ...] = ()
    setup_network: NetworkPolicy = NetworkPolicy(mode="on")
    agent_network: NetworkPolicy = NetworkPolicy(mode="off")
    labels: Mapping[str, str] = field(default_factory=dict)
    # The repository's warm-image cache: bumping the generation ("reset cache") makes every
    # earlier image a miss; hours overrides the installation's default expiry when set.
    cache_generation: int = 0
    cache_hours: float | None = None
    # Whose cache this is (e.g. "environment-12"): a prepared image holds files of that
    # repository, so it is never shared with another repository, whatever their setup.
    cache_scope: str = ""
    # Corporate networks (SANDBOX_EXTRA_CA_FILE, SANDBOX_UPSTREAM_PROXY): CA certificates (PEM
    # text, public) the container and the egress proxy trust besides the public roots, and an
    # HTTP proxy (http://host:port) the egress proxy sends everything through.
    extra_ca_pem: str = ""
    upstream_proxy: str = ""
    # Whose warm image this is. An image holds the repository's files and what setup made with
    # the secrets, so it is reused only by the same installation (`install_id`, one random id per
    # database), the same repository (`repository`, an identity string) and the commit setup ran
    # on (`commit`), with the same secret versions (name -> a hash of when each was last set,
    # never its value). Without an install id, a repository and a commit nothing is cached.
    install_id: str = ""
    repository: str = ""
    commit: str = ""
    secret_versions: Mapping[str, str] = field(default_factory=dict)
    # The checkout of `commit` that setup runs on, when the attempt's own tree differs (a
    # follow-up's holds its parent's changes, written by the agent, and setup holds the
    # secrets). After setup the workspace is replaced by `workspace`. None: setup runs on it.
    setup_workspace: Path | None = None
    # Headers the agent phase's egress proxy adds to matching requests (a private index's
    # token...). They go to the proxy alone, in a file only the worker's user can read; never
    # into the container, its environment, labels or any event (egress/credentials.py).
    egress_credentials: tuple[EgressCredential, ...] = field(default=(), repr=False)


@dataclass(frozen=True)
class EgressRecord:
    """One request or tunnel the egress proxy decided."""

    at: float
    host: str
    port: int
    method: str  # CONNECT, TCP for a raw tunnel, "-" for an address refused at connect time
    allowed: bool
    reason: str
    url: str = ""  # what was asked, without its query ("host:port" for a tunnel); "" if unknown


@dataclass(frozen=True)
class CredentialUse:
    """The egress proxy added credential `id` to a request to `host` at `at`."""

    at: float
    id: int
    host: str


@dataclass(frozen=True)
class TlsFailure:
    """An upstream server whose certificate failed verification (see egress/addon.py)."""

    at: float
    host: str
    port: int
    error: str  # OpenSSL's reason, e.g. "unable to get local issuer certificate"


SetupScript = Literal["setup", "maintenance"]


@dataclass(frozen=True)
class StartReport:
    """What `Sandbox.start()` did, for the worker to show and record."""

    # The setup script's result, or the maintenance script's on a warm start (`script` says
    # which); None when neither ran. Also set when the script failed (then `start()` raised:
    # see `SandboxStartError.report`).
    setup_result: ExecResult | None = None
    script: SetupScript | None = None
    warm_hit: bool = False  # started from a current warm image
    # The warm image this sandbox started from or saved after setup; "" when none.
    warm_image: str = ""
    start_seconds: float = 0.0  # from start() until the agent phase could begin
    setup_seconds: float = 0.0  # of which the setup or maintenance script ran


class SandboxError(RuntimeError):
    """The sandbox could not do what was asked; the message is for a person."""


class SandboxLost(SandboxError):
    """The container is gone under the attempt (the engine restarted, or something outside
    killed it): nothing more can run in it, and its work cannot be taken out."""


class SandboxStartError(SandboxError):
    """`start()` failed; `report` holds what ran before (e.g. the failed setup script's
    result), so the worker can still end the setup log."""

    def __init__(self, message: str, report: StartReport) -> None:
        super().__init__(message)
        self.report = report


Phase = Literal["new", "setup", "maintenance", "agent"]


class Sandbox(Protocol):
    """One isolated environment (an attempt's, or a setup run's), from start to cleanup."""

    @property
    def phase(self) -> Phase:
        """What runs now: nothing yet, the setup or maintenance script, or the agent."""

    def start(self) -> StartReport:
        """Create the container, copy the workspace in, run setup, then apply the agent policy.
        Raises SandboxError (SandboxStartError when it got as far as a report)."""

    def exec(
        self,
        command: str,
        *,
        cwd: str = "/workspace",
        timeout: float = 600,
        on_output: OnOutput | None = None,
        max_output_bytes: int = 1_000_000,
    ) -> ExecResult:
        """Run `command` with bash as the unprivileged user; stream output to `on_output`."""

    def write_file(self, path: str, content: str) -> None:
        """Write a text file inside /workspace (no '..', no absolute paths, no symlinks)."""

    def read_file(self, path: str, *, max_bytes: int = 1_000_000) -> str:
        """Read a text file inside /workspace."""

    def cancel(self) -> None:
        """Stop whatever runs now; safe to call from another thread."""

    def stop(self, *, remove_later: bool = False) -> None:
        """Remove the container and everything it held. Idempotent. With `remove_later` only
        what runs is stopped now; the rest may be removed soon after, in the background."""

    def take_notes(self) -> list[str]:
        """What the sandbox did on its own between commands that no command's output carried
        (e.g. it ended processes left running past the disk limit), as sentence ends, each
        given once; the agent tells the model and flags the summary with them."""

    def egress_records(self, since: int = 0) -> list[EgressRecord]:
        """The egress proxy's decisions of both phases, oldest first, from the `since`-th on
        (a caller that keeps count gets each record once, in order, while the sandbox runs)."""

    def egress_allow(self, domains: Sequence[str]) -> None:
        """Let the agent phase reach `domains` too (just-in-time approval), from the next
        request on, without restarting anything. Safe to call from another thread. Raises
        SandboxError when the agent phase has no allowlist proxy (internet off or on)."""

    def credential_uses(self) -> list[CredentialUse]:
        """The repository credentials the egress proxy added to requests so far, oldest first
        (ids and hosts only, never a value)."""
