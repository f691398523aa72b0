"""The conversation with the model in a wire-neutral form; `wire.py` turns it into requests.

Items serialize to plain dicts (`to_dict`/`item_from_dict`) so a follow-up attempt can continue
from its parent's conversation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True)
class ImageInput:
    """An image the person attached: its decoded type and its bytes in base64."""

    media_type: str
    data: str

    @property
    def data_url(self) -> str:
        return f"data:{self.media_type};base64,{self.data}"


def images_payload(images: tuple[ImageInput, ...], *, follow_up: bool) -> dict[str, Any]:
    """The `images` event: how many went to the model, of which types, in words."""
    kinds = [i.media_type.removeprefix("image/").upper() for i in images]
    count = f"{len(images)} image{'s' if len(images) != 1 else ''}"
    what = "follow-up" if follow_up else "prompt"
    return {
        "count": len(images),
        "media_types": [i.media_type for i in images],
        "message": f"{count} ({', '.join(kinds)}) went to the model with the {what}.",
    }


@dataclass(frozen=True)
class Message:
    role: Literal["user", "assistant"]
    text: str
    images: tuple[ImageInput, ...] = ()  # a person's message only

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "message", "role": self.role, "text": self.text}
        if self.images:
            # Kept with the conversation so a follow-up's model still sees them.
            out["images"] = [{"media_type": i.media_type, "data": i.data} for i in self.images]
        return out


@dataclass(frozen=True)
class ToolCall:
    call_id: str
    name: str
    arguments: str  # raw JSON text, exactly as the model sent it

    def to_dict(self) -> dict[str, Any]:
        return {"type": "tool_call", "call_id": self.call_id, "name": self.name,
                "arguments": self.arguments}


@dataclass(frozen=True)
class ToolOutput:
    call_id: str
    output: str

    def to_dict(self) -> dict[str, Any]:
        return {"type": "tool_output", "call_id": self.call_id, "output": self.output}


@dataclass(frozen=True)
class Reasoning:
    """A Responses API reasoning item, passed back as-is so the model keeps its chain."""

    item: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"type": "reasoning", "item": self.item}


Item = Message | ToolCall | ToolOutput | Reasoning


TRIMMED = "[… the rest of this output was removed to fit the model's context window]"


def shrink_tool_outputs(items: list[Item], keep_chars: int = 400) -> bool:
    """Cut the older half of the long tool outputs (the last one too, when it is alone) to
    their first `keep_chars` characters, in place, so a conversation past the model's context
    window fits again; the head keeps the chunk id citations need. Returns whether anything
    got shorter."""
    long = [i for i, item in enumerate(items)
            if isinstance(item, ToolOutput) and len(item.output) > keep_chars + len(TRIMMED)]
    for i in long[: (len(long) + 1) // 2]:
        item = items[i]
        assert isinstance(item, ToolOutput)
        items[i] = ToolOutput(item.call_id, f"{item.output[:keep_chars]}\n{TRIMMED}")
    return bool(long)


def item_from_dict(data: dict[str, Any]) -> Item:
    """Rebuild an item from `to_dict` output; raises ValueError on anything else."""
    kind = data.get("type")
    if kind == "message" and data.get("role") in ("user", "assistant"):
        images = tuple(
            ImageInput(str(i["media_type"]), str(i["data"])) for i in data.get("images") or ()
        )
        return Message(data["role"], str(data.get("text", "")), images)
    if kind == "tool_call":
        return ToolCall(str(data["call_id"]), str(data["name"]), str(data.get("arguments", "")))
    if kind == "tool_output":
        return ToolOutput(str(data["call_id"]), str(data.get("output", "")))
    if kind == "reasoning":
        return Reasoning(dict(data.get("item") or {}))
    raise ValueError(f"Not a conversation item: {data!r}")
