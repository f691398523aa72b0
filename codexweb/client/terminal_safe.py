"""What the CLI prints comes from the agent (its messages, the commands' output, the summary,
file names): untrusted text. Written raw to a terminal, escape sequences in it would act on
the person's terminal — set the clipboard (OSC 52), disguise a link (OSC 8), retitle the window,
hide lines or move the cursor over them — so the CLI writes through this filter, which removes
them (and every other control character) the way the web page does."""

from __future__ import annotations

from typing import TextIO, cast

from tasks.rendering.terminal import plain_terminal_text


class TerminalSafe:
    """`stream` without escape sequences or control characters (tab and line feed stay). `raw`
    is the stream itself, for bytes that must stay exact (a patch piped to `git apply`)."""

    def __init__(self, stream: TextIO) -> None:
        self.raw = stream

    def write(self, text: str) -> int:
        return self.raw.write(plain_terminal_text(text))

    def flush(self) -> None:
        self.raw.flush()

    def isatty(self) -> bool:
        return self.raw.isatty()


def terminal_safe(stream: TextIO) -> TextIO:
    """`stream` behind the filter (a handler's `out` and `err` stay typed as streams)."""
    return cast(TextIO, TerminalSafe(stream))


def exact(stream: TextIO) -> TextIO:
    """The stream under the filter when it is not a terminal (a file, a pipe): a patch must
    reach `git apply` byte for byte; on a terminal it stays filtered."""
    if isinstance(stream, TerminalSafe) and not stream.isatty():
        return stream.raw
    return stream
