"""The model client: the `openai` SDK against any OpenAI-compatible endpoint, streaming, over
either wire API, with bounded retries.

Retries (429, 408, 409, 5xx, timeouts, dropped connections) wait with exponential backoff and
jitter, or as long as the server's Retry-After / retry-after-ms says, never longer than
`RetryPolicy.max_delay` per wait nor past the caller's deadline. Then `ModelError`, worded for a
person (never the SDK's exception text).

Real servers differ in what they accept. A parameter sent only to do better
(`OPTIONAL_PARAMETERS`: parallel tool calls, usage in the stream, reasoning effort or summaries,
streaming itself) that a server refuses by name is dropped and the call made again at once, and
the client remembers that for its model; so is streaming when a server answers a streaming
request with a whole reply. A conversation past the model's context window raises
`ContextTooLong`, which the loop answers by shrinking old tool output. A reply without usage
gets an estimate, so the token budget still counts it. tests/agent/test_real_servers.py shows
each case against the scripted server behaving like the real one. A call given a `ModelAbort`
ends with `ModelCancelled` soon after it is aborted, mid-reply too (tasks/agent/model_abort.py).
"""

from __future__ import annotations

import email.utils
import json
import logging
import os
import random
import re
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

import openai

try:  # the HTTP library under the installed openai SDK (httpx2 in 3.x, httpx in 1.x)
    import httpx2 as httpx
except ImportError:  # pragma: no cover - older SDKs
    import httpx  # type: ignore[no-redef]

from tasks.agent.config import ModelConfig
from tasks.agent.conversation import Item
from tasks.agent.model_abort import ModelAbort, make_abortable
from tasks.agent.records import Usage
from tasks.agent.wire import (
    ChatStream,
    ModelTurn,
    ToolSpec,
    chat_messages,
    chat_tools,
    responses_input,
    responses_tools,
    tool_calls_in_text,
    turn_from_chat_completion,
    turn_from_response,
)

logger = logging.getLogger(__name__)

RETRYABLE_STATUS = frozenset({408, 409, 429})
# Request fields that only make a reply better or cheaper: a server that refuses one by name
# gets the request again without it. In the order they are given up when a refusal names two.
OPTIONAL_PARAMETERS = ("parallel_tool_calls", "stream_options", "include", "store",
                       "reasoning.summary", "reasoning_effort", "reasoning", "stream")
_GOES_WITH = {"stream": ("stream_options",), "reasoning": ("include",)}
_REFUSAL_WORDING = re.compile(
    r"unsupported|not supported|unrecognized|unknown|not allowed|not permitted|extra (field|input)"
    r"|cannot use|invalid (field|param)", re.IGNORECASE)
_CONTEXT_WORDING = re.compile(
    r"context[ _](length|window|size)|maximum context|too many tokens|prompt is too long"
    r"|input is too long|exceeds? the (maximum|available) context|reduce the length",
    re.IGNORECASE)
CHARS_PER_TOKEN = 4  # a usage estimate when the server reports none


class ModelError(RuntimeError):
    """The model API could not give an answer; the message is for the person and the log."""


class ContextTooLong(ModelError):
    """The conversation no longer fits the model's context window; a shorter one may."""


class ModelCancelled(ModelError):
    """The call was ended from outside (`ModelAbort.abort()`): its attempt was cancelled."""


class _StreamIgnored(Exception):
    """A 200 whose body held no stream events: the server answers whole replies only."""


class _Retryable(Exception):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Model(Protocol):
    """What the loop needs from a model: one reply to a conversation."""

    name: str

    def complete(self, *, system: str, conversation: list[Item], tools: list[ToolSpec],
                 deadline: float | None = None, abort: ModelAbort | None = None
                 ) -> ModelTurn: ...


_shared_lock = threading.Lock()
_shared: dict[tuple[int, ModelConfig], ModelClient] = {}
SHARED_CLIENTS_MAX = 8


def shared_model_client(config: ModelConfig) -> ModelClient:
    """One client per model configuration in this process, kept between attempts: building
    one makes the HTTP library load the system's CA store into a new SSL context (≈ 0.4 s of a
    loaded machine's time), even for an `http://` endpoint, and a new client opens new
    connections. Never close it; a forked child (Celery's prefork pool) makes its own."""
    key = (os.getpid(), config)
    with _shared_lock:
        client = _shared.get(key)
        if client is None:
            if len(_shared) >= SHARED_CLIENTS_MAX:  # settings changed many times: start over
                _shared.clear()
            client = _shared[key] = ModelClient(config)
        return client


class ModelClient:
    """A Model over the `openai` SDK; `config.api` picks Responses or Chat Completions. Holds
    no state of an attempt: one client can serve every attempt of a process, one after another
    or at once (`shared_model_client`)."""

    def __init__(
        self,
        config: ModelConfig,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.config = config
        self.name = config.model
        self._sleep = sleep
        self._clock = clock
        self._jitter = jitter
        self._dropped: set[str] = set()  # OPTIONAL_PARAMETERS this model's server refused
        self._client = openai.OpenAI(
            base_url=config.base_url or None,
            # Self-hosted servers often need no key, but the SDK insists on one.
            api_key=config.api_key or "no-key",
            max_retries=0,  # retries are ours: bounded, logged, honouring Retry-After
            timeout=_timeouts(config.request_timeout),
            # Its connections' reads can be ended from another thread (a cancel: `complete`).
            http_client=make_abortable(
                openai.DefaultHttpxClient(timeout=_timeouts(config.request_timeout))),
        )

    def close(self) -> None:
        """Release the HTTP connections."""
        self._client.close()

    def complete(self, *, system: str, conversation: list[Item], tools: list[ToolSpec],
                 deadline: float | None = None, abort: ModelAbort | None = None) -> ModelTurn:
        """The model's next reply. Raises ModelError when the API refuses or keeps failing, and
        ModelCancelled soon after `abort.abort()` (from another thread), even mid-reply or
        while waiting to retry; then the request is not made again."""
        if abort is None:
            return self._complete(system, conversation, tools, deadline, None)
        with abort.bound():
            try:
                return self._complete(system, conversation, tools, deadline, abort)
            except ModelCancelled:
                raise
            except Exception as exc:  # the read it cut ends as a dropped connection, or worse
                if abort.aborted:
                    raise ModelCancelled("The model call was cancelled.") from exc
                raise

    def _complete(self, system: str, conversation: list[Item], tools: list[ToolSpec],
                  deadline: float | None, abort: ModelAbort | None) -> ModelTurn:
        policy = self.config.retry
        started = self._clock()
        attempt = 0
        while True:
            attempt += 1
            if abort is not None and abort.aborted:  # before the server starts on a reply
                raise ModelCancelled("The model call was cancelled.")
            try:
                turn = self._call(system, conversation, tools, self._timeout(deadline))
                turn.attempts = attempt
                if not turn.usage.total:  # the server reports none: the budget still counts
                    turn.usage = estimate_usage(system, conversation, tools, turn)
                return turn
            except _Retryable as exc:
                if attempt > policy.max_retries:
                    raise ModelError(
                        f"The model API failed {attempt} times in a row; giving up after "
                        f"{self._clock() - started:.0f} s. Last error: {exc}"
                    ) from exc
                wait = self._wait(attempt, exc.retry_after)
                if deadline is not None and self._clock() + wait > deadline:
                    raise ModelError(
                        f"The model API is failing ({exc}) and the attempt's time budget does "
                        "not allow waiting to retry."
                    ) from exc
                if abort is None:
                    self._sleep(wait)
                elif abort.wait(wait):
                    raise ModelCancelled("The model call was cancelled.") from exc

    def _wait(self, attempt: int, retry_after: float | None) -> float:
        policy = self.config.retry
        if retry_after is not None:
            return max(0.0, min(retry_after, policy.max_delay))
        ceiling = min(policy.max_delay, policy.base_delay * 2 ** (attempt - 1))
        return ceiling / 2 + self._jitter() * ceiling / 2  # "equal jitter": never zero

    def _timeout(self, deadline: float | None) -> float:
        """Seconds of silence one call may wait: MODEL_REQUEST_TIMEOUT, but never past the
        attempt's time budget (a hung server must not outlive the attempt)."""
        if deadline is None:
            return self.config.request_timeout
        return max(1.0, min(self.config.request_timeout, deadline - self._clock()))

    def _call(self, system: str, conversation: list[Item], tools: list[ToolSpec],
              timeout: float) -> ModelTurn:
        while True:  # once more per optional parameter the server refuses: bounded
            sent: dict[str, Any] = {}
            try:
                if self.config.api == "chat":
                    return self._chat(system, conversation, tools, sent, timeout)
                return self._responses(system, conversation, tools, sent, timeout)
            except _StreamIgnored:
                logger.warning("model %s answered a streaming request without a stream; "
                               "asking without streaming from now on", self.name)
                self._dropped.update(("stream", "stream_options"))
                continue
            except openai.APIStatusError as exc:
                refused = _refused_parameter(exc, sent)
                if refused:
                    self._drop(refused, exc)
                    continue
                message = _error_message(exc)
                if _context_too_long(exc):
                    raise ContextTooLong(
                        f"The conversation is longer than the model's context window ({message})."
                    ) from exc
                if getattr(exc, "code", None) == "insufficient_quota":  # a 429 no wait mends
                    raise ModelError(f"The model API account has no quota left: {message}"
                                     ) from exc
                if exc.status_code in RETRYABLE_STATUS or exc.status_code >= 500:
                    raise _Retryable(message, _retry_after(exc.response)) from exc
                raise ModelError(f"The model API refused the request: {message}"
                                 f"{self._hint(exc.status_code)}") from exc
            except (openai.APIConnectionError, httpx.TransportError) as exc:
                # APITimeoutError is an APIConnectionError; a stream cut mid-way is a
                # TransportError.
                raise _Retryable(self._transport_problem(exc, timeout)) from exc
            except openai.APIError as exc:  # an error event inside a stream
                problem = f"the model server sent an error mid-reply: {exc.message}"
                if _context_wording(getattr(exc, "code", None), exc.message):
                    raise ContextTooLong(
                        f"The conversation is longer than the model's context window ({problem})."
                    ) from exc
                raise _Retryable(problem) from exc

    def _drop(self, name: str, exc: openai.APIStatusError) -> None:
        """Never send `name` (and what only makes sense with it) to this model again."""
        logger.warning("model %s refused %r (%s); sending requests without it",
                       self.name, name, _error_message(exc))
        self._dropped.add(name)
        self._dropped.update(_GOES_WITH.get(name, ()))

    def _offered(self, kwargs: dict[str, Any], sent: dict[str, Any]) -> dict[str, Any]:
        """`kwargs` without the optional parameters this model's server refused; `sent`
        receives what goes out, so a refusal can be matched against it."""
        dropped = frozenset(self._dropped)  # one copy: other attempts may add to it meanwhile
        sent.update({k: v for k, v in kwargs.items() if k not in dropped})
        for name in dropped:  # a nested one ("reasoning.summary") goes alone
            outer, _, inner = name.partition(".")
            if inner and isinstance(sent.get(outer), dict):
                sent[outer] = {k: v for k, v in sent[outer].items() if k != inner}
        return sent

    def _hint(self, status: int) -> str:
        """What a person can do about a refusal, when it is a common setup mistake."""
        if status == 404 and self.config.api == "responses":
            return (f". Check the model name ({self.name}), and whether the server offers the "
                    "Responses API at all: Chat Completions servers (vLLM, llama.cpp, Ollama) "
                    "need MODEL_STRONG_API / MODEL_FAST_API=chat")
        if status == 404:
            return f". Check the model name ({self.name}) and OPENAI_BASE_URL (it ends in /v1)"
        if status in (401, 403):
            return ". Check OPENAI_API_KEY"
        return ""

    def _transport_problem(self, exc: Exception, timeout: float) -> str:
        """What went wrong with the connection, in words (the SDK's text says "Connection
        error." for nearly everything)."""
        causes = [exc, exc.__cause__, exc.__context__]
        if any(isinstance(c, (openai.APITimeoutError, httpx.TimeoutException)) for c in causes):
            return f"the model server did not answer within {round(timeout, 1):g} s"
        where = self.config.base_url or "api.openai.com"
        if any(isinstance(c, httpx.ConnectError) for c in causes):
            return f"cannot connect to the model server at {where}"
        return f"the connection to the model server at {where} broke off mid-reply"

    def _chat(self, system: str, conversation: list[Item], tools: list[ToolSpec],
              sent: dict[str, Any], timeout: float) -> ModelTurn:
        kwargs: dict[str, Any] = {
            "model": self.config.model,
            "messages": chat_messages(system, conversation),
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if tools:
            kwargs["tools"] = chat_tools(tools)
            kwargs["parallel_tool_calls"] = True
        if self.config.reasoning_effort:
            kwargs["reasoning_effort"] = self.config.reasoning_effort
        kwargs = {**self._offered(kwargs, sent), "timeout": _timeouts(timeout)}
        offered = {t.name for t in tools}
        if not kwargs.get("stream"):
            completion = self._client.chat.completions.create(**kwargs)
            return tool_calls_in_text(turn_from_chat_completion(completion), offered)
        stream = ChatStream()
        received = 0
        with self._client.chat.completions.create(**kwargs) as chunks:
            for chunk in chunks:
                received += 1
                stream.feed(chunk)
        if not received:
            raise _StreamIgnored()
        if not stream.finish_reason:
            raise _Retryable("the stream ended before the reply was complete")
        return tool_calls_in_text(stream.turn(), offered)

    def _responses(
        self, system: str, conversation: list[Item], tools: list[ToolSpec], sent: dict[str, Any],
        timeout: float,
    ) -> ModelTurn:
        kwargs: dict[str, Any] = {
            "model": self.config.model,
            "instructions": system,
            "input": responses_input(conversation),
            "stream": True,
            "store": False,
        }
        if tools:
            kwargs["tools"] = responses_tools(tools)
            kwargs["parallel_tool_calls"] = True
        if self.config.reasoning_effort:
            kwargs["reasoning"] = {"effort": self.config.reasoning_effort, "summary": "auto"}
            kwargs["include"] = ["reasoning.encrypted_content"]
        kwargs = {**self._offered(kwargs, sent), "timeout": _timeouts(timeout)}
        if not kwargs.get("stream"):
            return turn_from_response(self._client.responses.create(**kwargs))
        final = None
        received = 0
        done_items: list[Any] = []
        with self._client.responses.create(**kwargs) as events:
            for event in events:
                received += 1
                kind = getattr(event, "type", "")
                if kind == "response.output_item.done":
                    done_items.append(event.item)
                elif kind in ("response.completed", "response.incomplete"):
                    final = event.response
                elif kind == "response.failed":
                    error = getattr(event.response, "error", None)
                    message = str(getattr(error, "message", error))
                    if _context_wording(getattr(error, "code", None), message):
                        raise ContextTooLong("The conversation is longer than the model's "
                                             f"context window (the response failed: {message}).")
                    raise _Retryable(f"the response failed: {message}")
                elif kind == "error":
                    raise _Retryable(f"stream error: {getattr(event, 'message', event)}")
        if not received:
            raise _StreamIgnored()
        if final is None:
            raise _Retryable("the stream ended before the response was complete")
        if not final.output and done_items:  # some servers stream the items, end with none
            final.output = done_items
        return turn_from_response(final)


def _timeouts(seconds: float) -> httpx.Timeout:
    return httpx.Timeout(seconds, connect=min(30.0, seconds))


def estimate_usage(system: str, conversation: list[Item], tools: list[ToolSpec],
                   turn: ModelTurn) -> Usage:
    """Tokens a reply probably cost, from the characters sent and received: some local servers
    report no usage, and a budget that counts nothing never stops a runaway attempt."""
    sent = len(system) + len(json.dumps([item.to_dict() for item in conversation]))
    sent += len(json.dumps([t.parameters for t in tools])) + sum(
        len(t.description) for t in tools)
    received = len(turn.text) + len(turn.reasoning) + sum(
        len(c.name) + len(c.arguments) for c in turn.tool_calls)
    return Usage(input_tokens=sent // CHARS_PER_TOKEN + 1,
                 output_tokens=received // CHARS_PER_TOKEN + 1)


def _error_text(exc: openai.APIStatusError) -> str:
    """All the server said about an error, as text, for matching its wording."""
    body = exc.body
    return json.dumps(body) if isinstance(body, (dict, list)) else str(body or exc.message)


def _refused_parameter(exc: openai.APIStatusError, sent: dict[str, Any]) -> str:
    """The optional parameter a refusal names, if the request carried it; else ""."""
    if exc.status_code in RETRYABLE_STATUS:
        return ""
    candidates = [name for name in OPTIONAL_PARAMETERS if _carries(sent, name)]
    param = getattr(exc, "param", None)
    if isinstance(param, str):
        for name in candidates:
            if param == name or param.startswith(name + "."):
                return name
    text = _error_text(exc)
    if not _REFUSAL_WORDING.search(text):
        return ""
    for name in candidates:
        if re.search(rf"(?<![\w]){re.escape(name)}(?!\w)", text):
            return name
    return ""


def _carries(sent: dict[str, Any], name: str) -> bool:
    outer, _, inner = name.partition(".")
    value = sent.get(outer)
    return outer in sent and (not inner or (isinstance(value, dict) and inner in value))


def _context_too_long(exc: openai.APIStatusError) -> bool:
    if exc.status_code not in (400, 413, 422, 500):
        return False
    return _context_wording(getattr(exc, "code", None), _error_text(exc))


def _context_wording(code: object, text: str) -> bool:
    return code == "context_length_exceeded" or bool(_CONTEXT_WORDING.search(text or ""))


def _error_message(exc: openai.APIStatusError) -> str:
    detail = ""
    body = exc.body
    if isinstance(body, dict):
        error = body.get("error", body.get("detail", body))
        detail = str(error.get("message", "")) if isinstance(error, dict) else str(error)
    elif isinstance(body, str):  # e.g. a proxy's HTML error page: its words, not its markup
        detail = " ".join(re.sub(r"<[^>]+>", " ", body).split())[:200]
    reason = exc.response.reason_phrase if exc.response is not None else ""
    return f"HTTP {exc.status_code} {reason}: {detail}".strip().rstrip(":")[:500]


def _retry_after(response: httpx.Response | None) -> float | None:
    """Seconds the server asked us to wait, from retry-after-ms or Retry-After, if any."""
    if response is None:
        return None
    millis = response.headers.get("retry-after-ms")
    if millis:
        try:
            return float(millis) / 1000
        except ValueError:
            pass
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, parsed.timestamp() - time.time())
