"""The agent package emits events through a callback, not `tasks.events.publish`: what it emits
must still meet the contract publish() checks (tasks/event_kinds.py), or the worker would fail
on the first broken event."""

from __future__ import annotations

from tasks import event_kinds as kinds
from tests.support.agent_run import make_spec, run
from tests.support.memory_sandbox import MemorySandbox
from tests.support.model_server import call, reply


def test_everything_the_agent_emits_meets_the_contract(model_server):
    """The agent package emits through a callback, not publish(): run it over the tools and
    check each event as publish() would."""
    model_server.add(
        reply(call("shell", {"command": "ls"})),
        reply(call("apply_patch", {"patch": "not a patch"})),
        reply(call("no_such_tool", {})),
        reply("Done: see `calc.py`."),
    )
    outcome = run(make_spec(model_server, mode="code"), MemorySandbox(files={"calc.py": "x\n"}))
    assert {kinds.COMMAND, kinds.COMMAND_END, kinds.PATCH, kinds.TOOL_ERROR} <= set(outcome.kinds)
    for kind, payload in outcome.events:
        kinds.check_payload(kind, payload)
