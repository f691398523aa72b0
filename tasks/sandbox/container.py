"""Short internal operations on one running sandbox container, and engine-level helpers.

`ContainerShell` runs the sandbox's own housekeeping inside the container (killing processes,
path checks, the egress bridge, secret scans, cgroup counters) and copies files in. The
untrusted commands themselves go through `streaming.StreamedExec`.
"""

from __future__ import annotations

import io
import logging
import posixpath
import shlex
import socket
import tarfile
import time
from collections.abc import Mapping
from typing import IO, Any

import docker
import requests
from docker.errors import APIError, DockerException, NotFound
from docker.utils.socket import consume_socket_output, demux_adaptor, frames_iter

from tasks.sandbox import exit_status, file_tool
from tasks.sandbox.base import SandboxError
from tasks.sandbox.spec import (
    BRIDGE_BACKLOG,
    CODEXWEB_CAS,
    EGRESS_CA_CERT,
    EGRESS_MOUNT,
    EGRESS_SOCKET,
    JAVA_TRUSTSTORE,
    JAVA_TRUSTSTORE_PASSWORD,
    PROXY_PORT,
    SANDBOX_UID,
    SETUP_USER,
    SYSTEM_CA_BUNDLE,
    WORKSPACE,
)
from tasks.sandbox.watch import DiskUse

logger = logging.getLogger(__name__)

# Run as root: $1 a glob of CA files to remove first ("" none), $2 the CA files just written
# (kept even when they match $1), $3 "1" = stop unless $1 removed something. Prints
# "java-store" when the Java trust store exists afterwards.
# Each JVM start (keytool, Debian's `jks-keystore` hook of update-ca-certificates) costs seconds:
# - nothing is redone when the container trusts exactly these CAs already (a warm image whose
#   setup trusted them: the gathered CODEXWEB_CAS is the same, and so is the Java store);
# - with a JDK, Debian's hook rewriting the JDK's own store is skipped: Java uses codexweb's
#   store (JAVA_TOOL_OPTIONS), made from the JDK's roots plus these CAs.
# Where trust_cas puts a Java store made before (java_trust_cache.py) for TRUST_SCRIPT to take.
GIVEN_JAVA_STORE = "/usr/local/share/ca-certificates/.codexweb-java-store.given"
TRUST_SCRIPT = rf"""
set -euo pipefail
shopt -s nullglob
given=${{4:-}}
if [ -n "$given" ]; then trap 'rm -f -- "$given"' EXIT; fi
removed=0
if [ -n "$1" ]; then
  for f in $1; do
    case " $2 " in *" $f "*) ;; *) rm -f -- "$f"; removed=1 ;; esac
  done
fi
if [ "$3" = 1 ] && [ "$removed" = 0 ]; then exit 0; fi
cas=(/usr/local/share/ca-certificates/codexweb-*.crt)
java=0
if command -v keytool >/dev/null 2>&1; then java=1; fi
if [ "$removed" = 0 ] && [ -f {CODEXWEB_CAS} ] \
    && cat /dev/null "${{cas[@]}}" | cmp -s - {CODEXWEB_CAS}; then
  if [ "$java" = 1 ] && [ -f {JAVA_TRUSTSTORE} ]; then echo java-store; exit 0; fi
  if [ "$java" = 0 ] && [ ! -e {JAVA_TRUSTSTORE} ]; then exit 0; fi
fi
# The first trust in a container: the CAs are added to the bundle and linked by hash directly
# (~0.05 s) instead of `update-ca-certificates` rebuilding the bundle and re-hashing every
# root (~1.8 s: each cold start with egress paid it). Anything else (a CA replaced or removed,
# openssl missing, another hook that wants to run) takes the full rebuild.
add_directly() {{
  command -v openssl >/dev/null 2>&1 || return 1
  local bundle=/etc/ssl/certs/ca-certificates.crt f h i name
  [ -f "$bundle" ] && [ -w "$bundle" ] && [ ! -e {CODEXWEB_CAS} ] || return 1
  for h in /etc/ca-certificates/update.d/*; do [ "${{h##*/}}" = jks-keystore ] || return 1; done
  for f in "${{cas[@]}}"; do
    [ ! -e "/etc/ssl/certs/$(basename "$f" .crt).pem" ] || return 1
  done
  for f in "${{cas[@]}}"; do
    name=$(basename "$f" .crt)
    h=$(openssl x509 -subject_hash -noout -in "$f") || return 1
    i=0
    while [ -e "/etc/ssl/certs/$h.$i" ]; do i=$((i+1)); done
    ln -s "$f" "/etc/ssl/certs/$name.pem" || return 1
    ln -s "$name.pem" "/etc/ssl/certs/$h.$i" || return 1
    cat "$f" >> "$bundle" || return 1
  done
}}
if [ "$removed" = 0 ] && add_directly; then
  :
elif [ "$java" = 1 ] && grep -q -- --hooksdir "$(command -v update-ca-certificates)"; then
  hooks=$(mktemp -d)
  for h in /etc/ca-certificates/update.d/*; do
    [ "${{h##*/}}" = jks-keystore ] || ln -s "$h" "$hooks/"
  done
  update-ca-certificates --hooksdir "$hooks" >/dev/null
  rm -rf -- "$hooks"
else
  update-ca-certificates >/dev/null
fi
mkdir -p {posixpath.dirname(CODEXWEB_CAS)}
rm -f {JAVA_TRUSTSTORE}
cat /dev/null "${{cas[@]}}" > {CODEXWEB_CAS}.new
chmod 644 {CODEXWEB_CAS}.new
# A JDK: its own roots plus codexweb's CAs. Without a readable JDK store, no Java store at all
# (one holding only codexweb's CAs would make Java distrust every public server).
if [ "$java" = 1 ] && [ -n "$given" ] && [ -f "$given" ]; then
  mv -f -- "$given" {JAVA_TRUSTSTORE}.new
  chmod 644 {JAVA_TRUSTSTORE}.new
  mv -f {JAVA_TRUSTSTORE}.new {JAVA_TRUSTSTORE}
  echo java-store
elif [ "$java" = 1 ]; then
  jdk=$(dirname "$(dirname "$(readlink -f "$(command -v keytool)")")")
  if keytool -importkeystore -noprompt -srckeystore "$jdk/lib/security/cacerts" \
      -srcstorepass {JAVA_TRUSTSTORE_PASSWORD} -destkeystore {JAVA_TRUSTSTORE}.new \
      -deststoretype PKCS12 -deststorepass {JAVA_TRUSTSTORE_PASSWORD} >/dev/null 2>&1; then
    for f in "${{cas[@]}}"; do
      keytool -importcert -noprompt -alias "$(basename "$f" .crt)" -file "$f" \
        -keystore {JAVA_TRUSTSTORE}.new -storetype PKCS12 \
        -storepass {JAVA_TRUSTSTORE_PASSWORD} >/dev/null
    done
    chmod 644 {JAVA_TRUSTSTORE}.new
    mv -f {JAVA_TRUSTSTORE}.new {JAVA_TRUSTSTORE}
    echo java-store
  else
    rm -f {JAVA_TRUSTSTORE}.new
  fi
fi
# Last: only a step that went through whole is taken as done by the check above.
mv -f {CODEXWEB_CAS}.new {CODEXWEB_CAS}
"""
# Empties /workspace (chmod only when a plain delete fails), checks it is empty, unpacks stdin.
# Emptiness is a bash glob (no `ls`), and an empty workspace (a fresh volume: every start but one
# from a warm image made before the workspace had its own volume) starts no `find`: under load
# each process started in the container costs.
EMPTY_WORKSPACE = (
    "shopt -s nullglob dotglob; "
    f"empty() {{ local found=({WORKSPACE}/*); [ ${{#found[@]}} -eq 0 ]; }}; "
    f"empty || find {WORKSPACE} -mindepth 1 -delete 2>/dev/null || "
    f"{{ chmod -R u+rwX {WORKSPACE} 2>/dev/null; find {WORKSPACE} -mindepth 1 -delete; }}; "
    'if ! empty; then echo "the workspace could not be emptied" >&2; exit 3; fi'
)
REPLACE_WORKSPACE = f"{EMPTY_WORKSPACE}; tar -x -p -f - -C {WORKSPACE}; {exit_status.BASH_TRAILER}"


def replace_workspace_then(size: int, program: str) -> str:
    """REPLACE_WORKSPACE that unpacks exactly the first `size` bytes of standard input (`head`
    reads no further), then runs `program` in the shell's place with the rest of standard
    input and the environment the exec had (without the variables bash adds): the checkout and
    the resident helper in one exec (helper.py). Exits 3 or 4 with a reason on stderr when the
    workspace cannot be emptied or unpacked."""
    return (
        f"set -o pipefail; {EMPTY_WORKSPACE}; "
        f"head -c {int(size)} | tar -x -p -f - -C {WORKSPACE} || exit 4; "
        f"exec env -u SHLVL -u _ -u PWD {shlex.quote(program)}"
    )


# Run as the user whose processes must end (one exec instead of a kill, a root `pgrep` and the
# IPC clean-up): SIGKILL every process the user may signal (the kernel spares the caller), then
# exit 1 if any is left. The listing's pipeline members are this shell's own children, so only
# the shell and them are left out; a survivor, whatever forked it, is not a child of this shell.
KILL_ALL = (
    "kill -KILL -1 2>/dev/null; "
    'ps -u "$UID" -o pid=,ppid= | '
    "awk -v me=$$ '$1 != me && $2 != me { left = 1 } END { exit left }' || exit 1"
)
# Run as root: the egress bridge (socat, its output on /dev/null so the exec can end while it
# runs), then up to 10 s (200 tries) for it to accept a connection: one exec, not one per try.
START_BRIDGE = (
    f"socat TCP-LISTEN:{PROXY_PORT},bind=127.0.0.1,reuseaddr,fork,backlog={BRIDGE_BACKLOG} "
    f"UNIX-CONNECT:{EGRESS_MOUNT}/{EGRESS_SOCKET} </dev/null >/dev/null 2>&1 & "
    "for _ in $(seq 200); do "
    f"{{ : 3<>/dev/tcp/127.0.0.1/{PROXY_PORT}; }} 2>/dev/null && exit 0; sleep 0.05; "
    "done; exit 1"
)
CLEAR_IPC = "ipcrm --all 2>/dev/null; find /dev/mqueue -mindepth 1 -delete 2>/dev/null"


# The workspace's measurement (disk_use): root's execute-only copy of `du` in a folder only root
# may write (the command users cannot write /run). Made by the container's PID 1 as it starts
# (PID1_COMMAND: no exec of its own); a container without it (one made before, or a failed
# install) gets it from a root exec on the first measurement.
MEASURE_DU = "/run/codexweb/du"
INSTALL_MEASURE_DU = (
    'mkdir -p /run/codexweb && install -m 0111 "$(command -v du)" /run/codexweb/du.new'
    " && mv -f /run/codexweb/du.new /run/codexweb/du"
)
# What the container runs (under tini, as root without capabilities): the measurement's copy,
# from `/` with the container's fixed environment, then nothing but a sleep.
PID1_COMMAND = ["sh", "-c", f"cd / && {{ {INSTALL_MEASURE_DU}; }} 2>/dev/null; exec sleep infinity"]


def _split_workspace(target: str) -> tuple[str, str]:
    if not target.startswith(WORKSPACE + "/"):
        raise SandboxError(f"{target} is not inside {WORKSPACE}")
    return WORKSPACE, target[len(WORKSPACE) + 1 :]


def _file_tool_check(code: int, err: bytes, target: str) -> None:
    if code == file_tool.SYMLINK_EXIT:
        raise SandboxError(f"{target} goes through a symbolic link; refusing")
    if code == file_tool.NOT_A_FILE_EXIT:
        raise SandboxError(f"{target} is not a regular file")
    if code != 0:
        raise SandboxError(f"cannot use {target}: {err.decode(errors='replace').strip()}")


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
        self._measure_installed = False  # disk_use installed MEASURE_DU itself

    def run(
        self, cmd: list[str], *, user: str, environment: dict[str, str] | None = None
    ) -> tuple[int, bytes, bytes]:
        """A short internal command; (exit code, stdout, stderr). -1 when Docker refused.

        It starts in `/`, not in a folder the command users can write, and with the container's
        own environment, which holds nothing a repository chose (its variables are given to the
        users' commands only), so a root helper never loads code a user planted (LD_PRELOAD,
        BASH_ENV, a `sitecustomize.py` in the current folder)."""
        try:
            # Two engine calls (create, start with the output), a third (inspect for the exit
            # code) when the command printed no exit_status trailer: not
            # `containers.get(...).exec_run`, which inspects the container first.
            exec_id = self.api.exec_create(
                self.container_id,
                cmd,
                user=user,
                environment=environment or {},
                stdin=False,
                workdir="/",
            )["Id"]
            output = self.api.exec_start(exec_id, demux=True)
            out, err = output if isinstance(output, tuple) else (output, b"")
            return self._ended(exec_id, out or b"", err or b"")
        except (DockerException, requests.exceptions.RequestException) as exc:
            return -1, b"", str(exc).encode()

    def run_with_input(
        self, cmd: list[str], *, user: str, data: bytes | IO[bytes]
    ) -> tuple[int, bytes, bytes]:
        """Like `run`, with `data` (bytes, or a binary file read to its end) as the command's
        standard input (closed after it)."""
        try:
            exec_id = self.api.exec_create(
                self.container_id, cmd, stdin=True, user=user, workdir="/"
            )["Id"]
            sock = self.api.exec_start(exec_id, socket=True)
        except (APIError, NotFound) as exc:
            return -1, b"", str(exc).encode()
        raw = getattr(sock, "_sock", sock)
        try:
            if isinstance(data, bytes):
                raw.sendall(data)
            else:
                while block := data.read(1 << 20):
                    raw.sendall(block)
            raw.shutdown(socket.SHUT_WR)
            frames = (demux_adaptor(*frame) for frame in frames_iter(sock, tty=False))
            out, err = consume_socket_output(frames, demux=True)
        except OSError as exc:
            return -1, b"", str(exc).encode()
        finally:
            sock.close()
        try:
            return self._ended(exec_id, out or b"", err or b"")
        except (DockerException, requests.exceptions.RequestException) as exc:
            return -1, out or b"", str(exc).encode()

    def _ended(self, exec_id: str, out: bytes, err: bytes) -> tuple[int, bytes, bytes]:
        """(exit code, stdout, stderr) of an exec whose output has ended: from the command's
        own trailer (exit_status.py) when it printed one, else from the engine. The engine
        records the code just after the output ends (under load, a few hundred ms later), so
        it is asked with a growing pause, ≈ 7 s in all; until then it says Running and no code,
        which must not read as success."""
        code, err = exit_status.split(err)
        if code is not None:
            return code, out, err
        pause = 0.02
        for _ in range(12):
            info = self.api.exec_inspect(exec_id)
            if not info.get("Running") and info.get("ExitCode") is not None:
                return int(info["ExitCode"]), out, err
            time.sleep(pause)
            pause = min(pause * 2, 1.0)
        return -1, out, err + b"the command did not end"

    def image_id(self) -> str:
        """The id of the image the container runs ("" when the engine does not say)."""
        try:
            return str(self.api.inspect_container(self.container_id).get("Image") or "")
        except APIError:
            return ""

    def put_archive(self, path: str, data: Any, *, what: str) -> None:
        try:
            self.api.put_archive(self.container_id, path, data)
        except APIError as exc:
            raise SandboxError(f"cannot {what}: {exc.explanation or exc}") from exc

    # -- processes -------------------------------------------------------------------------------

    def kill_command(self, *, pid_file: str, user: str, elapsed: int, spare: int = 0) -> None:
        """Kill a command's process group (read from `pid_file`; "" when it is killed already),
        then every process of `user` that started within the last `elapsed` seconds (a `setsid`
        or daemonized child leaves the group) but `spare` (the resident helper). Processes the
        user started with earlier commands (a dev server, say) are left alone."""
        group = f'p=$(cat {pid_file} 2>/dev/null) && kill -KILL -- "-$p"; ' if pid_file else ""
        script = (
            group + 'list=$(ps -u "$(id -u)" -o pid=,etimes=); '
            "while read -r pid age; do "
            f'[ "$pid" != "$$" ] && [ "$pid" != "{int(spare)}" ] && [ "$age" -le {elapsed} ] '
            '&& kill -KILL "$pid" 2>/dev/null; '
            'done <<< "$list"; true'
        )
        self.run(["bash", "-c", script], user=user)

    def kill_user_processes(self, user: str, *, clear_ipc: bool = False) -> bool:
        """SIGKILL every process of `user` (retried: a fork bomb may leave no room for the
        killing command at first). True when none is left. `clear_ipc`: then, with none left,
        remove the user's IPC objects too (`clear_ipc`), in the same exec."""
        script = KILL_ALL + (f"; {CLEAR_IPC}" if clear_ipc else "") + "; echo none-left"
        for _ in range(20):
            code, out, _ = self.run(["bash", "-c", script], user=user)
            if code == 0 and out.strip() == b"none-left":
                return True
            time.sleep(0.25)
        logger.warning("processes of %s survived in sandbox %s", user, self.container_id)
        return False

    # -- the egress bridge ----------------------------------------------------------------------

    def start_bridge(self, *, read_trust: bool = False) -> bytes:
        """socat from 127.0.0.1:PROXY_PORT to the host proxy's socket, as root (without
        capabilities) so the command user cannot kill it. One exec starts it (detached from
        the exec's output, so it outlives the exec) and waits, bounded, until it accepts.
        `read_trust`: the same exec first prints the container's CA bundle, returned (b"" when
        unreadable) for the setup proxy's TLS probe; no user process runs yet to use the bridge
        before the proxy has it."""
        script = (f"cat {SYSTEM_CA_BUNDLE} 2>/dev/null; " if read_trust else "") + START_BRIDGE
        code, out, err = self.run(["bash", "-c", script], user="root")
        if code != 0:
            detail = err.decode(errors="replace").strip()[-200:]
            raise SandboxError(
                "the in-sandbox bridge to the egress proxy did not start"
                + (f": {detail}" if detail else "")
            )
        return out if b"BEGIN CERTIFICATE" in out else b""

    def trust_ca(self, pem: bytes) -> bool:
        """Trust the egress proxy's CA (public PEM) at EGRESS_CA_CERT; see `trust_cas`."""
        return self.trust_cas({EGRESS_CA_CERT: pem}, what="the egress proxy's CA")

    def trust_cas(
        self,
        certs: Mapping[str, bytes],
        *,
        what: str,
        replace: str = "",
        java_store: bytes | None = None,
    ) -> bool:
        """Add CA certificates (path -> public PEM, one certificate each) to the container's
        trust, as root (who owns the stores; no capability needed), so the command users can
        read them, not change them: first files matching the glob `replace` go (a CA the
        installation no longer sets must not live on in a warm image), then `certs` are written
        root-owned, the system bundle is rebuilt (`update-ca-certificates`), every codexweb CA
        is gathered in CODEXWEB_CAS (for Node) and, when the image has `keytool`, in a Java
        trust store (the JDK's roots plus them; `java_store`: that store as made before for
        this image and these CAs, used instead of making it again). True when the container
        has the Java store."""
        for path, pem in certs.items():
            folder, name = posixpath.split(path)
            # Each file ends with a newline: CODEXWEB_CAS is their concatenation, and Node
            # refuses a bundle where one END line runs into the next BEGIN.
            data = pem if pem.endswith(b"\n") else pem + b"\n"
            self.put_archive(
                folder, file_archive(name, data, 0o644, root=True), what=f"install {what}"
            )
        keep = " ".join(shlex.quote(path) for path in certs)
        given = ""
        if java_store:
            folder, name = posixpath.split(GIVEN_JAVA_STORE)
            self.put_archive(
                folder, file_archive(name, java_store, 0o600, root=True), what=f"install {what}"
            )
            given = GIVEN_JAVA_STORE
        code, out, err = self.run(
            ["bash", "-c", TRUST_SCRIPT, "trust", replace, keep, "", given],
            user="root",
        )
        if code != 0:
            detail = (err or out).decode(errors="replace").strip()
            raise SandboxError(f"cannot trust {what}: {detail[-1000:]}")
        return b"java-store" in out

    def stop_bridges(self) -> None:
        self.run(["pkill", "-KILL", "-u", "root", "-x", "socat"], user="root")

    # -- checks ---------------------------------------------------------------------------------

    def write_file(self, target: str, data: bytes, *, user: str) -> None:
        """Write `data` to `target` (under /workspace) as `user`; see file_tool."""
        root, relative = _split_workspace(target)
        code, _, err = self.run_with_input(
            file_tool.command("write", root, relative), user=user, data=data
        )
        _file_tool_check(code, err, target)

    def read_file(self, target: str, *, user: str, max_bytes: int) -> bytes:
        """Up to `max_bytes` + 1 bytes of `target` (under /workspace), read as `user`."""
        root, relative = _split_workspace(target)
        code, out, err = self.run(
            file_tool.command("read", root, relative, limit=max_bytes), user=user
        )
        _file_tool_check(code, err, target)
        return out

    def replace_workspace(self, archive: IO[bytes]) -> None:
        """Make /workspace exactly the tar `archive` (workspace_archive's), in one exec as its
        owner: empty it (a warm image's copy of an earlier checkout and what setup left in it;
        folders made read-only are made writable again only when deleting fails), then unpack
        the archive from standard input. As the owner, not as root through the engine: what is
        unpacked can only land where that user may write. No process of the command users runs
        yet, so nothing can swap a path while it is replaced."""
        code, _, err = self.run_with_input(
            ["bash", "-c", REPLACE_WORKSPACE], user=SETUP_USER, data=archive
        )
        if code != 0:
            detail = err.decode(errors="replace").strip()[-1000:]
            raise SandboxError(f"cannot copy the workspace in: {detail or f'exit {code}'}")

    def clear_ipc(self, user: str) -> None:
        """Remove `user`'s System V IPC objects and POSIX message queues: they outlive the
        processes that made them (setup could leave a secret in one)."""
        self.run(["bash", "-c", CLEAR_IPC + "; true"], user=user)

    def shm_archive(self, user: str) -> bytes:
        """A tar of /dev/shm's contents, packed by `user` (its only possible writer) after making
        its own files readable. SandboxError when something there cannot be read."""
        code, out, err = self.run(
            [
                "bash",
                "-c",
                "chmod -R u+rwX /dev/shm/. 2>/dev/null; tar -C /dev/shm -cf - --numeric-owner .",
            ],
            user=user,
        )
        if code != 0:
            raise SandboxError(
                "cannot check /dev/shm for left-over secrets: "
                + err.decode(errors="replace").strip()
            )
        return out

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

    def disk_use(self, *, workspace_volume: bool) -> DiskUse:
        """What the sandbox wrote: its writable layer as the engine measures it, plus, when the
        workspace is a volume of its own (which the layer's size leaves out), that volume as
        `du` sees it run by its owner `sandbox` (every file there is `sandbox`'s: Ask's `reader`
        cannot write it; root here has no capabilities, so it could read less). That `du` is an
        execute-only copy (MEASURE_DU): the kernel makes a process started from a file its user
        cannot read non-dumpable, so the command user, although the same user, cannot ptrace it
        to change its answer. A folder its owner made unreadable, or a `du` that was killed, is
        said in `hidden` (watch.py kills a command when that lasts)."""
        layer = self.disk_used_mb()
        if not workspace_volume:
            return DiskUse(layer)
        code, out, err = self.run([MEASURE_DU, "-skxP", WORKSPACE], user=SETUP_USER)
        if code in (126, 127) and not self._measure_installed:  # PID 1 did not make it
            self._measure_installed = True
            code, _, err = self.run(["sh", "-c", INSTALL_MEASURE_DU], user="root")
            if code != 0:
                return DiskUse(layer, f"cannot prepare the measurement ({err[-200:]!r})")
            code, out, err = self.run([MEASURE_DU, "-skxP", WORKSPACE], user=SETUP_USER)
        if code == -1:  # the engine refused: no figure, as for the layer
            return DiskUse(None)
        kb = out.split(maxsplit=1)[0] if out.strip() else b""
        problems = err.decode(errors="replace").splitlines()
        denied = [line for line in problems if "Permission denied" in line]
        hidden = ""
        if denied:
            path = denied[0].split("'", 2)[1] if denied[0].count("'") >= 2 else WORKSPACE
            hidden = f"its owner cannot read {path} (give it back: chmod u+rx {path})"
        elif not kb.isdigit():
            why = problems[-1][-200:] if problems else f"exit {code}"
            hidden = f"measuring {WORKSPACE} failed ({why})"
        if not kb.isdigit():
            return DiskUse(layer, hidden)
        # Without the layer's figure the workspace's alone still bounds what was written.
        return DiskUse((layer or 0) + int(kb) // 1024, hidden)

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
