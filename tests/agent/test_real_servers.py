"""The model client and the loop against servers that behave like real ones, not like our polite
scripted default: OpenAI's reasoning models, Azure, vLLM, llama.cpp and Ollama each refuse,
cut, drop or reshape something. Each behaviour is a mode of the scripted server
(tests/support/model_server.py); each test failed before the client handled it."""

from __future__ import annotations

import json
import re
import time

import pytest

from tasks import event_kinds as kinds
from tasks.agent.config import Budgets, ModelConfig, RetryPolicy
from tasks.agent.conversation import TRIMMED, Message
from tasks.agent.loop import CUT_REPLY, UNUSABLE_CALLS_TOLERATED
from tasks.agent.model import ContextTooLong, ModelClient, ModelError
from tasks.agent.wire import ToolSpec
from tasks.sandbox.base import ExecResult
from tests.support.agent_run import make_spec, run
from tests.support.memory_sandbox import MemorySandbox
from tests.support.model_server import NO_ID, Reply, ScriptedModelServer, call, reply

ECHO = ToolSpec(
    "echo", "Echo the text.", {"type": "object", "properties": {"text": {"type": "string"}}}
)


def client(server, api="chat", *, effort="", timeout=10.0, retries=2):
    return ModelClient(ModelConfig(
        base_url=server.url, api_key="sk-test", model="m-1", api=api, reasoning_effort=effort,
        request_timeout=timeout, retry=RetryPolicy(max_retries=retries, base_delay=0.01,
                                                   max_delay=0.05)))


def ask(model, text="hi"):
    return model.complete(system="s", conversation=[Message("user", text)], tools=[ECHO])


def sandbox():
    box = MemorySandbox(files={"calc.py": "def add(a, b):\n    return a + b\n"})
    return box


# --- parameters a server refuses --------------------------------------------------------------


def test_a_refused_parallel_tool_calls_is_dropped_and_remembered(api):
    """OpenAI's reasoning models: "Unsupported parameter: 'parallel_tool_calls'" (param set)."""
    with ScriptedModelServer([reply("one"), reply("two")],
                             unsupported=("parallel_tool_calls",)) as server:
        model = client(server, api)
        assert ask(model).text == "one"
        assert ask(model).text == "two"
    sent = [r.body for r in server.requests]
    assert len(sent) == 3  # refused once, then never sent again to this model
    assert "parallel_tool_calls" in sent[0]
    assert all("parallel_tool_calls" not in body for body in sent[1:])
    assert all("tools" in body for body in sent)  # only the refused field goes


def test_a_refusal_worded_without_param_is_understood():
    """Azure's wording names the field only in its message."""
    with ScriptedModelServer([reply("ok")], unsupported=("reasoning_effort",),
                             unsupported_style="azure") as server:
        assert ask(client(server, "chat", effort="high")).text == "ok"
    assert "reasoning_effort" in server.requests[0].body
    assert "reasoning_effort" not in server.requests[1].body


def test_responses_reasoning_refused_drops_its_include_too():
    with ScriptedModelServer([reply("ok")], unsupported=("reasoning",)) as server:
        assert ask(client(server, "responses", effort="low")).text == "ok"
    first, second = (r.body for r in server.requests)
    assert first["include"] == ["reasoning.encrypted_content"]
    assert "reasoning" not in second and "include" not in second


def test_reasoning_summaries_refused_to_an_unverified_organization_keep_the_effort():
    """OpenAI answers 400 (param "reasoning.summary") until the organization is verified:
    the summary goes, the effort stays."""
    with ScriptedModelServer([reply("ok")], unsupported=("reasoning.summary",)) as server:
        assert ask(client(server, "responses", effort="high")).text == "ok"
    first, second = (r.body for r in server.requests)
    assert first["reasoning"] == {"effort": "high", "summary": "auto"}
    assert second["reasoning"] == {"effort": "high"}
    assert second["include"] == ["reasoning.encrypted_content"]


def test_a_server_that_cannot_stream_with_tools_is_asked_without_streaming():
    """llama.cpp before tool streaming: 501 "Cannot use tools with stream"."""
    with ScriptedModelServer(
        [reply("Two calls.", call("echo", {"text": "a"}), call("echo", {"text": "b"}),
               input_tokens=70, output_tokens=9)],
        unsupported=("stream",), unsupported_style="llamacpp",
    ) as server:
        turn = ask(client(server, "chat"))
    assert [json.loads(c.arguments)["text"] for c in turn.tool_calls] == ["a", "b"]
    assert turn.text == "Two calls." and turn.usage.input_tokens == 70
    assert turn.attempts == 1  # the refusal is no failure: nothing waited, nothing counted
    assert "stream_options" not in server.requests[1].body  # meaningless without streaming


def test_a_server_that_ignores_stream_is_asked_without_it_from_then_on(api):
    """Its first whole reply cannot be read as a stream (the SDK consumed it looking for
    events): asked once more, without streaming, and never again with it."""
    with ScriptedModelServer([reply("unread"), reply("one", call("echo", {"text": "a"})),
                              reply("two")], ignore_stream=True) as server:
        model = client(server, api)
        first = ask(model)
        assert (first.text, first.tool_calls[0].name) == ("one", "echo")
        assert ask(model).text == "two"
    assert [r.body.get("stream", False) for r in server.requests] == [True, False, False]
    assert first.attempts == 1


def test_a_refusal_of_something_we_need_still_fails_clearly():
    with (ScriptedModelServer(unsupported=("tools",)) as server,
          pytest.raises(ModelError, match="refused the request: HTTP 400 .*'tools'")):
        ask(client(server, "chat"))
    assert len(server.requests) == 1


# --- errors in words ----------------------------------------------------------------------------


def test_a_hung_server_times_out_in_words(api):
    with (ScriptedModelServer([Reply(text="late", delay=2.0)] * 2) as server,
          pytest.raises(ModelError) as failed):
        ask(client(server, api, timeout=0.5, retries=1))
    message = str(failed.value)
    assert "the model server did not answer within 0.5 s" in message
    assert "Timeout" not in message


def test_a_hung_server_does_not_outlive_the_attempts_time_budget():
    """MODEL_REQUEST_TIMEOUT is 10 s, but the attempt has 1.5 s left: the call gives up then."""
    with ScriptedModelServer([Reply(text="late", delay=4.0)]) as server:
        model = client(server, "chat", timeout=10.0)
        with pytest.raises(ModelError) as failed:
            model.complete(system="s", conversation=[Message("user", "hi")], tools=[],
                           deadline=time.monotonic() + 1.5)
    assert "did not answer within 1.5 s" in str(failed.value)
    assert "time budget" in str(failed.value)
    assert len(server.requests) == 1


def test_a_connection_reset_mid_reply_is_retried_then_said_in_words(api):
    with ScriptedModelServer([Reply(text="x" * 400, reset=True)] * 2 + [reply("ok")]) as server:
        assert ask(client(server, api, retries=2)).text == "ok"
        server.add(*[Reply(text="x" * 400, reset=True)] * 3)
        with pytest.raises(ModelError) as failed:
            ask(client(server, api, retries=2))
    assert "broke off mid-reply" in str(failed.value)
    assert "RemoteProtocolError" not in str(failed.value)


def test_a_proxy_html_error_page_is_reduced_to_its_words():
    page = "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1>" \
           "<hr><center>nginx</center></body></html>"
    with (ScriptedModelServer([Reply(status=502, error_body=page)] * 2) as server,
          pytest.raises(ModelError) as failed):
        ask(client(server, "chat", retries=1))
    assert "<" not in str(failed.value) and "502 Bad Gateway nginx" in str(failed.value)


# --- streams as real servers send them --------------------------------------------------------


def test_a_stream_in_small_writes_without_done_is_read_whole(api):
    """Chunked transfer in 13-byte writes (JSON split mid-token); vLLM-style end without
    [DONE] on the chat wire."""
    text = "A reply long enough to be split many times over the wire."
    with ScriptedModelServer([Reply(text=text, calls=[call("echo", {"text": "é ü"})],
                                    chunked=True, no_done=True)]) as server:
        turn = ask(client(server, api))
    assert turn.text == text and turn.attempts == 1
    assert json.loads(turn.tool_calls[0].arguments) == {"text": "é ü"}


def test_a_responses_stream_whose_final_response_lists_no_output():
    with ScriptedModelServer([reply("Looking.", call("echo", {"text": "a"}))],
                             bare_final=True) as server:
        turn = ask(client(server, "responses"))
    assert turn.text == "Looking." and [c.name for c in turn.tool_calls] == ["echo"]


@pytest.mark.parametrize(("index", "ids"), [("missing", ""), ("zero", ""), ("zero", NO_ID),
                                           ("repeat", "")])
def test_parallel_calls_sent_whole_are_kept_apart(index, ids):
    """Ollama sends each call whole without an index; some llama.cpp builds put every call
    at index 0; some proxies repeat id and name on every delta. Before, names or calls were
    glued into one ("echoecho", '{..}{..}')."""
    with ScriptedModelServer([Reply(calls=[call("echo", {"text": "a"}, ids),
                                           call("echo", {"text": "b"}, ids)],
                                    call_index=index)]) as server:
        turn = ask(client(server, "chat"))
    assert [(c.name, json.loads(c.arguments)) for c in turn.tool_calls] == [
        ("echo", {"text": "a"}), ("echo", {"text": "b"})]
    assert len({c.call_id for c in turn.tool_calls}) == 2


def test_usage_is_estimated_when_the_server_sends_none(api):
    with ScriptedModelServer([reply("x" * 400)], omit_usage=True) as server:
        turn = ask(client(server, api), text="y" * 4000)
    assert turn.usage.input_tokens >= 1000 and turn.usage.output_tokens >= 100


# --- the loop -----------------------------------------------------------------------------------


def test_calls_without_ids_or_with_one_id_twice_each_get_their_result(api):
    """A server that sends no ids, or the same id for two calls, would get tool results it
    cannot match (a real server then answers 400 and the attempt died)."""
    with ScriptedModelServer([
        reply(call("shell", {"command": "echo 1"}, NO_ID), call("shell", {"command": "echo 2"},
                                                                 NO_ID)),
        reply(call("shell", {"command": "echo 3"}, "same"),
              call("shell", {"command": "echo 4"}, "same")),
        reply("done"),
    ]) as server:
        outcome = run(make_spec(server, api=api, mode="ask"), sandbox())
    assert outcome.result.outcome == "succeeded", outcome.result.error
    assert server.problems == []
    assert len(server.requests[2].tool_outputs()) == 4
    sent = sent_call_ids(server.requests[2])
    assert len(set(sent)) == 4 and "same" in sent
    # The ids made for the calls that had none, or a taken one: nine letters and digits (what
    # Mistral on vLLM accepts).
    assert all(re.fullmatch(r"[A-Za-z0-9]{9}", i) for i in sent if i != "same"), sent


def sent_call_ids(request) -> list[str]:  # noqa: ANN001
    """The tool call ids the conversation in `request` holds, either API."""
    if request.api == "responses":
        return [i["call_id"] for i in request.body["input"]
                if isinstance(i, dict) and i.get("type") == "function_call"]
    return [c["id"] for m in request.body["messages"] if m.get("role") == "assistant"
            for c in m.get("tool_calls") or []]


def test_context_overflow_shrinks_old_output_and_goes_on(api):
    box = sandbox()
    box.on_command = lambda command, cwd: ExecResult(0, f"{command}\n" + "z" * 6000)
    with ScriptedModelServer([reply(call("shell", {"command": f"cat part{i}"}))
                              for i in range(4)] + [reply("done")],
                             context_limit=20000) as server:
        outcome = run(make_spec(server, api=api, mode="ask"), box)
    assert outcome.result.outcome == "succeeded", outcome.result.error
    last = server.requests[-1].tool_outputs()
    assert any(TRIMMED in out for out in last)  # the oldest went first
    assert TRIMMED not in last[-1] and last[-1].count("z") == 6000
    assert all(out.startswith("Chunk ID:") for out in last)  # citations still resolve


def test_context_overflow_that_cannot_shrink_fails_clearly(api):
    with ScriptedModelServer(context_limit=100) as server:
        outcome = run(make_spec(server, api=api, mode="ask", prompt="p" * 500), sandbox())
    assert outcome.result.outcome == "failed"
    assert outcome.result.error.startswith(
        "The conversation is longer than the model's context window")
    assert "larger context window" in outcome.result.error
    with ScriptedModelServer(context_limit=100) as server, pytest.raises(ContextTooLong):
        ask(client(server, api), text="q" * 500)


def test_a_context_overflow_reported_inside_the_stream_also_shrinks(api):
    box = sandbox()
    box.on_command = lambda command, cwd: ExecResult(0, "z" * 5000)
    overflow = {"code": "context_length_exceeded", "type": "invalid_request_error",
                "message": "Your input exceeds the context window of this model.", "param": None}
    with ScriptedModelServer([reply(call("shell", {"command": "cat big"})),
                              Reply(stream_error=overflow), reply("done")]) as server:
        outcome = run(make_spec(server, api=api, mode="ask"), box)
    assert outcome.result.outcome == "succeeded", outcome.result.error
    assert TRIMMED in server.requests[-1].tool_outputs()[0]
    assert len(server.requests) == 3  # not retried as it was: shrunk, then asked once


def test_a_reply_cut_at_the_output_limit_is_continued_once(api):
    with ScriptedModelServer([Reply(text="The cause is in calc.py where", finish_reason="length"),
                              reply("the sign is wrong.")]) as server:
        outcome = run(make_spec(server, api=api, mode="ask"), sandbox())
    assert outcome.result.final_message == "the sign is wrong."
    assert server.requests[1].user_texts()[-1] == CUT_REPLY
    assert outcome.of(kinds.MESSAGE)[0]["text"] == "The cause is in calc.py where"


def test_a_token_budget_holds_against_a_server_without_usage(api):
    with ScriptedModelServer([reply(call("shell", {"command": "x" * 2000}))] * 5,
                             omit_usage=True) as server:
        outcome = run(make_spec(server, api=api, mode="ask",
                                budgets=Budgets(max_turns=20, max_tokens=3000,
                                                wall_seconds=300)), sandbox())
    assert outcome.result.stop_reason == "budget: tokens"
    assert len(server.requests) < 5


def test_retries_do_not_outlive_a_slow_server_forever():
    """Bounded: a server that always hangs ends the call after max_retries + 1 timeouts."""
    with (ScriptedModelServer([Reply(text="late", delay=1.0)] * 3) as server,
          pytest.raises(ModelError, match="failed 2 times in a row")):
        ask(client(server, "chat", timeout=0.3, retries=1))
    assert len(server.requests) == 2


# --- what local models send -------------------------------------------------------------------


@pytest.mark.parametrize("text", ["<think>The sign is flipped.</think>\n\nIt subtracts.",
                                  "The sign is flipped.\n</think>\n\nIt subtracts."])
def test_thinking_written_into_the_text_is_reasoning_not_the_answer(text):
    with ScriptedModelServer([reply(text)]) as server:
        outcome = run(make_spec(server, api="chat", mode="ask"), sandbox())
    assert outcome.result.final_message == "It subtracts."
    assert outcome.of(kinds.REASONING) == [{"text": "The sign is flipped."}]


def test_arguments_as_local_models_send_them_are_understood():
    """Trailing text after the object, and an object encoded twice, run the command; two glued
    objects are still refused with a clear error."""
    ran: list[str] = []
    box = sandbox()
    box.on_command = lambda command, cwd: ran.append(command) or ExecResult(0, "")
    with ScriptedModelServer([
        reply(call("shell", '{"command": "echo one"}</tool_call>')),
        reply(call("shell", json.dumps(json.dumps({"command": "echo two"})))),
        reply(call("shell", '{"command": "echo a"}{"command": "echo b"}')),
        reply("done"),
    ]) as server:
        outcome = run(make_spec(server, api="chat", mode="ask"), box)
    assert [c for c in ran if c.startswith("echo")] == ["echo one", "echo two"]
    assert outcome.of(kinds.TOOL_ERROR)[0]["error"].startswith(
        "The arguments of shell are not valid JSON (Extra data")
    assert outcome.result.outcome == "succeeded"


@pytest.mark.parametrize("text", [
    'Let me look.\n<tool_call>\n{"name": "shell", "arguments": {"command": "echo hi"}}\n'
    '</tool_call>',
    '```json\n{"name": "shell", "arguments": {"command": "echo hi"}}\n```',
])
def test_tool_calls_written_as_text_by_a_local_model_are_run(text):
    ran: list[str] = []
    box = sandbox()
    box.on_command = lambda command, cwd: ran.append(command) or ExecResult(0, "hi")
    with ScriptedModelServer([reply(text), reply("It printed hi.")]) as server:
        outcome = run(make_spec(server, api="chat", mode="ask"), box)
    assert "echo hi" in ran
    assert outcome.result.final_message == "It printed hi."
    assert server.problems == []  # the call and its result went back as a real pair


def test_json_about_something_else_stays_the_answer():
    answer = '{"name": "calc", "version": "1.0"}'
    with ScriptedModelServer([reply(answer)]) as server:
        outcome = run(make_spec(server, api="chat", mode="ask"), sandbox())
    assert outcome.result.final_message == answer


def test_a_tool_call_message_never_carries_null_content():
    with ScriptedModelServer([reply(call("shell", {"command": "ls"})), reply("done")],
                             refuse_null_content=True) as server:
        outcome = run(make_spec(server, api="chat", mode="ask"), sandbox())
    assert outcome.result.outcome == "succeeded", outcome.result.error


def test_an_exhausted_quota_is_not_waited_for(api):
    body = json.dumps({"error": {"message": "You exceeded your current quota.",
                                 "type": "insufficient_quota", "code": "insufficient_quota"}})
    with (ScriptedModelServer([Reply(status=429, error_body=body)] * 3) as server,
          pytest.raises(ModelError, match="no quota left.*exceeded your current quota")):
        ask(client(server, api))
    assert len(server.requests) == 1


def test_a_server_without_the_responses_api_says_what_to_set():
    with ScriptedModelServer() as server:
        model = ModelClient(ModelConfig(base_url=server.url.removesuffix("/v1") + "/x",
                                        api_key="k", model="qwen", api="responses"))
        with pytest.raises(ModelError, match="HTTP 404.*MODEL_FAST_API=chat"):
            ask(model)


def test_a_model_that_cannot_call_a_tool_right_is_stopped_not_looped_forever():
    broken = [reply(call("shell", '{"command": "ls"')) for _ in range(UNUSABLE_CALLS_TOLERATED)]
    with ScriptedModelServer([reply(call("shell", {"command": "ls"})), *broken,
                              reply("never asked")]) as server:
        outcome = run(make_spec(server, api="chat", mode="ask"), sandbox())
    assert outcome.result.outcome == "failed"
    assert outcome.result.error.startswith(
        f"The model sent {UNUSABLE_CALLS_TOLERATED} tool calls in a row that cannot run; the "
        "last: The arguments of shell are not valid JSON")
    assert server.remaining == 1
