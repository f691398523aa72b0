"""`notes_at`: the notes (a review's findings) under one line of the diff renderer's file."""

from __future__ import annotations

from typing import Any

from django import template

from tasks.rendering.diff import DiffFile, Line

register = template.Library()


@register.filter
def notes_at(diff_file: DiffFile, line: Line) -> list[Any]:
    """What is noted on `line`'s new-version number; a removed line has none."""
    if not diff_file.notes or line.kind == "del" or line.new_no is None:
        return []
    return diff_file.notes.get(line.new_no, [])
