"""Checking branch names the way `git check-ref-format --branch` would, without running git."""

from __future__ import annotations

FORBIDDEN_CHARACTERS = "~^:?*[\\"


def branch_name_problem(name: str) -> str | None:
    """Why `name` is not a usable branch name, as a sentence for the person; None when it is."""
    if not name:
        return "Enter a branch name."
    if len(name) > 255:
        return "Branch names are at most 255 characters."
    if any(c.isspace() for c in name):
        return "Branch names cannot contain spaces."
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        return "Branch names cannot contain control characters."
    bad = sorted({c for c in name if c in FORBIDDEN_CHARACTERS})
    if bad:
        return f"Branch names cannot contain {' '.join(bad)}."
    if name.startswith("-"):
        return "Branch names cannot start with '-'."
    if name == "@" or ".." in name or "@{" in name or "//" in name:
        return "Branch names cannot be '@' or contain '..', '@{' or '//'."
    if name.startswith("/") or name.endswith(("/", ".", ".lock")):
        return "Branch names cannot start with '/' or end with '/', '.' or '.lock'."
    if any(part.startswith(".") for part in name.split("/")):
        return "No part of a branch name can start with '.'."
    return None


def is_valid_branch_name(name: str) -> bool:
    """True when `name` is a usable branch name (an empty name is not)."""
    return branch_name_problem(name) is None
