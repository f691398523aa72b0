"""Collect one command's output: decode as it arrives, stream chunks, cap what is kept.

Streamed chunks may be gathered for a moment (`batch_seconds`): a chatty command (a test
runner printing a line per test) would otherwise cost one event — a database insert, a commit
and a channel-layer send — per pipe read. Pieces of one stream that arrive within the window
become one chunk; a piece of the other stream, a note, or the end delivers what was gathered
first, so the order (and the text) the page replays is the order the collector delivered.

stdout and stderr are two pipes, so their relative order is only what the reader saw: a line a
program writes to stderr in two writes can arrive around the shell's next stdout line
(`curl …; echo rc=$?` gave "CONNECT tunrc=56\nnel failed"). With a window, a stream's
unfinished line waits up to the window for its end while the other stream's whole lines go
ahead, so lines stay whole; the model reads `text()` and the page replays the same chunks."""

from __future__ import annotations

import codecs
import time

from tasks.sandbox.base import OnOutput, OutputChunk, Stream

MAX_HELD_LINE = 65536  # characters of one unfinished line held back before it goes anyway


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
        self._tails: dict[Stream, tuple[str, float]] = {}  # an unfinished line, held since
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
        now = time.monotonic()
        self._release_tails(older_than=now - self.batch_seconds)
        if self.batch_seconds <= 0:
            self._deliver(stream, text, now)
            return
        held, since = self._tails.pop(stream, ("", now))
        text = held + text
        cut = max(text.rfind("\n"), text.rfind("\r")) + 1
        if len(text) - cut > MAX_HELD_LINE:
            cut = len(text)
        if cut:
            self._deliver(stream, text[:cut], since)
        if cut < len(text):
            self._tails[stream] = (text[cut:], since if not cut else now)

    def _release_tails(self, *, older_than: float | None = None) -> None:
        """Deliver held unfinished lines (those held since before `older_than`; all if None),
        the longest-held first."""
        for stream, (text, since) in sorted(self._tails.items(), key=lambda item: item[1][1]):
            if older_than is None or since <= older_than:
                del self._tails[stream]
                self._deliver(stream, text, since)

    def _deliver(self, stream: Stream, text: str, at: float) -> None:
        self._parts.append(text)
        if self.on_output is not None:
            self._gather(stream, text, at)

    def _gather(self, stream: Stream, text: str, at: float) -> None:
        if self._pending and stream != self._pending_stream:
            self._send_pending()
        if not self._pending:
            self._pending_stream, self._pending_at = stream, at
        self._pending.append(text)
        if time.monotonic() - self._pending_at >= self.batch_seconds:
            self._send_pending()

    def _send_pending(self) -> None:
        if not self._pending or self.on_output is None:
            return
        text, self._pending = "".join(self._pending), []
        self.on_output(
            OutputChunk(stream=self._pending_stream, text=text, at=self._pending_at - self.started)
        )

    def flush(self) -> None:
        """Deliver everything held: unfinished lines, then what was gathered (one chunk per
        stream change, stamped when its first piece arrived)."""
        self._release_tails()
        self._send_pending()

    def flush_in(self) -> float | None:
        """Seconds until something held is due (None when nothing is waiting)."""
        starts = [since for _, since in self._tails.values()]
        if self._pending:
            starts.append(self._pending_at)
        if not starts:
            return None
        return max(0.0, min(starts) + self.batch_seconds - time.monotonic())

    def flush_due(self) -> None:
        """Deliver what is held if its window has passed."""
        now = time.monotonic()
        self._release_tails(older_than=now - self.batch_seconds)
        if self._pending and now - self._pending_at >= self.batch_seconds:
            self._send_pending()

    def finish(self) -> None:
        for stream in ("stdout", "stderr"):
            self.feed(stream, b"", final=True)  # type: ignore[arg-type]
        self.flush()

    def text(self) -> str:
        out = "".join(self._parts) + "".join(text for text, _ in self._tails.values())
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
