"""Where a load bench's CPU goes, read from /proc and the cgroup tree: the worker's and the web
server's process trees, the Docker engine (dockerd and its containerd), each sandbox
container's own processes (its cpuacct cgroup: the commands the agent ran, the execs) and its
containerd shim (with the `runc` calls it reaped), and the whole machine. Used by
bench/load.py; no Django, no Docker SDK."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
DOCKER_PIDFILE = Path("/var/run/docker.pid")
# cgroup v1 (cgroupfs driver), then v2 (cgroupfs, systemd): where a container's CPU is counted.
CONTAINER_CPU = (
    ("/sys/fs/cgroup/cpuacct/docker/{id}/cpuacct.usage", 1e-9),
    ("/sys/fs/cgroup/docker/{id}/cpu.stat", 1e-6),
    ("/sys/fs/cgroup/system.slice/docker-{id}.scope/cpu.stat", 1e-6),
)


@dataclass(frozen=True)
class Process:
    """One line of the process table: what a sample needs of /proc/PID/stat."""

    pid: int
    ppid: int
    comm: str  # the kernel's 15-character name
    cpu: float  # user + system seconds, reaped children included
    rss_mb: float


def process_table() -> dict[int, Process]:
    """Every process, from ONE read of each /proc/PID/stat: a sample's trees (worker, web,
    engine, database, shims) are all found in it, instead of a scan of /proc per tree (the
    sampler's own CPU, on the same two cores as the product, was most of the bench's)."""
    table: dict[int, Process] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                text = handle.read().decode(errors="replace")
        except OSError:
            continue
        head, _, rest = text.rpartition(")")
        fields = rest.split()
        try:
            table[int(entry.name)] = Process(
                pid=int(entry.name), ppid=int(fields[1]), comm=head.partition("(")[2],
                cpu=sum(int(x) for x in fields[11:15]) / TICK,
                rss_mb=int(fields[21]) * PAGE / 1e6)
        except (IndexError, ValueError):
            continue
    return table


def tree(table: dict[int, Process], root: int) -> list[Process]:
    """`root` and every process below it in `table` (empty when root is gone)."""
    children: dict[int, list[int]] = {}
    for process in table.values():
        children.setdefault(process.ppid, []).append(process.pid)
    found, todo = [], [root]
    while todo:
        current = todo.pop()
        if current in table:
            found.append(table[current])
        todo += children.get(current, [])
    return found


def _stat(pid: int) -> list[str]:
    """The fields of /proc/PID/stat after the command name (field 3 is index 0)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def cpu_and_rss(pids: list[int]) -> tuple[float, float]:
    """CPU seconds (user + system, children reaped included) and resident MB of `pids`."""
    cpu = rss = 0.0
    for pid in pids:
        try:
            fields = _stat(pid)
        except OSError:
            continue
        cpu += sum(int(x) for x in fields[11:15]) / TICK
        rss += int(fields[21]) * PAGE / 1e6
    return cpu, rss


def pss_mb(pids: list[int]) -> float:
    """Proportional set size of `pids` in MB: a page shared by n of them counts 1/n in each,
    so forked pool processes that share the preloaded code are not counted n times (their
    resident sizes are)."""
    total = 0.0
    for pid in pids:
        try:
            text = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        for line in text.splitlines():
            if line.startswith("Pss:"):
                total += int(line.split()[1]) / 1000
                break
    return total


def server_root(command: str, port: int) -> int | None:
    """The server named `command` (a process's comm) listening on `port`: the PostgreSQL
    postmaster (`-c port=N` in its command line) or a redis-server (`ADDRESS:N` in its title);
    its children are read from each sample's process table. None when none is found."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != command:
                continue
            words = (entry / "cmdline").read_bytes().decode(errors="replace").replace("\0", " ")
        except OSError:
            continue
        if any(w == f"port={port}" or w.endswith(f":{port}") for w in words.split()):
            return int(entry.name)
    return None


def self_cpu() -> float:
    """CPU seconds this process (every thread) used so far."""
    times = os.times()
    return times.user + times.system


def engine_root() -> int | None:
    """dockerd's pid (the one /var/run/docker.pid names), or None."""
    try:
        return int(DOCKER_PIDFILE.read_text().strip())
    except (OSError, ValueError):
        return None


def container_cpu(container_id: str) -> float | None:
    """CPU seconds the container's processes used so far (None: no cgroup found)."""
    for pattern, scale in CONTAINER_CPU:
        path = Path(pattern.format(id=container_id))
        try:
            text = path.read_text()
        except OSError:
            continue
        if path.name == "cpu.stat":
            usage = dict(line.split() for line in text.splitlines() if line.strip())
            return int(usage.get("usage_usec", 0)) * scale
        return int(text.strip()) * scale
    return None


def container_has_processes(container_id: str) -> bool:
    """Whether any process is still in the container's cgroup. Its shim reaps what ends in the
    container (the helper and its commands at the stop) into its own children's CPU, so a shim
    read after that counts the container's work twice: the sampler keeps only shim readings
    taken while the container still had processes."""
    for pattern in ("/sys/fs/cgroup/cpuacct/docker/{id}/cgroup.procs",
                    "/sys/fs/cgroup/docker/{id}/cgroup.procs",
                    "/sys/fs/cgroup/system.slice/docker-{id}.scope/cgroup.procs"):
        try:
            return bool(Path(pattern.format(id=container_id)).read_text().strip())
        except OSError:
            continue
    return False


def container_memory_peak(container_id: str) -> float | None:
    """The most memory (MB) the container's processes held at once so far (None: unknown)."""
    for pattern in ("/sys/fs/cgroup/memory/docker/{id}/memory.max_usage_in_bytes",
                    "/sys/fs/cgroup/docker/{id}/memory.peak",
                    "/sys/fs/cgroup/system.slice/docker-{id}.scope/memory.peak"):
        try:
            return int(Path(pattern.format(id=container_id)).read_text().strip()) / 1e6
        except (OSError, ValueError):
            continue
    return None


class Shims:
    """Each container's containerd shim found in a process table; a shim's command line (which
    container it serves) is read once per shim, not every sample."""

    def __init__(self) -> None:
        self.served: dict[int, str] = {}  # shim pid -> container id ("" for none of interest)

    def cpus(self, table: dict[int, Process]) -> dict[str, float]:
        """CPU seconds of the shim of each container, by container id."""
        found: dict[str, float] = {}
        for process in table.values():
            if not process.comm.startswith("containerd-shim"):
                continue
            if process.pid not in self.served:
                self.served[process.pid] = _shim_container(process.pid)
            if self.served[process.pid]:
                found[self.served[process.pid]] = process.cpu
        return found


def _shim_container(pid: int) -> str:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return ""
    for flag, value in zip(argv, argv[1:], strict=False):
        if flag == b"-id":
            return value.decode(errors="replace")
    return ""


def machine_busy() -> float:
    """CPU seconds the whole machine spent busy (every core; not idle, not waiting on I/O)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / TICK
