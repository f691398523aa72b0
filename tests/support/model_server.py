"""A scripted OpenAI-compatible model server: a real HTTP server on 127.0.0.1.

It speaks /v1/chat/completions (streaming and not, with tool calls) and /v1/responses
(streaming and not, with function calls), replays a script of replies one per request, can
answer with 429 + Retry-After or 5xx, and records every request so tests can assert on what the
agent sent. Like a real server it rejects (400) a conversation whose tool results do not match
earlier tool calls. When the script runs out it answers 500 "script exhausted", which fails the
test loudly.

Real servers are less polite, and the server can behave like them (modes, not mocks):
`unsupported=` parameters it rejects with a 400 (as a reasoning model rejects
`parallel_tool_calls`, or old llama.cpp rejects `stream` with tools), `context_limit=` a
request size past which it answers 400 "maximum context length", `omit_usage=` no usage at all,
`refuse_null_content=` a 400 for `content: null`, `ignore_stream=` whole JSON when asked to
stream (some proxies and small servers), `bare_final=` a Responses stream whose final response
lists no output (only the streamed items do). Per reply: `finish_reason="length"`, `delay=`
seconds before answering and `stall=` seconds half-way through a stream (a client that hangs up
meanwhile is listed in `hung_up`), `reset=` the connection dropped mid-reply, `chunked=` the
stream sent in small writes that split the JSON, `no_done=` no `[DONE]`, `stream_error=` an
error event mid-stream, `call_index=` how tool calls are indexed in the stream ("missing" or
"zero", as Ollama and some llama.cpp versions send them; "repeat": id and name on every delta),
and `NO_ID` calls without an id.
"""

from __future__ import annotations

import itertools
import json
import re
import select
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CHUNK_ID = re.compile(r"Chunk ID: ([0-9A-Za-z_-]+)")


NO_ID = "\0no-id"  # a ScriptedCall's call_id: the call is sent without any id


@dataclass
class ScriptedCall:
    name: str
    arguments: str  # raw, so tests can send malformed JSON
    call_id: str = ""


@dataclass
class Reply:
    text: str = ""
    calls: list[ScriptedCall] = field(default_factory=list)
    reasoning: str = ""
    encrypted_reasoning: str = ""  # Responses API: sent as the reasoning item's encrypted_content
    input_tokens: int = 100
    output_tokens: int = 20
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    error_body: str = ""
    cut_stream: bool = False  # stop the stream half-way (a dropped connection)
    reset: bool = False  # promise the whole body, send half, close the connection
    delay: float = 0.0  # seconds before the answer starts (a slow or hung server)
    stall: float = 0.0  # seconds a stream stops half-way (a model thinking mid-reply)
    finish_reason: str = ""  # override: "length" for a reply cut at the output limit
    chunked: bool = False  # stream in small chunked-encoding writes that split the JSON
    no_done: bool = False  # a chat stream that ends without `data: [DONE]`
    stream_error: dict[str, Any] | None = None  # an error event after the first delta
    call_index: str = "normal"  # chat stream: "missing" (no index), "zero" (all index 0) or
    # "repeat" (id and name again on every delta)


def call(name: str, arguments: dict[str, Any] | str, call_id: str = "") -> ScriptedCall:
    """A tool call; pass a str for raw (possibly malformed) arguments."""
    raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return ScriptedCall(name, raw, call_id)


def reply(*parts: str | ScriptedCall, **extra: Any) -> Reply:
    """A model turn: any text parts and tool calls, in one reply."""
    text = "".join(p for p in parts if isinstance(p, str))
    calls = [p for p in parts if isinstance(p, ScriptedCall)]
    return Reply(text=text, calls=calls, **extra)


def fail(status: int, *, retry_after: str | None = None, message: str = "") -> Reply:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    body = json.dumps(
        {"error": {"message": message or f"scripted {status}", "type": "server_error",
                   "code": None, "param": None}}
    )
    return Reply(status=status, headers=headers, error_body=body)


@dataclass
class RecordedRequest:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    at: float

    @property
    def api(self) -> str:
        return "chat" if self.path.endswith("/chat/completions") else "responses"

    @property
    def system(self) -> str:
        if self.api == "responses":
            return str(self.body.get("instructions") or "")
        return "\n".join(
            str(m.get("content") or "") for m in self.body.get("messages", [])
            if m.get("role") in ("system", "developer")
        )

    def tool_names(self) -> list[str]:
        names = []
        for tool in self.body.get("tools") or []:
            names.append(tool.get("name") or tool.get("function", {}).get("name"))
        return names

    def tool_outputs(self) -> list[str]:
        """Every tool result in the conversation, oldest first."""
        if self.api == "responses":
            return [str(i.get("output", "")) for i in self.body.get("input", [])
                    if isinstance(i, dict) and i.get("type") == "function_call_output"]
        return [str(m.get("content") or "") for m in self.body.get("messages", [])
                if m.get("role") == "tool"]

    def user_texts(self) -> list[str]:
        items = self.body.get("input") if self.api == "responses" else self.body.get("messages")
        texts = []
        for item in items or []:
            if isinstance(item, dict) and item.get("role") == "user":
                content = item.get("content")
                texts.append(content if isinstance(content, str) else json.dumps(content))
        return texts

    def chunk_ids(self) -> list[str]:
        return [m for out in self.tool_outputs() for m in CHUNK_ID.findall(out)]


Script = list[Reply | Callable[[RecordedRequest], Reply]]


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (it timed out, as tests make it) is no error of the server."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class ScriptedModelServer:
    def __init__(self, script: Script | None = None, *, model: str = "scripted-model",
                 unsupported: tuple[str, ...] = (), unsupported_style: str = "openai",
                 context_limit: int | None = None, omit_usage: bool = False,
                 refuse_null_content: bool = False, ignore_stream: bool = False,
                 bare_final: bool = False) -> None:
        self.script: Script = list(script or [])
        self.model = model
        self.unsupported = unsupported  # top-level request fields answered with a 400
        self.unsupported_style = unsupported_style  # "openai", "azure" or "llamacpp" wording
        self.context_limit = context_limit  # characters of conversation, like tokens
        self.omit_usage = omit_usage
        self.refuse_null_content = refuse_null_content  # Ollama-like: a message's content null
        self.ignore_stream = ignore_stream  # answer whole JSON even when asked to stream
        self.bare_final = bare_final  # Responses stream: the final response lists no output
        self.requests: list[RecordedRequest] = []
        self.problems: list[str] = []  # requests a real server would have rejected
        self.hung_up: list[RecordedRequest] = []  # the client closed the connection mid-delay
        self.stalled: list[RecordedRequest] = []  # streams stopped half-way (`stall=`) for now
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._httpd = _Server(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def add(self, *replies: Reply | Callable[[RecordedRequest], Reply]) -> None:
        with self._lock:
            self.script.extend(replies)

    def start(self) -> ScriptedModelServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> ScriptedModelServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def remaining(self) -> int:
        return len(self.script)

    # --- serving ---------------------------------------------------------------------------

    def _next(self, request: RecordedRequest) -> Reply:
        with self._lock:
            self.requests.append(request)
            if not self.script:
                return fail(500, message="script exhausted: the agent asked for more turns")
            step = self.script.pop(0)
        return step(request) if callable(step) else step

    def _refusal(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
        """The status and error a stricter real server would answer `body` with, if any."""
        for name in self.unsupported:
            outer, _, inner = name.partition(".")
            present = outer in body and (not inner or inner in (body[outer] or {}))
            if present and (name != "stream" or body.get("stream")):
                return _unsupported(name, self.unsupported_style)
        if self.refuse_null_content and any(
            isinstance(m, dict) and "content" in m and m["content"] is None
            for m in body.get("messages") or []
        ):
            return 400, {"error": {"message": "invalid message content type: <nil>",
                                   "type": "invalid_request_error", "param": None, "code": None}}
        if self.context_limit is not None:
            size = len(json.dumps(body.get("messages") or body.get("input") or []))
            if size > self.context_limit:
                return 400, {"error": {
                    "message": f"This model's maximum context length is {self.context_limit} "
                               f"tokens. However, you requested {size} tokens in the messages. "
                               "Please reduce the length of the messages.",
                    "type": "BadRequestError", "param": None, "code": 400}}
        return None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw or b"{}")
                except json.JSONDecodeError:
                    self._send(400, _error("request body is not JSON"), "application/json")
                    return
                if self.path not in ("/v1/chat/completions", "/v1/responses"):
                    self._send(404, _error(f"no route {self.path}"), "application/json")
                    return
                headers = {k.lower(): v for k, v in self.headers.items()}
                request = RecordedRequest(self.path, headers, body, time.monotonic())
                problem = (_check_chat if request.api == "chat" else _check_responses)(body)
                if problem:
                    with server._lock:
                        server.requests.append(request)
                        server.problems.append(problem)
                    self._send(400, _error(problem), "application/json")
                    return
                refusal = server._refusal(body)
                if refusal:
                    with server._lock:
                        server.requests.append(request)
                    self._send(refusal[0], json.dumps(refusal[1]).encode(), "application/json")
                    return
                scripted = server._next(request)
                if scripted.delay and self._hung_up_within(scripted.delay):
                    with server._lock:
                        server.hung_up.append(request)
                    return
                if scripted.status != 200:
                    self._send(scripted.status, scripted.error_body.encode(), "application/json",
                               scripted.headers)
                    return
                n = next(server._ids)
                stream = bool(body.get("stream")) and not server.ignore_stream
                usage = not server.omit_usage
                if request.api == "chat":
                    payload = (_chat_stream(scripted, server.model, n, usage) if stream
                               else json.dumps(_chat_completion(scripted, server.model, n, usage)))
                else:
                    payload = (_responses_stream(scripted, server.model, n, usage,
                                                 server.bare_final) if stream
                               else json.dumps(_response(scripted, server.model, n, usage=usage)))
                if stream and scripted.cut_stream:
                    payload = payload[: len(payload) // 2]
                kind = "text/event-stream" if stream else "application/json"
                if scripted.reset:
                    self._send_half(payload.encode(), kind)
                elif stream and scripted.stall:
                    self._send_stalled(payload.encode(), kind, scripted.stall, request)
                elif scripted.chunked:
                    self._send_chunked(payload.encode(), kind)
                else:
                    self._send(200, payload.encode(), kind, scripted.headers)

            def _hung_up_within(self, seconds: float) -> bool:
                """Wait `seconds` before answering, as a slow model does; True as soon as the
                client closes the connection meanwhile (it gave up, or was made to)."""
                end = time.monotonic() + seconds
                while (left := end - time.monotonic()) > 0:
                    readable, _, _ = select.select([self.connection], [], [], left)
                    if readable:
                        try:
                            if not self.connection.recv(1, socket.MSG_PEEK):
                                return True
                        except OSError:
                            return True
                        time.sleep(max(0.0, end - time.monotonic()))  # more bytes: not a hang-up
                return False

            def _send_stalled(self, data: bytes, kind: str, seconds: float,
                              request: RecordedRequest) -> None:
                """The stream's first event, then nothing for `seconds` (unless the client
                hangs up: listed in `hung_up`), then the rest."""
                first, rest = data.split(b"\n\n", 1)
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for piece in (first + b"\n\n", rest):
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                    self.wfile.flush()
                    if piece is not rest:
                        with server._lock:
                            server.stalled.append(request)
                        if self._hung_up_within(seconds):
                            with server._lock:
                                server.hung_up.append(request)
                            return
                self.wfile.write(b"0\r\n\r\n")

            def _send_half(self, data: bytes, kind: str) -> None:
                """Promise the whole body, send half of it, then drop the connection."""
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)

            def _send_chunked(self, data: bytes, kind: str, size: int = 13) -> None:
                """Chunked transfer encoding in small writes: SSE lines and JSON split anywhere."""
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for i in range(0, len(data), size):
                    piece = data[i:i + size]
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")

            def _send(self, status: int, data: bytes, kind: str,
                      headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        return Handler


def _unsupported(name: str, style: str) -> tuple[int, dict[str, Any]]:
    """The status and body refusing the request field `name`, as real servers word it."""
    if style == "azure":
        return 400, {"error": {"message": f"Unrecognized request argument supplied: {name}",
                               "type": "invalid_request_error", "param": None, "code": None}}
    if name == "reasoning.summary":  # OpenAI, to an organization not yet verified
        return 400, {"error": {"message": "Your organization must be verified to generate "
                                          "reasoning summaries. Please go to: https://platform."
                                          "openai.com/settings/organization/general and click on"
                                          " Verify Organization.",
                               "type": "invalid_request_error", "param": "reasoning.summary",
                               "code": "unsupported_value"}}
    if style == "llamacpp" and name == "stream":  # its server.cpp, before tool streaming
        return 501, {"error": {"code": 501, "message": "Cannot use tools with stream",
                               "type": "not_supported_error"}}
    return 400, {"error": {"message": f"Unsupported parameter: '{name}' is not supported with "
                                      "this model.", "type": "invalid_request_error",
                           "param": name, "code": "unsupported_parameter"}}


def _error(message: str) -> bytes:
    return json.dumps({"error": {"message": message, "type": "invalid_request_error",
                                 "code": None, "param": None}}).encode()


def _check_chat(body: dict[str, Any]) -> str:
    if not body.get("model"):
        return "model is required"
    pending: set[str] = set()
    for message in body.get("messages") or []:
        role = message.get("role")
        if role == "assistant":
            for tc in message.get("tool_calls") or []:
                pending.add(tc.get("id"))
        elif role == "tool":
            if message.get("tool_call_id") not in pending:
                return f"tool message for unknown tool_call_id {message.get('tool_call_id')!r}"
            pending.discard(message.get("tool_call_id"))
        elif pending:
            return f"tool calls without results before a {role} message: {sorted(pending)}"
    if pending:
        return f"tool calls without results: {sorted(pending)}"
    return ""


def _check_responses(body: dict[str, Any]) -> str:
    if not body.get("model"):
        return "model is required"
    calls: set[str] = set()
    answered: set[str] = set()
    for item in body.get("input") or []:
        if not isinstance(item, dict):
            continue
        if item.get("type") == "function_call":
            calls.add(item.get("call_id"))
        elif item.get("type") == "function_call_output":
            if item.get("call_id") not in calls:
                return ("No tool call found for function call output with call_id "
                        f"{item.get('call_id')!r}.")
            answered.add(item.get("call_id"))
    if calls - answered:
        return f"No tool output found for function call {sorted(calls - answered)[0]}."
    return ""


def _call_id(scripted: ScriptedCall, n: int, k: int) -> str:
    return scripted.call_id or f"call_{n}_{k}"


def _with_id(scripted: ScriptedCall, n: int, k: int, fields: dict[str, Any]) -> dict[str, Any]:
    """`fields` with the call's id in front, unless the call is scripted to come without."""
    if scripted.call_id == NO_ID:
        return fields
    return {"id": _call_id(scripted, n, k), **fields}


def _finish(r: Reply) -> str:
    return r.finish_reason or ("tool_calls" if r.calls else "stop")


def _chat_usage(r: Reply) -> dict[str, int]:
    return {"prompt_tokens": r.input_tokens, "completion_tokens": r.output_tokens,
            "total_tokens": r.input_tokens + r.output_tokens}


def _chat_completion(r: Reply, model: str, n: int, usage: bool = True) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": r.text or None}
    if r.calls:
        message["tool_calls"] = [
            _with_id(c, n, k, {"type": "function",
                               "function": {"name": c.name, "arguments": c.arguments}})
            for k, c in enumerate(r.calls)
        ]
    body: dict[str, Any] = {
        "id": f"chatcmpl-{n}", "object": "chat.completion", "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": _finish(r)}],
    }
    if usage:
        body["usage"] = _chat_usage(r)
    return body


def _sse(data: dict[str, Any] | str, event: str | None = None) -> str:
    text = data if isinstance(data, str) else json.dumps(data)
    return (f"event: {event}\n" if event else "") + f"data: {text}\n\n"


def _chat_stream(r: Reply, model: str, n: int, usage: bool = True) -> str:
    base = {"id": f"chatcmpl-{n}", "object": "chat.completion.chunk",
            "created": int(time.time()), "model": model}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
        return _sse({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})

    out = [chunk({"role": "assistant", "content": ""})]
    if r.stream_error is not None:  # vLLM: `data: {"error": …}` in the stream, then the end
        return "".join([*out, _sse({"error": r.stream_error})])
    if r.reasoning:
        out.append(chunk({"reasoning_content": r.reasoning}))
    for piece in _pieces(r.text):
        out.append(chunk({"content": piece}))
    for k, c in enumerate(r.calls):
        if r.call_index in ("missing", "zero"):  # each call whole in one delta, as Ollama does
            whole = _with_id(c, n, k, {"type": "function",
                                       "function": {"name": c.name, "arguments": c.arguments}})
            if r.call_index == "zero":
                whole = {"index": 0, **whole}
            out.append(chunk({"tool_calls": [whole]}))
            continue
        out.append(chunk({"tool_calls": [_with_id(c, n, k, {
            "index": k, "type": "function", "function": {"name": c.name, "arguments": ""}})]}))
        for piece in _pieces(c.arguments):
            if r.call_index == "repeat":  # every delta repeats the id and name (some proxies)
                out.append(chunk({"tool_calls": [_with_id(c, n, k, {
                    "index": k, "type": "function",
                    "function": {"name": c.name, "arguments": piece}})]}))
                continue
            out.append(chunk({"tool_calls": [{"index": k, "function": {"arguments": piece}}]}))
    out.append(chunk({}, _finish(r)))
    if usage:
        out.append(_sse({**base, "choices": [], "usage": _chat_usage(r)}))
    if not r.no_done:
        out.append(_sse("[DONE]"))
    return "".join(out)


def _pieces(text: str, size: int = 7) -> list[str]:
    return [text[i:i + size] for i in range(0, len(text), size)]


def _output_items(r: Reply, n: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    if r.reasoning:
        item = {"type": "reasoning", "id": f"rs_{n}",
                "summary": [{"type": "summary_text", "text": r.reasoning}]}
        if r.encrypted_reasoning:
            item["encrypted_content"] = r.encrypted_reasoning
        items.append(item)
    if r.text:
        items.append({"type": "message", "id": f"msg_{n}", "status": "completed",
                      "role": "assistant",
                      "content": [{"type": "output_text", "text": r.text, "annotations": []}]})
    for k, c in enumerate(r.calls):
        items.append({"type": "function_call", "id": f"fc_{n}_{k}",
                      "call_id": "" if c.call_id == NO_ID else _call_id(c, n, k),
                      "name": c.name, "arguments": c.arguments, "status": "completed"})
    return items


def _response(r: Reply, model: str, n: int, status: str = "",
              usage: bool = True) -> dict[str, Any]:
    done = not status
    if done:
        status = "incomplete" if r.finish_reason == "length" else "completed"
    body: dict[str, Any] = {
        "id": f"resp_{n}", "object": "response", "created_at": int(time.time()),
        "status": status, "model": model,
        "output": _output_items(r, n) if done else [],
        "parallel_tool_calls": True, "tool_choice": "auto", "tools": [], "error": None,
        "incomplete_details": ({"reason": "max_output_tokens"} if status == "incomplete"
                               else None),
        "instructions": None, "metadata": {}, "temperature": 1.0, "top_p": 1.0,
    }
    if usage:
        body["usage"] = {"input_tokens": r.input_tokens, "output_tokens": r.output_tokens,
                         "total_tokens": r.input_tokens + r.output_tokens,
                         "input_tokens_details": {"cached_tokens": 0},
                         "output_tokens_details": {"reasoning_tokens": 0}}
    return body


def _responses_stream(r: Reply, model: str, n: int, usage: bool = True,
                      bare_final: bool = False) -> str:
    seq = itertools.count()

    def event(kind: str, **data: Any) -> str:
        return _sse({"type": kind, "sequence_number": next(seq), **data}, kind)

    out = [event("response.created", response=_response(r, model, n, "in_progress"))]
    if r.stream_error is not None:
        failed = {**_response(r, model, n, "failed"), "error": r.stream_error}
        return "".join([*out, event("response.failed", response=failed)])
    for index, item in enumerate(_output_items(r, n)):
        if item["type"] == "message":
            out.append(event("response.output_item.added", output_index=index,
                             item={**item, "status": "in_progress", "content": []}))
            for piece in _pieces(r.text):
                out.append(event("response.output_text.delta", item_id=item["id"],
                                 output_index=index, content_index=0, delta=piece, logprobs=[]))
            out.append(event("response.output_text.done", item_id=item["id"], output_index=index,
                             content_index=0, text=r.text, logprobs=[]))
        elif item["type"] == "function_call":
            out.append(event("response.output_item.added", output_index=index,
                             item={**item, "arguments": "", "status": "in_progress"}))
            for piece in _pieces(item["arguments"]):
                out.append(event("response.function_call_arguments.delta", item_id=item["id"],
                                 output_index=index, delta=piece))
            out.append(event("response.function_call_arguments.done", item_id=item["id"],
                             output_index=index, arguments=item["arguments"]))
        else:
            out.append(event("response.output_item.added", output_index=index, item=item))
        out.append(event("response.output_item.done", output_index=index, item=item))
    final = _response(r, model, n, usage=usage)
    if bare_final:
        final["output"] = []
    out.append(event(f"response.{final['status']}", response=final))
    return "".join(out)
