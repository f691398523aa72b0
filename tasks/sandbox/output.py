"""Collect one command's output: decode as it arrives, stream chunks, cap what is kept."""

from __future__ import annotations

import codecs
import time

from tasks.sandbox.base import OnOutput, OutputChunk, Stream


class OutputCollector:
    """Interleaves stdout and stderr in arrival order, up to `max_bytes` of UTF-8 text.

    Chunks are passed to `on_output` until the cap is reached; after that the output is only
    counted, and `text()` ends with a note saying how much was left out."""

    def __init__(self, *, max_bytes: int, on_output: OnOutput | None, started: float) -> None:
        self.max_bytes = max(0, max_bytes)
        self.on_output = on_output
        self.started = started
        self.kept = 0
        self.dropped = 0
        self._parts: list[str] = []
        self._decoders = {
            "stdout": codecs.getincrementaldecoder("utf-8")(errors="replace"),
            "stderr": codecs.getincrementaldecoder("utf-8")(errors="replace"),
        }

    @property
    def truncated(self) -> bool:
        return self.dropped > 0

    def feed(self, stream: Stream, data: bytes, *, final: bool = False) -> None:
        text = self._decoders[stream].decode(data, final=final)
        if not text:
            return
        room = self.max_bytes - self.kept
        encoded = text.encode()
        if len(encoded) > room:
            keep = encoded[: max(room, 0)].decode("utf-8", errors="ignore")
            self.dropped += len(encoded) - len(keep.encode())
            text = keep
            encoded = keep.encode()
        if not text:
            return
        self.kept += len(encoded)
        self._parts.append(text)
        if self.on_output is not None:
            self.on_output(
                OutputChunk(stream=stream, text=text, at=time.monotonic() - self.started)
            )

    def finish(self) -> None:
        for stream in ("stdout", "stderr"):
            self.feed(stream, b"", final=True)  # type: ignore[arg-type]

    def text(self) -> str:
        out = "".join(self._parts)
        if self.truncated:
            note = (
                f"\n[output truncated: {self.dropped} more bytes were not kept; "
                f"the limit is {self.max_bytes} bytes]\n"
            )
            out += note
        return out

    def note(self, message: str) -> None:
        """Append a line the person and the model should see (timeouts, limits)."""
        text = f"\n[{message}]\n"
        self._parts.append(text)
        if self.on_output is not None:
            self.on_output(
                OutputChunk(stream="stderr", text=text, at=time.monotonic() - self.started)
            )
