"""The two wire APIs: Chat Completions (vLLM, llama.cpp, Ollama) and Responses (OpenAI's current
models). Builds request bodies from the neutral conversation and reads streamed replies back.

References: https://platform.openai.com/docs/api-reference/chat-streaming and
https://platform.openai.com/docs/api-reference/responses-streaming
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tasks.agent.conversation import Item, Message, Reasoning, ToolCall, ToolOutput
from tasks.agent.records import Usage

_ids = itertools.count(1)


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    parameters: dict[str, Any]


@dataclass
class ModelTurn:
    """One reply of the model: text, tool calls, reasoning and the tokens it cost."""

    text: str = ""
    reasoning: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    reasoning_items: list[Reasoning] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    attempts: int = 1  # HTTP attempts, retries included
    finish_reason: str = ""

    def items(self) -> list[Item]:
        """The conversation items this reply adds, in the order the API expects them back."""
        out: list[Item] = list(self.reasoning_items)
        if self.text:
            out.append(Message("assistant", self.text))
        out.extend(self.tool_calls)
        return out


# --- Chat Completions ------------------------------------------------------------------------


def chat_messages(system: str, items: list[Item]) -> list[dict[str, Any]]:
    """Chat messages: an assistant message carries the tool calls that follow its text."""
    messages: list[dict[str, Any]] = [{"role": "system", "content": system}]
    for item in items:
        if isinstance(item, Message):
            messages.append({"role": item.role, "content": _chat_content(item)})
        elif isinstance(item, ToolCall):
            last = messages[-1]
            if last["role"] != "assistant":
                # "" rather than null: OpenAI takes either; some local servers refuse null.
                last = {"role": "assistant", "content": ""}
                messages.append(last)
            last.setdefault("tool_calls", []).append(
                {
                    "id": item.call_id,
                    "type": "function",
                    "function": {"name": item.name, "arguments": item.arguments},
                }
            )
        elif isinstance(item, ToolOutput):
            messages.append({"role": "tool", "tool_call_id": item.call_id, "content": item.output})
        # Reasoning items exist only on the Responses API.
    return messages


def _content(
    message: Message, text_part: str, image_part: Callable[[str], dict[str, Any]]
) -> str | list[dict[str, Any]]:
    """Plain text, or a text part and one image part per image (data URLs), in the wire API's
    own part types: `text_part` names the text's, `image_part(data_url)` makes an image's."""
    if not message.images:
        return message.text
    parts: list[dict[str, Any]] = [{"type": text_part, "text": message.text}]
    parts.extend(image_part(image.data_url) for image in message.images)
    return parts


def _chat_content(message: Message) -> str | list[dict[str, Any]]:
    """Chat Completions: `text` and `image_url` parts."""
    return _content(message, "text", lambda url: {"type": "image_url", "image_url": {"url": url}})


def chat_tools(tools: list[ToolSpec]) -> list[dict[str, Any]]:
    return [
        {
            "type": "function",
            "function": {"name": t.name, "description": t.description, "parameters": t.parameters},
        }
        for t in tools
    ]


@dataclass
class ChatStream:
    """Accumulates `chat.completion.chunk`s into one ModelTurn.

    Tool calls arrive as deltas keyed by `index`. Some servers send each call whole, without an
    index (Ollama) or all at index 0 (some llama.cpp builds): a delta that brings a new id and
    a name starts a new call, so parallel calls are never glued into one."""

    text: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    calls: dict[int, dict[str, Any]] = field(default_factory=dict)
    usage: Usage = field(default_factory=Usage)
    finish_reason: str = ""
    _slots: dict[Any, int] = field(default_factory=dict)  # the server's index -> our slot

    def feed(self, chunk: Any) -> None:
        if getattr(chunk, "usage", None):
            self.usage = _chat_usage(chunk.usage)
        for choice in chunk.choices or []:
            delta = choice.delta
            if delta is None:
                continue
            if delta.content:
                self.text.append(delta.content)
            extra = getattr(delta, "model_extra", None) or {}
            thought = extra.get("reasoning_content") or extra.get("reasoning")
            if isinstance(thought, str) and thought:
                self.reasoning.append(thought)
            for call in delta.tool_calls or []:
                self._feed_call(call)
            if choice.finish_reason:
                self.finish_reason = choice.finish_reason

    def _feed_call(self, call: Any) -> None:
        function = call.function
        name = getattr(function, "name", None) or ""
        arguments = getattr(function, "arguments", None) or ""
        key = getattr(call, "index", None)
        slot = self.calls.get(self._slots[key]) if key in self._slots else None
        # A name for a call that has one already is a new call, unless the same id says it
        # is this call again (proxies that repeat id and name on every delta).
        starts_anew = slot is None or (
            name and slot["name"] and not (call.id and call.id == slot["id"])
        )
        if starts_anew:
            self._slots[key] = len(self.calls)
            slot = self.calls[self._slots[key]] = {"id": "", "name": "", "arguments": ""}
        assert slot is not None
        if call.id:
            slot["id"] = call.id
        if name != slot["name"]:  # some proxies repeat the whole name on every delta
            slot["name"] += name
        slot["arguments"] += arguments

    def turn(self) -> ModelTurn:
        calls = [ToolCall(slot["id"], slot["name"], slot["arguments"])
                 for _, slot in sorted(self.calls.items())]
        thought, text = split_thinking("".join(self.text))
        return ModelTurn(
            text=text,
            reasoning="\n\n".join(t for t in ("".join(self.reasoning).strip(), thought) if t),
            tool_calls=unique_call_ids(calls),
            usage=self.usage,
            finish_reason=self.finish_reason,
        )


def split_thinking(text: str) -> tuple[str, str]:
    """(thinking, answer) of a reply: a local reasoning model served without a reasoning
    parser (DeepSeek-R1, Qwen3 on llama.cpp or vLLM) writes its thoughts into the text as
    `<think>…</think>`, sometimes without the opening tag (the template sent it). Thoughts shown
    as the answer would reach the summary and its citation check."""
    head, sep, tail = text.partition("</think>")
    if not sep:
        return "", text.strip()
    return head.strip().removeprefix("<think>").strip(), tail.strip()


_TOOL_CALL_TAG = re.compile(r"<tool_call>\s*(.*?)\s*</tool_call>", re.DOTALL)
_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL)


def tool_calls_in_text(turn: ModelTurn, offered: set[str]) -> ModelTurn:
    """A reply whose tool calls came as text, read as the tool calls they are: a local model
    served without a tool-call parser for its format (Qwen on Ollama, Hermes-style models)
    writes `<tool_call>{"name": …, "arguments": …}</tool_call>`, or only that JSON object.
    Taken for calls only when every block parses and names an offered tool; otherwise the
    reply stays text."""
    if turn.tool_calls or not turn.text:
        return turn
    blocks = _TOOL_CALL_TAG.findall(turn.text)
    text = _TOOL_CALL_TAG.sub("", turn.text).strip()
    if not blocks:
        fenced = _FENCE.match(turn.text.strip())
        blocks, text = [fenced.group(1) if fenced else turn.text.strip()], ""
        if not blocks[0].startswith("{"):
            return turn
    calls = []
    for block in blocks:
        try:
            data = json.loads(block)
        except json.JSONDecodeError:
            return turn
        if not isinstance(data, dict) or data.get("name") not in offered:
            return turn
        arguments = data.get("arguments", data.get("parameters", {}))
        raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
        calls.append(ToolCall("", str(data["name"]), raw))
    turn.tool_calls, turn.text = unique_call_ids(calls), text
    return turn


def turn_from_chat_completion(completion: Any) -> ModelTurn:
    """A ModelTurn from a whole (not streamed) `chat.completion`, for servers that cannot
    stream (old llama.cpp refuses to stream with tools)."""
    stream = ChatStream()
    if completion.usage:
        stream.usage = _chat_usage(completion.usage)
    for choice in completion.choices[:1]:
        message = choice.message
        if message.content:
            stream.text.append(message.content)
        extra = getattr(message, "model_extra", None) or {}
        thought = extra.get("reasoning_content") or extra.get("reasoning")
        if isinstance(thought, str):
            stream.reasoning.append(thought)
        for call in message.tool_calls or []:
            stream.calls[len(stream.calls)] = {
                "id": call.id or "", "name": call.function.name or "",
                "arguments": call.function.arguments or ""}
        stream.finish_reason = choice.finish_reason or "stop"
    return stream.turn()


def unique_call_ids(calls: list[ToolCall], taken: set[str] | None = None) -> list[ToolCall]:
    """`calls` with an id each, none repeated nor in `taken` (which grows): a server that
    sends no id, or the same id twice, would otherwise get tool results it cannot match. Ids
    made here are nine letters and digits, the form Mistral's chat template on vLLM insists on
    (any string does for the others)."""
    seen = taken if taken is not None else set()
    out = []
    for c in calls:
        call_id = c.call_id
        while not call_id or call_id in seen:
            call_id = f"cw{next(_ids) % 10**7:07d}"
        seen.add(call_id)
        out.append(c if call_id == c.call_id else ToolCall(call_id, c.name, c.arguments))
    return out


def _chat_usage(usage: Any) -> Usage:
    details = getattr(usage, "prompt_tokens_details", None)
    cached = getattr(details, "cached_tokens", 0) if details else 0
    return Usage(
        input_tokens=usage.prompt_tokens or 0,
        output_tokens=usage.completion_tokens or 0,
        cached_input_tokens=cached or 0,
    )


# --- Responses -------------------------------------------------------------------------------


def responses_input(items: list[Item]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, Message):
            out.append({"role": item.role, "content": _responses_content(item)})
        elif isinstance(item, ToolCall):
            out.append(
                {
                    "type": "function_call",
                    "call_id": item.call_id,
                    "name": item.name,
                    "arguments": item.arguments,
                }
            )
        elif isinstance(item, ToolOutput):
            out.append({"type": "function_call_output", "call_id": item.call_id,
                        "output": item.output})
        elif isinstance(item, Reasoning) and item.item:
            out.append(item.item)
    return out


def _responses_content(message: Message) -> str | list[dict[str, Any]]:
    """Responses: `input_text` and `input_image` parts."""
    return _content(message, "input_text",
                    lambda url: {"type": "input_image", "image_url": url, "detail": "auto"})


def responses_tools(tools: list[ToolSpec]) -> list[dict[str, Any]]:
    return [
        {
            "type": "function",
            "name": t.name,
            "description": t.description,
            "parameters": t.parameters,
            "strict": False,
        }
        for t in tools
    ]


def turn_from_response(response: Any) -> ModelTurn:
    """A ModelTurn from a completed (or incomplete) Responses API `response` object."""
    turn = ModelTurn(finish_reason=str(getattr(response, "status", "") or ""))
    texts: list[str] = []
    summaries: list[str] = []
    for item in response.output or []:
        kind = getattr(item, "type", "")
        if kind == "message":
            for part in item.content or []:
                if getattr(part, "type", "") == "output_text":
                    texts.append(part.text)
        elif kind == "function_call":
            turn.tool_calls.append(ToolCall(item.call_id or "", item.name, item.arguments or ""))
        elif kind == "reasoning":
            summaries.extend(s.text for s in (item.summary or []) if getattr(s, "text", ""))
            if getattr(item, "encrypted_content", None):
                # Stateless mode (store=False): the model needs its encrypted reasoning back.
                turn.reasoning_items.append(
                    Reasoning(item.model_dump(exclude_none=True, exclude={"status"}))
                )
    turn.tool_calls = unique_call_ids(turn.tool_calls)
    turn.text = "".join(texts).strip()
    turn.reasoning = "\n\n".join(summaries).strip()
    usage = getattr(response, "usage", None)
    if usage is not None:
        details = getattr(usage, "input_tokens_details", None)
        turn.usage = Usage(
            input_tokens=usage.input_tokens or 0,
            output_tokens=usage.output_tokens or 0,
            cached_input_tokens=(getattr(details, "cached_tokens", 0) or 0) if details else 0,
        )
    return turn
