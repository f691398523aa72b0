"""`{% options pairs selected %}`: the <option>s of a filter's <select> in one template node.

Why: the sidebar's filters list up to 100 repositories and every member on every page; written
as `{% for %}` with `{{ value }}`, `{% if … %}selected` and `{{ label }}` that is three template
nodes per option, a good part of each page's rendering time (bench/history.py). Values and
labels are escaped as `{{ }}` would.
"""

from __future__ import annotations

from collections.abc import Iterable

from django import template
from django.utils.html import format_html_join
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

_SELECTED = mark_safe(" selected")


@register.simple_tag
def options(pairs: Iterable[tuple[object, object]], selected: object = None) -> SafeString:
    """One `<option value="…">label</option>` per (value, label); the one equal to `selected`
    (compared as text, so 3 matches "3") is marked selected."""
    chosen = None if selected in (None, "") else str(selected)
    return format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        ((value, _SELECTED if str(value) == chosen else "", label) for value, label in pairs),
    )
