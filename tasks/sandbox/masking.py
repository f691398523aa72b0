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

import base64
import json
import urllib.parse
from collections.abc import Callable, Iterable

from tasks.sandbox.base import OnOutput, OutputChunk, Stream

MASK = "***"
MAX_PENDING = 8192
# An encoded form shorter than this is not looked for: it would match ordinary text.
MIN_ENCODED = 8


def encoded_forms(value: str) -> set[str]:
    """The forms a program commonly re-encodes a secret into, besides the value itself:
    URL-encoded (`quote`, `quote_plus`), JSON-escaped, and base64 (standard and URL-safe) —
    whole, and as the run of characters that depends only on the value at each of the three
    alignments it can have inside a longer base64 text (npm's `_auth` and docker's
    `config.json` "auth" are base64 of "user:SECRET"). Forms shorter than MIN_ENCODED are left
    out. Not covered: line-wrapped base64 of long values, hex, other encodings."""
    forms = {
        urllib.parse.quote(value, safe=""),
        urllib.parse.quote_plus(value, safe=""),
        json.dumps(value)[1:-1],
    }
    data = value.encode()
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + data).decode()
        # Characters whose 6 bits all come from the value: after the padding bytes' bits, and
        # before the last (partial) group.
        start = (4 * offset + 2) // 3
        end = (8 * (offset + len(data)) - 6) // 6 + 1
        fragment = encoded[start:end]
        forms.update({fragment, fragment.replace("+", "-").replace("/", "_")})
        if offset == 0:
            forms.update({encoded, base64.urlsafe_b64encode(data).decode()})
    return {form for form in forms if len(form) >= MIN_ENCODED and form != value}


def secret_forms(secrets: Iterable[str]) -> tuple[str, ...]:
    """Every value and its `encoded_forms`, longest first (so a secret that contains another is
    masked whole); empty values are dropped."""
    forms: set[str] = set()
    for value in secrets:
        if value:
            forms.add(value)
            forms.update(encoded_forms(value))
    return tuple(sorted(forms, key=len, reverse=True))


def _values(secrets: Iterable[str]) -> tuple[str, ...]:
    return secret_forms(secrets)


def mask(text: str, secrets: Iterable[str]) -> str:
    """`text` with every occurrence of every non-empty secret value, and of its common encoded
    forms, replaced by ***."""
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
