"""Collect one command's output: decode as it arrives, stream chunks, cap what is kept.

Streamed chunks may be gathered for a moment (`batch_seconds`): a chatty command (a test
runner printing a line per test) would otherwise cost one event — a database insert, a commit
and a channel-layer send — per pipe read. Pieces of one stream that arrive within the window
become one chunk; a piece of the other stream, a note, or the end delivers what was gathered
first, so the order (and the text) the page replays is exactly the order that arrived."""

from __future__ import annotations

import codecs
import time

from tasks.sandbox.base import OnOutput, OutputChunk, Stream


class OutputCollector:
    """Interleaves stdout and stderr in arrival order, up to `max_bytes` of UTF-8 text.

    Chunks are passed to `on_output` until the cap is reached; after that the output is only
    counted, and `text()` ends with a note saying how much was left out."""

    def __init__(
        self,
        *,
        max_bytes: int,
        on_output: OnOutput | None,
        started: float,
        batch_seconds: float = 0.0,
    ) -> None:
        self.max_bytes = max(0, max_bytes)
        self.on_output = on_output
        self.started = started
        self.batch_seconds = max(0.0, batch_seconds)
        self._pending: list[str] = []
        self._pending_stream: Stream = "stdout"
        self._pending_at = 0.0
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
            self._gather(stream, text)

    def _gather(self, stream: Stream, text: str) -> None:
        now = time.monotonic()
        if self._pending and stream != self._pending_stream:
            self.flush()
        if not self._pending:
            self._pending_stream, self._pending_at = stream, now
        self._pending.append(text)
        if now - self._pending_at >= self.batch_seconds:
            self.flush()

    def flush(self) -> None:
        """Deliver what was gathered (one chunk, stamped when its first piece arrived)."""
        if not self._pending or self.on_output is None:
            return
        text, self._pending = "".join(self._pending), []
        self.on_output(
            OutputChunk(stream=self._pending_stream, text=text, at=self._pending_at - self.started)
        )

    def flush_in(self) -> float | None:
        """Seconds until what was gathered is due (None when nothing is waiting)."""
        if not self._pending:
            return None
        return max(0.0, self._pending_at + self.batch_seconds - time.monotonic())

    def flush_due(self) -> None:
        """Deliver what was gathered if its window has passed."""
        if self._pending and self.flush_in() == 0.0:
            self.flush()

    def finish(self) -> None:
        for stream in ("stdout", "stderr"):
            self.feed(stream, b"", final=True)  # type: ignore[arg-type]
        self.flush()

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
        self.flush()
        self._parts.append(text)
        if self.on_output is not None:
            self.on_output(
                OutputChunk(stream="stderr", text=text, at=time.monotonic() - self.started)
            )
