"""Syntax highlighting that yields one escaped HTML string per source line.

Pygments' own HTML formatter can open a span on one line and close it on the next; a diff or a
file excerpt needs lines that stand alone, so tokens are split at newlines here.
"""

from __future__ import annotations

from html import escape

from pygments.lexer import Lexer
from pygments.lexers import TextLexer, get_lexer_for_filename
from pygments.token import STANDARD_TYPES, _TokenType
from pygments.util import ClassNotFound

# Beyond this, highlighting costs more than it gives: lines are escaped but not coloured.
MAX_HIGHLIGHT_CHARS = 400_000


def lexer_for(path: str) -> Lexer:
    """The lexer Pygments picks for the file name, or plain text."""
    name = path.rsplit("/", 1)[-1]
    try:
        return get_lexer_for_filename(name, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return TextLexer(stripnl=False, ensurenl=False)


def _css_class(ttype: _TokenType) -> str:
    while ttype not in STANDARD_TYPES:
        ttype = ttype.parent
    return STANDARD_TYPES[ttype]


def highlight_lines(lines: list[str], path: str) -> list[str]:
    """Each of `lines` (without newlines) as safe HTML, highlighted for `path`'s language.

    Always returns exactly `len(lines)` strings; every character of the input is escaped.
    """
    if not lines:
        return []
    text = "\n".join(lines)
    if len(text) > MAX_HIGHLIGHT_CHARS:
        return [escape(line) for line in lines]
    out: list[list[str]] = [[]]
    for ttype, value in lexer_for(path).get_tokens(text):
        css = _css_class(ttype)
        parts = value.split("\n")
        for i, part in enumerate(parts):
            if i:
                out.append([])
            if part:
                out[-1].append(
                    f'<span class="{css}">{escape(part)}</span>' if css else escape(part)
                )
    rendered = ["".join(parts) for parts in out]
    # Lexers may drop or add a trailing newline; keep the contract of one string per line.
    if len(rendered) < len(lines):
        rendered.extend(escape(line) for line in lines[len(rendered) :])
    return rendered[: len(lines)]

