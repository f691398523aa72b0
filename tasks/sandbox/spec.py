"""Pure decisions about one sandbox container: limits, mounts, network, labels, environment.

Nothing here talks to Docker, so every security decision is unit-testable. `docker.py` passes
`container_kwargs(...)` straight to `docker.APIClient.create_container` / `create_host_config`.
"""

from __future__ import annotations

import posixpath
import re
import socket
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tasks.sandbox.base import NetworkPolicy, SandboxError, SandboxSpec

# Labels on every container, volume and image the sandbox creates; the reaper keys on them.
LABEL_SANDBOX = "org.codexweb.sandbox"
LABEL_FOR = "org.codexweb.for"  # what the sandbox is for: "attempt:42", "setup-run:7"
LABEL_ATTEMPT = "org.codexweb.attempt"  # an attempt's id (attempts only; older reapers key on it)
LABEL_OWNER = "org.codexweb.owner"  # "host:pid:starttime" of the worker process
LABEL_DEADLINE = "org.codexweb.deadline"  # unix time after which the attempt must be gone
LABEL_WARM_KEY = "org.codexweb.warm.key"
LABEL_WARM_CREATED = "org.codexweb.warm.created"
LABEL_WARM_INSTALL = "org.codexweb.warm.install"
LABEL_WARM_REPOSITORY = "org.codexweb.warm.repository"
LABEL_WARM_COMMIT = "org.codexweb.warm.commit"

WORKSPACE = "/workspace"
EGRESS_MOUNT = "/run/codexweb-egress"  # the host proxy's unix socket lives here
EGRESS_SOCKET = "proxy.sock"
# The resident command helper (helper.py), a static binary mounted read-only from the host.
HELPER_PATH = "/run/codexweb-helper"
PROXY_PORT = 3128  # inside the container, on loopback only
# Pending connections each socat bridge to the egress proxy queues (socat's default is 5): npm
# opens 15 tunnels at once, and a SYN beyond the queue waits for its retransmit (1 s, then 3 s,
# 7 s...), so a parallel install crawled.
BRIDGE_BACKLOG = 256
# When the agent phase's proxy intercepts TLS, its per-attempt CA certificate (public part only)
# is installed here and added to the system bundle; tools are pointed at them.
EGRESS_CA_CERT = "/usr/local/share/ca-certificates/codexweb-egress-ca.crt"
SYSTEM_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
# The installation's extra CAs (SANDBOX_EXTRA_CA_FILE, one file per certificate) go next to it
# from the container's start, for setup and agent alike. Every CA codexweb added is also
# gathered in one file for Node, and, when the image has a JDK, in a Java trust store.
EXTRA_CA_PREFIX = "/usr/local/share/ca-certificates/codexweb-extra-ca-"
CODEXWEB_CAS = "/usr/local/share/codexweb/cas.pem"
JAVA_TRUSTSTORE = "/usr/local/share/codexweb/java-truststore.p12"
# The JDK's own default; the store holds public certificates only.
JAVA_TRUSTSTORE_PASSWORD = "changeit"  # noqa: S105

# The users baked into the image (sandbox/provision.sh).
SETUP_USER = "sandbox"  # owns /workspace; runs the setup script and Code tasks
SANDBOX_UID = 1000  # SETUP_USER's uid and gid in the image
READER_USER = "reader"  # runs Ask tasks: can read /workspace, cannot write it
HOMES = {SETUP_USER: "/home/sandbox", READER_USER: "/home/reader"}

# Where a user's own installs land: `pip install --user`, `go install`, `cargo install`, and
# `npm install -g` (the image sets npm's prefix to ~/.npm-global). They are the setup user's
# folders for both users: setup installs the tools, and Ask tasks (as `reader`) run them too.
# The images' PATH (sandbox/provision.sh, scripts/sandbox-image.sh, sandbox/Dockerfile) matches.
USER_TOOL_DIRS = tuple(
    f"{HOMES[SETUP_USER]}/{d}" for d in (".local/bin", "go/bin", ".cargo/bin", ".npm-global/bin")
)
SYSTEM_PATH = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")
# An environment's "PATH prefix": absolute folders of plain characters, prepended to PATH.
MAX_PATH_PREFIX = 20
_PATH_DIR = re.compile(r"^/[A-Za-z0-9._+@/-]{0,254}$")


def agent_user(spec: SandboxSpec) -> str:
    return READER_USER if spec.read_only else SETUP_USER


def owner_token() -> str:
    """Identify this worker process so the reaper can tell whether it still lives."""
    return f"{socket.gethostname()}:{_pid()}:{process_start_time(_pid())}"


def _pid() -> int:
    import os

    return os.getpid()


def process_start_time(pid: int) -> str:
    """The kernel's start time of `pid` (clock ticks since boot), "" when unknown.
    Together with the pid it names one process even after pids are reused."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return ""
    # Field 22; the command name (field 2) may contain spaces, so split after its ')'.
    return stat.rsplit(")", 1)[1].split()[19]


def labels_for(spec: SandboxSpec, *, now: float | None = None) -> dict[str, str]:
    now = time.time() if now is None else now
    labels = {str(k): str(v) for k, v in spec.labels.items()}
    labels.update(
        {
            LABEL_SANDBOX: "1",
            LABEL_FOR: spec.owner.label,
            LABEL_OWNER: owner_token(),
            LABEL_DEADLINE: str(int(now + spec.wall_seconds)),
        }
    )
    if spec.owner.kind == "attempt":
        labels[LABEL_ATTEMPT] = str(spec.owner.id)
    return labels


def container_name(spec: SandboxSpec, suffix: str) -> str:
    """e.g. `codexweb-attempt-42-1a2b3c4d`, `codexweb-setup-run-7-1a2b3c4d`."""
    return f"codexweb-{spec.owner.slug}-{suffix}"


def runtime_folder_name(spec: SandboxSpec, suffix: str) -> str:
    """The host-side runtime folder (egress proxy, owner file) of one sandbox; the reaper
    finds them by these prefixes (`RUNTIME_FOLDER_GLOBS`)."""
    return f"{spec.owner.slug}-{suffix}"


# A worker's setup-phase egress proxy started ahead (egress/spare.py), in a folder of its own.
SPARE_PROXY_PREFIX = "spare-proxy-"
RUNTIME_FOLDER_GLOBS = ("attempt-*", "setup-run-*", "verification-*", f"{SPARE_PROXY_PREFIX}*")


@dataclass(frozen=True)
class ContainerPlan:
    """What `docker.APIClient.create_container` receives, split for readability and tests."""

    image: str
    name: str
    labels: dict[str, str]
    environment: dict[str, str]
    host_config: dict[str, object]  # keyword arguments for APIClient.create_host_config


def container_plan(
    spec: SandboxSpec,
    *,
    image: str,
    name: str,
    egress_dir: Path | None,
    disk_quota: bool,
    workspace_volume: bool = False,
    helper_binary: str = "",
    now: float | None = None,
) -> ContainerPlan:
    """The container for `spec`: no network interface but loopback, every capability dropped,
    no-new-privileges, CPU/memory (no swap)/pids limits, the disk limit as a storage quota when
    the engine supports it (`disk_quota`), a per-file size limit always, with
    `workspace_volume` /workspace on an anonymous volume of its own (`workspace_mount`), and —
    when egress is allowed in some phase — the host proxy's socket folder mounted read-only,
    and with `helper_binary` (a host path) the resident helper at HELPER_PATH, read-only."""
    if spec.cpus <= 0 or spec.memory_mb < 64 or spec.pids < 16 or spec.disk_mb < 64:
        raise SandboxError("sandbox limits are too small: cpus > 0, memory >= 64 MB, pids >= 16")
    memory = spec.memory_mb * 1024 * 1024
    file_size = spec.disk_mb * 1024 * 1024
    host_config: dict[str, object] = {
        "network_mode": "none",
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges:true"],
        "init": True,
        "nano_cpus": int(spec.cpus * 1e9),
        "mem_limit": memory,
        "memswap_limit": memory,  # no swap: a hog hits the limit instead of thrashing
        "pids_limit": spec.pids,
        "shm_size": 64 * 1024 * 1024,
        "ulimits": [
            {"Name": "fsize", "Soft": file_size, "Hard": file_size},
            {"Name": "core", "Soft": 0, "Hard": 0},
        ],
        "ipc_mode": "private",
        "auto_remove": False,
        "restart_policy": {"Name": "no"},
    }
    if disk_quota:
        host_config["storage_opt"] = {"size": f"{spec.disk_mb}M"}
    if workspace_volume:
        host_config["mounts"] = [workspace_mount(spec)]
    binds: dict[str, dict[str, str]] = {}
    if egress_dir is not None:
        binds[str(egress_dir)] = {"bind": EGRESS_MOUNT, "mode": "ro"}
    if helper_binary:
        binds[helper_binary] = {"bind": HELPER_PATH, "mode": "ro"}
    if binds:
        host_config["binds"] = binds
    return ContainerPlan(
        image=image,
        name=name,
        labels=labels_for(spec, now=now),
        environment=base_environment(spec),
        host_config=host_config,
    )


def workspace_mount(spec: SandboxSpec) -> dict[str, object]:
    """/workspace on an anonymous volume (the Engine API's `Mount`): file I/O without overlayfs.
    Anonymous, so removing the container with its volumes (`v=True`: `stop()`, the reaper)
    removes it; labelled as a sandbox's, so the reaper finds one a crash left (`reap_volumes`),
    and with nothing of the attempt (the plan's host settings are the same for every attempt:
    the container pool keys on them). Docker fills a new volume with the image's /workspace,
    owner and mode included (`sandbox`, 0755): empty in the base image and in warm images, since
    a commit never holds a volume. Host-side, nothing follows what is written there: only the
    engine, as it does for the writable layer."""
    del spec  # the same volume for every sandbox
    labels = {LABEL_SANDBOX: "1"}
    return {
        "Target": WORKSPACE,
        "Source": "",
        "Type": "volume",
        "ReadOnly": False,
        "VolumeOptions": {"NoCopy": False, "Labels": labels},
    }


def base_environment(spec: SandboxSpec) -> dict[str, str]:
    """The container's own environment: fixed values only. Every process inherits it, root's
    helpers too, so nothing a repository chose belongs here (a variable `LD_PRELOAD` or
    `BASH_ENV` pointing into /workspace would run the user's code as root); the repository's
    variables go to the users' commands (`exec_environment`). `spec` is checked here so a bad
    variable name fails before the container is made."""
    for key in spec.variables:
        check_env_name(key)
    return {
        "LANG": "C.UTF-8",
        "TERM": "dumb",
        "PAGER": "cat",
        "GIT_PAGER": "cat",
        "GIT_TERMINAL_PROMPT": "0",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }


def check_path_prefix(folders: Iterable[str]) -> tuple[str, ...]:
    """The folders of an environment's PATH prefix, checked: each absolute, without `..` or `.`
    parts, made of letters, digits and `._+@-/` only (so no `:` can add a relative or empty
    entry, and no shell or newline character gets in). Raises SandboxError naming the folder."""
    checked: list[str] = []
    for folder in folders:
        shown = repr(folder)
        if not folder.startswith("/"):
            raise SandboxError(f"PATH prefix {shown} must be an absolute folder (start with /).")
        if ":" in folder:
            raise SandboxError(f"PATH prefix {shown} contains ':'; write one folder per line.")
        if not _PATH_DIR.match(folder):
            raise SandboxError(
                f"PATH prefix {shown} may only hold letters, digits and . _ + @ - / "
                "(no spaces or shell characters), 255 characters at most."
            )
        parts = folder.split("/")
        if any(p in ("..", ".") for p in parts):
            raise SandboxError(f"PATH prefix {shown} may not contain '.' or '..' parts.")
        normal = "/" + "/".join(p for p in parts if p)
        if normal not in checked:
            checked.append(normal)
    if len(checked) > MAX_PATH_PREFIX:
        raise SandboxError(f"A PATH prefix may hold {MAX_PATH_PREFIX} folders at most.")
    return tuple(checked)


def sandbox_path(prefix: Sequence[str] = ()) -> str:
    """PATH for every command: the environment's prefix, the user's tool folders, the system."""
    return ":".join((*check_path_prefix(prefix), *USER_TOOL_DIRS, *SYSTEM_PATH))


def exec_environment(
    *,
    user: str,
    policy: NetworkPolicy,
    variables: Mapping[str, str] | None = None,
    extra: Mapping[str, str] | None = None,
    egress_ca: bool = False,
    extra_ca: bool = False,
    java_options: str = "",
    path_prefix: Sequence[str] = (),
) -> dict[str, str]:
    """Per-command environment of a user's command: the repository's `variables`, the user's
    home, PATH (`sandbox_path`), the proxy variables when the current phase allows egress, the CA
    variables when a CA was added to the system bundle — the proxy's when it intercepts TLS
    (`egress_ca`), the installation's extra CA in every phase (`extra_ca`) — so tools with their
    own stores use the bundle too, `java_options` as JAVA_TOOL_OPTIONS (see `java_tool_options`),
    and `extra` (the setup phase's secrets, for that one command only). The sandbox's own values
    win over a variable of the same name."""
    env = {}
    for key, value in (variables or {}).items():
        check_env_name(key)
        env[key] = str(value)
    home = HOMES[user]
    env.update(
        {
            "HOME": home,
            "USER": user,
            "LOGNAME": user,
            "PATH": sandbox_path(path_prefix),
            # Python's user site is the setup user's, so `reader` imports what setup installed
            # with `pip install --user` (it can read it, not change it).
            "PYTHONUSERBASE": f"{HOMES[SETUP_USER]}/.local",
        }
    )
    if policy.mode != "off":
        proxy = f"http://127.0.0.1:{PROXY_PORT}"
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
            env[name] = proxy
        env["NO_PROXY"] = env["no_proxy"] = "localhost,127.0.0.1,::1"
        env["npm_config_proxy"] = env["npm_config_https_proxy"] = proxy
    if extra_ca or (egress_ca and policy.mode != "off"):
        for name in CA_BUNDLE_VARIABLES:
            env[name] = SYSTEM_CA_BUNDLE
        env["NODE_EXTRA_CA_CERTS"] = CODEXWEB_CAS  # Node adds these to its own roots
    if java_options:
        env["JAVA_TOOL_OPTIONS"] = java_options
    for key, value in (extra or {}).items():
        check_env_name(key)
        env[key] = str(value)
    return env


# Variables naming a CA bundle that replaces a tool's own store; pointed at the system bundle,
# which holds the public roots plus the CAs codexweb added.
CA_BUNDLE_VARIABLES = (
    "SSL_CERT_FILE",  # OpenSSL, Python's ssl
    "REQUESTS_CA_BUNDLE",  # requests (pip's vendored copy too)
    "PIP_CERT",
    "GIT_SSL_CAINFO",
    "CURL_CA_BUNDLE",
    "npm_config_cafile",
)


def java_tool_options(variables: Mapping[str, str]) -> str:
    """JAVA_TOOL_OPTIONS pointing the JVM at the codexweb trust store (the JDK's roots plus
    codexweb's CAs), after whatever the repository's own variables set."""
    own = str(variables.get("JAVA_TOOL_OPTIONS", "")).strip()
    store = (
        f"-Djavax.net.ssl.trustStore={JAVA_TRUSTSTORE} -Djavax.net.ssl.trustStoreType=PKCS12 "
        f"-Djavax.net.ssl.trustStorePassword={JAVA_TRUSTSTORE_PASSWORD}"
    )
    return f"{own} {store}".strip()


def check_env_name(name: str) -> None:
    if (
        not name
        or not (name[0].isalpha() or name[0] == "_")
        or not all(c.isalnum() or c == "_" for c in name)
    ):
        raise SandboxError(f"{name!r} is not a valid environment variable name")


def workspace_path(path: str) -> str:
    """The absolute in-container path for `path`, relative to /workspace.

    Raises SandboxError for absolute paths, '..' components and empty names; symlinks are
    checked inside the container, where they live."""
    if not path or path.startswith("/") or "\x00" in path:
        raise SandboxError(f"{path!r} must be a relative path inside the workspace")
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if not parts or any(p == ".." for p in parts):
        raise SandboxError(f"{path!r} must be a relative path inside the workspace, without '..'")
    return posixpath.join(WORKSPACE, *parts)
