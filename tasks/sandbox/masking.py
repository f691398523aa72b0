"""Mask secret values in output before it leaves the host (events, setup-run logs, errors).

Output arrives in chunks cut anywhere, so a secret may be split across two chunks. The
`LineMasker` therefore only emits complete lines (ending in "\\n" or "\\r"), masked as a whole,
and keeps the unfinished rest until more arrives or `close()` (a secret that itself holds line
breaks makes it also keep the last len(longest secret) - 1 characters). A line that grows past
`max_pending` characters without ending is emitted anyway, minus a tail long enough to hold the
start of any secret, so a program that never prints a newline cannot make us hold everything.
Pure Python, no Django.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from tasks.sandbox.base import OnOutput, OutputChunk, Stream

MASK = "***"
MAX_PENDING = 8192


def _values(secrets: Iterable[str]) -> tuple[str, ...]:
    # Longest first, so a secret that contains another is masked whole.
    return tuple(sorted({s for s in secrets if s}, key=len, reverse=True))


def mask(text: str, secrets: Iterable[str]) -> str:
    """`text` with every occurrence of every non-empty secret value replaced by ***."""
    for value in _values(secrets):
        text = text.replace(value, MASK)
    return text


class LineMasker:
    """Feed text in arbitrary pieces; `emit` receives masked text, whole lines at a time.

    `close()` emits whatever is left (masked). Nothing unmasked ever reaches `emit`, whichever way
    the input was cut.
    """

    def __init__(
        self, secrets: Iterable[str], emit: Callable[[str], None], *, max_pending: int = MAX_PENDING
    ) -> None:
        self.values = _values(secrets)
        self.emit = emit
        self._longest = max((len(v) for v in self.values), default=0)
        self._multiline = any("\n" in v or "\r" in v for v in self.values)
        self.max_pending = max(max_pending, self._longest)
        self._pending = ""
        self._closed = False

    def feed(self, text: str) -> None:
        if self._closed:
            raise ValueError("this masker was closed")
        if not text:
            return
        self._pending += text
        buffer = self._pending
        keep_from = len(buffer) - max(self._longest - 1, 0)  # may start an unfinished secret
        end = max(buffer.rfind("\n"), buffer.rfind("\r")) + 1
        if self._multiline:
            # A secret with line breaks may continue after a line end: cut no later than here.
            end = min(end, keep_from)
        if end <= 0 and len(buffer) > self.max_pending:
            end = keep_from
        end = self._not_through_a_secret(end)
        if end > 0:
            ready, self._pending = buffer[:end], buffer[end:]
            self._send(ready)

    def close(self) -> None:
        """Emit the unfinished rest (masked). Idempotent."""
        if self._closed:
            return
        self._closed = True
        rest, self._pending = self._pending, ""
        self._send(rest)

    def _send(self, text: str) -> None:
        if text:
            self.emit(mask(text, self.values))

    def _not_through_a_secret(self, split: int) -> int:
        """Move `split` back to the start of any complete secret in the buffer it would cut."""
        buffer = self._pending
        moved = True
        while moved and split > 0:
            moved = False
            for value in self.values:
                start = buffer.find(value, max(0, split - len(value) + 1))
                if 0 <= start < split < start + len(value):
                    split, moved = start, True
        return max(split, 0)


class MaskedOutput:
    """An `OnOutput` that masks secrets before passing chunks on (one line buffer per stream).

    Call `close()` when the command ended, to pass on the unfinished last lines.
    """

    def __init__(self, secrets: Iterable[str], on_output: OnOutput) -> None:
        self.secrets = _values(secrets)
        self.on_output = on_output
        self._maskers: dict[Stream, LineMasker] = {}
        self._at = 0.0

    def __call__(self, chunk: OutputChunk) -> None:
        self._at = chunk.at
        masker = self._maskers.get(chunk.stream)
        if masker is None:
            masker = self._maskers[chunk.stream] = LineMasker(
                self.secrets, self._emitter(chunk.stream)
            )
        masker.feed(chunk.text)

    def _emitter(self, stream: Stream) -> Callable[[str], None]:
        def emit(text: str) -> None:
            self.on_output(OutputChunk(stream=stream, text=text, at=self._at))

        return emit

    def close(self) -> None:
        for masker in self._maskers.values():
            masker.close()
