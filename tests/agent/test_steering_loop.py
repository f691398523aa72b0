"""Mid-task steering in the loop (issue 14 item 1): a person's message reaches the model as a user
message at the next turn boundary, shows in the log where it arrived, and "stop after this step"
ends the attempt cleanly with its changes kept. The scripted model server records what it got."""

from __future__ import annotations

from tasks import event_kinds as kinds
from tasks.agent.steering import Steer
from tasks.sandbox.base import ExecResult
from tests.support.agent_run import make_spec, run
from tests.support.memory_sandbox import MemorySandbox
from tests.support.model_server import call, reply

PATCH = (
    "*** Begin Patch\n*** Update File: calc.py\n@@\n-    return a - b\n+    return a + b\n"
    "*** End Patch"
)


class Inbox:
    """What the worker's DB side does, in memory: messages sent meanwhile, each taken once."""

    def __init__(self) -> None:
        self.pending: list[Steer] = []
        self.asked = 0

    def send(self, steer: Steer) -> None:
        self.pending.append(steer)

    def __call__(self) -> list[Steer]:
        self.asked += 1
        taken, self.pending = self.pending, []
        return taken


def sandbox() -> MemorySandbox:
    return MemorySandbox(files={"calc.py": "def add(a, b):\n    return a - b\n"})


def test_a_message_sent_while_a_command_runs_reaches_the_next_request(model_server, api):
    inbox = Inbox()
    box = sandbox()

    def command(command, cwd):  # the person writes while the agent's command runs
        inbox.send(Steer("Also update the docs.", "bob"))
        return ExecResult(0, "1 passed\n", duration=0.1)

    box.on_command = command
    model_server.add(reply(call("shell", {"command": "pytest -q"})), reply("Done, docs too."))

    outcome = run(make_spec(model_server, api=api, mode="ask"), box, steering=inbox)

    assert outcome.result.outcome == "succeeded"
    first, second = model_server.requests
    assert not any("Also update the docs." in t for t in first.user_texts())
    last_user = second.user_texts()[-1]
    assert "Also update the docs." in last_user and "bob" in last_user
    assert model_server.problems == []  # the user message after tool output is valid on the wire
    # The log shows it where it arrived: after the command ended, before the final summary.
    assert outcome.of(kinds.STEER) == [{"text": "Also update the docs.", "by": "bob",
                                        "stop": False}]
    order = outcome.kinds
    assert order.index(kinds.COMMAND_END) < order.index(kinds.STEER) < order.index(kinds.SUMMARY)
    # It stays in the conversation a follow-up continues from.
    assert any("Also update the docs." in str(item.get("text", ""))
               for item in outcome.result.conversation)


def test_a_message_that_arrives_with_the_final_answer_lets_the_agent_go_on(model_server, api):
    inbox = Inbox()

    def answer_while_someone_writes(request):
        inbox.send(Steer("Mention the changelog as well.", "alice"))
        return reply("All done.")

    model_server.add(answer_while_someone_writes, reply("All done, changelog mentioned."))

    outcome = run(make_spec(model_server, api=api, mode="ask"), sandbox(), steering=inbox)

    assert outcome.result.outcome == "succeeded"
    assert outcome.result.final_message == "All done, changelog mentioned."
    assert "Mention the changelog as well." in model_server.requests[1].user_texts()[-1]
    assert outcome.of(kinds.MESSAGE) == [{"text": "All done."}]


def test_stop_after_this_step_keeps_the_patch_and_says_who_stopped_it(model_server, api):
    inbox = Inbox()

    def patch_while_someone_stops(request):
        inbox.send(Steer("", "bob", stop=True))
        return reply("Fixing.", call("apply_patch", {"patch": PATCH}))

    model_server.add(patch_while_someone_stops, reply("never asked for"))
    box = sandbox()

    outcome = run(make_spec(model_server, api=api), box, steering=inbox)

    result = outcome.result
    assert (result.outcome, result.stop_reason) == ("stopped", "stopped_by_person")
    assert len(model_server.requests) == 1  # the step finished, no further turn
    assert model_server.remaining == 1
    assert box.files["calc.py"] == "def add(a, b):\n    return a + b\n"
    assert result.committed and box.commits == 1  # the patch is kept
    assert "Stopped by bob after step 1" in result.final_message
    assert "kept in the patch" in result.final_message
    assert result.error == "Stopped after this step by bob."
    assert outcome.of(kinds.STEER) == [{"text": "", "by": "bob", "stop": True}]
    assert outcome.of(kinds.SUMMARY)[0]["text"] == result.final_message


def test_a_stop_with_a_message_gives_the_model_nothing_more(model_server):
    inbox = Inbox()
    inbox.send(Steer("Enough, thanks.", "bob", stop=True))
    model_server.add(reply("never asked for"))

    outcome = run(make_spec(model_server, mode="ask"), sandbox(), steering=inbox)

    assert outcome.result.outcome == "stopped"
    assert model_server.requests == []
    assert outcome.of(kinds.STEER)[0]["text"] == "Enough, thanks."


def test_without_messages_the_loop_asks_at_every_boundary_and_changes_nothing(model_server):
    inbox = Inbox()
    model_server.add(reply(call("shell", {"command": "ls"})), reply("Listed."))
    box = sandbox()
    box.on_command = lambda command, cwd: ExecResult(0, "calc.py\n", duration=0.1)

    outcome = run(make_spec(model_server, mode="ask"), box, steering=inbox)

    assert outcome.result.outcome == "succeeded"
    assert inbox.asked == 3  # before each request, and before accepting the final answer
    assert kinds.STEER not in outcome.kinds


def test_a_stop_that_comes_with_the_final_answer_keeps_the_answer(model_server):
    inbox = Inbox()

    def answer_while_someone_stops(request):
        inbox.send(Steer("Also do the docs.", "bob", stop=True))
        return reply("All done.")

    model_server.add(answer_while_someone_stops, reply("never asked for"))

    outcome = run(make_spec(model_server, mode="ask"), sandbox(), steering=inbox)

    assert outcome.result.outcome == "succeeded"  # it had finished: stopping changes nothing
    assert outcome.result.final_message == "All done."
    assert len(model_server.requests) == 1
