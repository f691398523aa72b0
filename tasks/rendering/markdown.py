"""Model-written Markdown to sanitized HTML, with citations turned into links.

Raw HTML in the Markdown is escaped (markdown-it with `html` off), and the output is cleaned again
by nh3 with a small allow-list, so nothing the model writes can run in the browser.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape

import nh3
from markdown_it import MarkdownIt

from tasks.agent.citations import CITATION
from tasks.agent.records import Citation

_md = (
    MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    .enable("table")
    .enable("strikethrough")
)

ALLOWED_TAGS = {
    "p",
    "br",
    "hr",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "strong",
    "em",
    "del",
    "s",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "a",
    "span",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
}
ALLOWED_ATTRIBUTES = {
    "a": {
        "href",
        "title",
        "class",
        "data-cite",
        "data-path",
        "data-chunk",
        "data-start",
        "data-end",
    },
    "span": {"class", "title"},
    "code": {"class"},
    "ol": {"start"},
    "th": {"align"},
    "td": {"align"},
}
URL_SCHEMES = {"http", "https", "mailto"}

# Markers for citations while Markdown renders; letters only, so Markdown leaves them alone.
_MARK = "QZXCITE{}QZX"


def sanitize(html: str) -> str:
    """`html` reduced to the allow-list (links get rel=noopener noreferrer nofollow)."""
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    )


def citation_label(c: Citation) -> str:
    """`path:L3-L9` or `terminal 7f3a2c L3` (the visible text of a citation)."""
    lines = f"L{c.start}" if c.start == c.end else f"L{c.start}-L{c.end}"
    return f"{c.target}:{lines}" if c.kind == "F" else f"terminal {c.target} {lines}"


def citation_html(c: Citation, file_url: Callable[[Citation], str]) -> str:
    """The worker's verdict shown: a valid citation is a link to the lines or the log, an
    invalid one a visibly marked reference with the reason in its tooltip."""
    label = escape(citation_label(c))
    if not c.valid:
        reason = escape(c.reason or "This citation does not match the evidence.")
        return (
            f'<span class="cite cite-invalid" title="Invalid citation: {reason}">⚠ {label}</span>'
        )
    if c.kind == "F":
        return (
            f'<a class="cite cite-file" href="{escape(file_url(c))}" '
            f'data-cite="file" data-path="{escape(c.target)}" data-start="{c.start}" '
            f'data-end="{c.end}">{label}</a>'
        )
    return (
        f'<a class="cite cite-terminal" href="#chunk-{escape(c.target)}" '
        f'data-cite="terminal" data-chunk="{escape(c.target)}" data-start="{c.start}" '
        f'data-end="{c.end}">{label}</a>'
    )


def render_markdown(text: str) -> str:
    """Plain Markdown (no citations) to sanitized HTML."""
    return sanitize(_md.render(text))


def render_summary(
    text: str, citations: Sequence[Citation], file_url: Callable[[Citation], str]
) -> str:
    """The final message as sanitized HTML; each citation is shown by the worker's stored verdict
    on it (`citations`, matched by their text); one without a verdict stays plain text."""
    by_raw = {c.raw: c for c in citations}
    pieces: list[str] = []

    def mark(match) -> str:
        pieces.append(match[0])
        return _MARK.format(len(pieces) - 1)

    marked = CITATION.sub(mark, text)
    html = _md.render(marked)
    for i, raw in enumerate(pieces):
        c = by_raw.get(raw)
        replacement = citation_html(c, file_url) if c else escape(raw)
        html = html.replace(_MARK.format(i), replacement)
    return sanitize(html)
