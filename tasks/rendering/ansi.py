"""Terminal text to plain text: ANSI escape sequences and stray control characters removed."""

from __future__ import annotations

import re

# CSI (ESC [ ... final), OSC (ESC ] ... BEL or ESC \), and two-byte escapes (ESC + one char).
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]")
# C0 controls except tab and newline (carriage returns are handled line by line), plus DEL and C1.
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x80-\x9f]")


def strip_ansi(text: str) -> str:
    """`text` without escape sequences or control characters; a carriage return keeps what a
    terminal would show (the text after the last `\\r` of a line)."""
    text = _ANSI.sub("", text).replace("\r\n", "\n")
    if "\r" in text:
        lines = []
        for line in text.split("\n"):
            if "\r" in line:
                parts = [p for p in line.split("\r") if p]
                line = parts[-1] if parts else ""
            lines.append(line)
        text = "\n".join(lines)
    return _CONTROLS.sub("", text)
