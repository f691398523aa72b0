"""Posting the home page's composer form as a person would (tests/core)."""

from __future__ import annotations


def submit(client, repository, **changes):
    """POST the composer with sensible defaults (an Ask on the default branch), `changes` on top."""
    data = {
        "prompt": "Why does the build take so long?",
        "repository": str(repository.pk),
        "base_branch": "",
        "attempts": "1",
        "model_tier": "fast",
        "mode": "ask",
        **changes,
    }
    return client.post("/", data)
