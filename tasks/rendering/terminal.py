"""Terminal output as plain text for a page: escape sequences and control characters removed.

The result is still untrusted text: templates escape it, scripts set it as textContent.
"""

from __future__ import annotations

import re

# CSI sequences, OSC sequences (ended by BEL or ESC \), and two-character escapes; the same
# pattern static/js/live.js uses.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]")
# Every C0/C1 control except tab and line feed.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]")


def plain_terminal_text(text: str) -> str:
    """`text` without ANSI escapes or control characters; "\\r\\n" and a lone "\\r" (progress
    bars redrawing a line) become line breaks."""
    text = _ANSI.sub("", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROLS.sub("", text)
