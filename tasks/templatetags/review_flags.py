"""Review flags beside a file in the attempt's diff (symlinks, executables, git and CI config).

The same flags head the pull request body (repos/review_flags.py decides them).
"""

from __future__ import annotations

from functools import lru_cache

from django import template

from tasks.pull_requests.review_flags import ReviewFlag, flags_by_path

register = template.Library()


@lru_cache(maxsize=16)
def _flags(patch: str) -> dict[str, list[ReviewFlag]]:
    return flags_by_path(patch)  # one parse per patch, however many files the diff shows


@register.simple_tag
def review_flags_for(patch: str, path: str) -> list[ReviewFlag]:
    """`{% review_flags_for attempt.patch f.path as flags %}`: the flags of one file."""
    return _flags(patch or "").get(path, [])
