"""The model client against the scripted server, over both wire APIs."""

from __future__ import annotations

import json
import random
import time

import pytest

from tasks.agent.config import ModelConfig, RetryPolicy
from tasks.agent.conversation import Message, ToolCall, ToolOutput
from tasks.agent.model import ModelClient, ModelError
from tasks.agent.wire import ToolSpec
from tests.support.model_server import ScriptedModelServer, call, fail, reply

ECHO = ToolSpec(
    "echo", "Echo the text.", {"type": "object", "properties": {"text": {"type": "string"}}}
)


@pytest.fixture
def server():
    with ScriptedModelServer() as s:
        yield s


def client(server, api, *, sleep=time.sleep, jitter=random.random, **retry):
    policy = RetryPolicy(**{"max_retries": 3, "base_delay": 0.01, "max_delay": 5.0, **retry})
    return ModelClient(ModelConfig(base_url=server.url, api_key="sk-test", model="m-1", api=api,
                                   request_timeout=10, retry=policy), sleep=sleep, jitter=jitter)


def ask(model, items=None, tools=(ECHO,)):
    return model.complete(system="You are terse.", conversation=items or [Message("user", "hi")],
                          tools=list(tools))


def test_text_reply_and_usage(server, api):
    server.add(reply("Hello there, how can I help?", input_tokens=321, output_tokens=12))
    turn = ask(client(server, api))
    assert turn.text == "Hello there, how can I help?"
    assert turn.tool_calls == []
    assert (turn.usage.input_tokens, turn.usage.output_tokens) == (321, 12)
    assert turn.attempts == 1


def test_request_carries_model_system_tools_and_streams(server, api):
    server.add(reply("ok"))
    ask(client(server, api))
    sent = server.requests[0]
    assert sent.api == api
    assert sent.body["model"] == "m-1"
    assert sent.body["stream"] is True
    assert sent.system == "You are terse."
    assert sent.tool_names() == ["echo"]
    assert sent.user_texts() == ["hi"]
    assert sent.headers["authorization"] == "Bearer sk-test"


def test_streamed_tool_calls_are_reassembled(server, api):
    args = {"text": "a long argument that arrives in many pieces " * 3}
    server.add(reply("Let me echo.", call("echo", args, "c1"), call("echo", {"text": "2"}, "c2")))
    turn = ask(client(server, api))
    assert turn.text == "Let me echo."
    assert [(c.call_id, c.name, json.loads(c.arguments)) for c in turn.tool_calls] == [
        ("c1", "echo", args), ("c2", "echo", {"text": "2"})]


def test_malformed_arguments_come_back_verbatim(server, api):
    server.add(reply(call("echo", '{"text": "unterminated', "c1")))
    turn = ask(client(server, api))
    assert turn.tool_calls[0].arguments == '{"text": "unterminated'


def test_tool_results_are_sent_back_in_the_right_shape(server, api):
    server.add(reply("done"))
    items = [Message("user", "hi"), Message("assistant", "calling"),
             ToolCall("c1", "echo", '{"text":"x"}'), ToolOutput("c1", "x")]
    turn = ask(client(server, api), items)
    assert turn.text == "done"
    assert server.problems == []
    assert server.requests[0].tool_outputs() == ["x"]


def test_a_real_server_rejects_a_tool_call_without_result(server, api):
    with pytest.raises(ModelError, match="refused the request: HTTP 400"):
        ask(client(server, api), [Message("user", "hi"), ToolCall("c1", "echo", "{}")])


def test_reasoning_summary_is_read(server, api):
    server.add(reply("answer", reasoning="I thought about it."))
    assert ask(client(server, api)).reasoning == "I thought about it."


def test_429_then_success_honours_retry_after(server, api):
    server.add(fail(429, retry_after="1", message="slow down"), reply("finally"))
    started = time.monotonic()
    turn = ask(client(server, api, base_delay=0.01))
    assert turn.text == "finally"
    assert turn.attempts == 2
    assert len(server.requests) == 2
    assert server.requests[1].at - server.requests[0].at >= 0.95  # waited as the server asked
    assert time.monotonic() - started < 5


def test_retry_after_is_capped_by_max_delay(server, api):
    server.add(fail(429, retry_after="3600"), reply("ok"))
    waits: list[float] = []
    model = client(server, api, sleep=waits.append, max_delay=0.2)
    assert ask(model).text == "ok"
    assert waits == [0.2]


def test_repeated_500s_end_with_a_clear_error(server, api):
    server.add(*[fail(500, message="upstream exploded")] * 4)
    with pytest.raises(ModelError) as caught:
        ask(client(server, api, max_retries=3))
    message = str(caught.value)
    assert message.startswith("The model API failed 4 times in a row")
    assert "HTTP 500" in message and "upstream exploded" in message
    assert len(server.requests) == 4


def test_backoff_grows_exponentially_with_jitter(server, api):
    server.add(*[fail(503)] * 3, reply("ok"))
    waits: list[float] = []
    model = client(server, api, sleep=waits.append, jitter=lambda: 1.0, base_delay=1.0,
                   max_delay=3.0)
    assert ask(model).text == "ok"
    assert waits == [1.0, 2.0, 3.0]


def test_client_errors_are_not_retried(server, api):
    server.add(fail(401, message="bad key"))
    with pytest.raises(ModelError, match="refused the request: HTTP 401 Unauthorized: bad key"):
        ask(client(server, api))
    assert len(server.requests) == 1


def test_a_cut_stream_is_retried(server, api):
    server.add(reply("never complete " * 20, cut_stream=True), reply("complete"))
    turn = ask(client(server, api))
    assert turn.text == "complete" and turn.attempts == 2


def test_no_retry_past_the_deadline(server, api):
    server.add(fail(429, retry_after="30"))
    model = client(server, api, max_delay=60)
    with pytest.raises(ModelError, match="time budget"):
        model.complete(system="s", conversation=[Message("user", "hi")], tools=[],
                       deadline=time.monotonic() + 1)


def test_connection_refused_is_retried_then_clear_error():
    with ScriptedModelServer() as gone:
        url = gone.url
    model = ModelClient(ModelConfig(base_url=url, api_key="k", model="m", api="chat",
                                    request_timeout=2,
                                    retry=RetryPolicy(max_retries=2, base_delay=0.01)))
    with pytest.raises(ModelError, match="failed 3 times in a row") as failed:
        model.complete(system="s", conversation=[Message("user", "hi")], tools=[])
    assert f"cannot connect to the model server at {url}" in str(failed.value)
    assert "APIConnectionError" not in str(failed.value)  # the SDK's words stay in the log


def test_reasoning_effort_and_encrypted_reasoning_round_trip(server):
    server.add(reply(call("echo", {"text": "x"}, "c1"), reasoning="plan",
                     encrypted_reasoning="opaque-blob"),
               reply("done"))
    config = ModelConfig(base_url=server.url, api_key="k", model="o3", api="responses",
                         reasoning_effort="high", retry=RetryPolicy(max_retries=0))
    model = ModelClient(config)
    turn = model.complete(system="s", conversation=[Message("user", "hi")], tools=[ECHO])
    first = server.requests[0].body
    assert first["reasoning"] == {"effort": "high", "summary": "auto"}
    assert first["include"] == ["reasoning.encrypted_content"]
    assert first["store"] is False
    items = [Message("user", "hi"), *turn.items(), ToolOutput("c1", "x")]
    model.complete(system="s", conversation=items, tools=[ECHO])
    sent = server.requests[1].body["input"]
    assert sent[1]["type"] == "reasoning" and sent[1]["encrypted_content"] == "opaque-blob"
    assert [i.get("type") for i in sent[2:]] == ["function_call", "function_call_output"]


def test_chat_sends_reasoning_effort_only_when_set(server):
    server.add(reply("a"), reply("b"))
    plain = ModelClient(ModelConfig(base_url=server.url, api_key="k", model="m", api="chat"))
    plain.complete(system="s", conversation=[Message("user", "hi")], tools=[])
    effort = ModelClient(ModelConfig(base_url=server.url, api_key="k", model="m", api="chat",
                                     reasoning_effort="low"))
    effort.complete(system="s", conversation=[Message("user", "hi")], tools=[])
    assert "reasoning_effort" not in server.requests[0].body
    assert "tools" not in server.requests[0].body
    assert server.requests[1].body["reasoning_effort"] == "low"
    assert server.requests[0].body["stream_options"] == {"include_usage": True}


def test_the_server_also_answers_without_streaming(server):
    """Other clients (and the bench) may call the scripted server without stream=True."""
    import openai

    server.add(reply("hi", call("echo", {"text": "1"}, "c9")), reply("there"))
    client = openai.OpenAI(base_url=server.url, api_key="k", max_retries=0)
    chat = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
    assert chat.choices[0].message.content == "hi"
    assert chat.choices[0].message.tool_calls[0].id == "c9"
    assert chat.usage.prompt_tokens == 100
    response = client.responses.create(model="m", input="x")
    assert response.output_text == "there"
    assert [r.body.get("stream") for r in server.requests] == [None, None]
