"""The order of a task's attempts after re-verification. Pure."""

from __future__ import annotations

from dataclasses import dataclass

# Best first (the Verdict choices in tasks/verification/models.py).
VERDICT_ORDER = ("passed", "no_checks", "checks_failed", "unverified", "not_applied", "no_patch")


@dataclass(frozen=True)
class Candidate:
    key: int  # the verification's id
    index: int  # the attempt's number, the last tie-break
    verdict: str
    patch_lines: int


def rank(candidates: list[Candidate]) -> list[Candidate]:
    """Best first: by verdict (all checks pass > some fail > does not apply > no patch), then
    the smaller patch, then the earlier attempt."""
    return sorted(
        candidates,
        key=lambda c: (VERDICT_ORDER.index(c.verdict), c.patch_lines, c.index),
    )


def rank_reason(candidate: Candidate, position: int, total: int, verdict_text: str) -> str:
    """Why `candidate` stands at `position` (1-based) of `total`, in a sentence."""
    size = f"{candidate.patch_lines} changed line{'s' if candidate.patch_lines != 1 else ''}"
    if candidate.verdict in ("passed", "no_checks", "checks_failed"):
        return f"#{position} of {total}: {verdict_text.lower()}; {size}."
    return f"#{position} of {total}: {verdict_text.lower()}."
