"""Small formatting filters for the live task page."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def duration(seconds: int | None) -> str:
    """42 -> "42s", 192 -> "3m 12s", 3720 -> "1h 2m"; None -> "—"."""
    if seconds is None:
        return "—"
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {seconds}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes}m"


@register.filter
def thousands(value: int | None) -> str:
    """12345 -> "12,345"."""
    return f"{int(value or 0):,}"
