"""Escape probes from inside the sandbox, as the agent user, that found no hole (session 8):
pinned in one sandbox and one command, so a change that opens one of them fails here. Each line
the probe prints is `name=closed` or `name=OPEN: why`. (Holes found by probes have tests of
their own: tests/security/test_sandbox_disk_background.py, test_patch_bytes_cross_intact.py.)
"""

from __future__ import annotations

import pytest

from tasks.sandbox.base import NetworkPolicy
from tasks.sandbox.spec import HELPER_PATH

pytestmark = pytest.mark.docker

SOCKETS = "/var/run/docker.sock /run/docker.sock /run/containerd/containerd.sock"
PROBE = f"""
say() {{ if [ "$2" = 0 ]; then echo "$1=OPEN: $3"; else echo "$1=closed"; fi; }}
( echo x >> {HELPER_PATH} ) 2>/dev/null; say helper-append $? "appended to the helper"
cp /bin/true /tmp/fake 2>/dev/null && mv -f /tmp/fake {HELPER_PATH} 2>/dev/null
say helper-replace $? "replaced the helper binary"
ls /proc/1/root/ >/dev/null 2>&1; say pid1-root $? "read PID 1's root"
cat /proc/1/environ >/dev/null 2>&1; say pid1-environ $? "read PID 1's environment"
found=1; for s in {SOCKETS}; do [ -e "$s" ] && found=0; done
say engine-socket $found "an engine socket"
unshare -Ur true 2>/dev/null; say user-namespace $? "made a user namespace"
unshare -m true 2>/dev/null; say mount-namespace $? "made a mount namespace"
mount -t tmpfs none /tmp 2>/dev/null; say mount $? "mounted (setuid mount)"
su -c true root </dev/null 2>/dev/null; say setuid-su $? "became root with su"
grep -q '^NoNewPrivs:[[:space:]]*1' /proc/self/status; [ $? = 0 ] && n=1 || n=0
say no-new-privileges $n "setuid binaries can raise privileges"
( echo x > /etc/hosts ) 2>/dev/null; say etc-hosts $? "wrote the engine's hosts file"
found=1; for p in $(pgrep -u root socat); do kill -0 "$p" 2>/dev/null && found=0; done
say bridge-signal $found "signalled the root egress bridge"
[ -n "$(pgrep -u root socat)" ] && n=1 || n=0; say bridge-present $n "no bridge to probe"
"""


def test_the_agent_user_cannot_reach_out_of_the_sandbox(make_sandbox):
    sandbox = make_sandbox(agent_network=NetworkPolicy(mode="allowlist", domains=("x.test",)))
    probe = sandbox.exec(PROBE, timeout=60)
    lines = dict(line.split("=", 1) for line in probe.output.splitlines() if "=" in line)
    assert len(lines) == 13, probe.output  # every probe ran
    assert {name: why for name, why in lines.items() if why != "closed"} == {}, probe.output
