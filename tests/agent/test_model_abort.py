"""A model call in flight ends soon after `ModelAbort.abort()` from another thread (the worker's
cancel watch), as `ModelCancelled`, and the server sees the connection closed; a call of another
attempt on the same shared client goes on untouched."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest

from tasks.agent.config import ModelConfig, RetryPolicy
from tasks.agent.conversation import Message
from tasks.agent.model import ModelCancelled, ModelClient
from tasks.agent.model_abort import AbortableBackend, ModelAbort
from tests.support.model_server import RecordedRequest, Reply, ScriptedModelServer, fail, reply
from tests.support.tls_front import TLSFront

SLOW = 60.0  # the scripted reply's delay: an aborted call must end long before it


def client(server: ScriptedModelServer, api: str) -> ModelClient:
    policy = RetryPolicy(max_retries=3, base_delay=0.01, max_delay=SLOW)
    return ModelClient(ModelConfig(base_url=server.url, api_key="sk-test", model="m-1", api=api,
                                   request_timeout=SLOW * 2, retry=policy))


class Call:
    """`model.complete` in a thread, as the worker's agent loop makes it."""

    def __init__(self, model: ModelClient, abort: ModelAbort | None, prompt: str = "hi") -> None:
        self.outcome: Any = None
        self.thread = threading.Thread(target=self._run, args=(model, abort, prompt), daemon=True)
        self.thread.start()

    def _run(self, model: ModelClient, abort: ModelAbort | None, prompt: str) -> None:
        try:
            self.outcome = model.complete(system="Be terse.", tools=[], abort=abort,
                                          conversation=[Message("user", prompt)])
        except Exception as exc:  # noqa: BLE001 - the test looks at what it was
            self.outcome = exc

    def result(self, timeout: float = 15.0) -> Any:
        """What the call returned or raised; fails if it is still running after `timeout` s."""
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the model call did not end"
        return self.outcome


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_every_connection_of_the_client_reads_through_the_abortable_backend(monkeypatch):
    """Transports and their pools are private attributes of the HTTP library: an upgrade that
    moves them must fail here, not silently leave calls impossible to cancel. A proxy from the
    environment (a company's) gets a transport of its own: its connections too."""
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    with ScriptedModelServer() as server:
        http = client(server, "chat")._client._client
        transports = [http._transport, *(t for t in http._mounts.values() if t is not None)]
        assert len(transports) >= 2
        for transport in transports:
            assert isinstance(transport._pool._network_backend, AbortableBackend)


def test_abort_ends_a_reply_the_server_has_not_started(api):
    with ScriptedModelServer([Reply(text="far too late", delay=SLOW), reply("next")]) as server:
        model = client(server, api)
        abort = ModelAbort()
        call = Call(model, abort)
        wait_until(lambda: len(server.requests) == 1, "the request to reach the server")

        abort.abort()

        outcome = call.result()
        assert isinstance(outcome, ModelCancelled), outcome
        wait_until(lambda: len(server.hung_up) == 1, "the server to see the connection closed")
        assert len(server.requests) == 1  # not sent again
        # The shared client is none the worse: the next attempt's call is answered.
        assert model.complete(system="s", conversation=[Message("user", "hi")],
                              tools=[]).text == "next"


def test_abort_ends_a_reply_stalled_half_way(api):
    """The server sent the first events, then thinks: the read of the stream's body ends."""
    with ScriptedModelServer([Reply(text="a long answer", stall=SLOW)]) as server:
        abort = ModelAbort()
        call = Call(client(server, api), abort)
        wait_until(lambda: len(server.stalled) == 1, "the stream to stall")

        abort.abort()

        assert isinstance(call.result(), ModelCancelled)
        wait_until(lambda: len(server.hung_up) == 1, "the server to see the connection closed")


def test_abort_ends_the_wait_before_a_retry(api):
    with ScriptedModelServer([fail(503, retry_after=str(int(SLOW)))]) as server:
        abort = ModelAbort()
        call = Call(client(server, api), abort)
        wait_until(lambda: len(server.requests) == 1, "the first request")
        time.sleep(0.2)  # into the minute's wait the server asked for

        abort.abort()

        assert isinstance(call.result(), ModelCancelled)
        assert len(server.requests) == 1


def test_an_aborted_call_is_never_sent(api):
    with ScriptedModelServer([reply("unused")]) as server:
        abort = ModelAbort()
        abort.abort()
        with pytest.raises(ModelCancelled):
            client(server, api).complete(system="s", conversation=[Message("user", "hi")],
                                         tools=[], abort=abort)
        assert server.requests == []


def test_abort_leaves_another_attempts_call_on_the_same_client_alone(api):
    def by_prompt(request: RecordedRequest) -> Reply:
        if "cancel me" in request.user_texts():
            return Reply(text="never", delay=SLOW)
        return Reply(text="kept", delay=1.0)

    with ScriptedModelServer([by_prompt, by_prompt]) as server:
        model = client(server, api)
        doomed_abort, kept_abort = ModelAbort(), ModelAbort()
        doomed = Call(model, doomed_abort, "cancel me")
        kept = Call(model, kept_abort, "keep me")
        wait_until(lambda: len(server.requests) == 2, "both requests")

        doomed_abort.abort()

        assert isinstance(doomed.result(), ModelCancelled)
        assert kept.result().text == "kept"
        assert [r.user_texts() for r in server.hung_up] == [["cancel me"]]


def test_abort_ends_a_call_over_tls(api, monkeypatch, tmp_path):
    """The model API is HTTPS (api.openai.com, a company's endpoint): the blocked read is the TLS
    socket's, and shutting the socket under it must end that read too, not only a plain one."""
    with (
        ScriptedModelServer([Reply(text="far too late", delay=SLOW), reply("next")]) as server,
        TLSFront(urlsplit(server.url).port, tmp_path) as front,
    ):
        monkeypatch.setenv("SSL_CERT_FILE", str(front.ca_file))
        policy = RetryPolicy(max_retries=3, base_delay=0.01, max_delay=SLOW)
        model = ModelClient(ModelConfig(
            base_url=f"https://localhost:{front.port}/v1", api_key="sk-test", model="m-1",
            api=api, request_timeout=SLOW * 2, retry=policy))
        abort = ModelAbort()
        call = Call(model, abort)
        wait_until(lambda: len(server.requests) == 1, "the request to reach the server")

        abort.abort()

        assert isinstance(call.result(), ModelCancelled), call.outcome  # not SLOW s later
        wait_until(lambda: len(server.hung_up) == 1, "the server to see the connection closed")
        assert len(server.requests) == 1  # not sent again
        # The client's other connections still work over TLS: the next call is answered.
        assert model.complete(system="s", conversation=[Message("user", "hi")],
                              tools=[]).text == "next"
