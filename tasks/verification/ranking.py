"""The order of a task's attempts after re-verification. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# Best first (the Verdict choices in tasks/verification/models.py).
VERDICT_ORDER = ("passed", "no_checks", "checks_failed", "unverified", "not_applied", "no_patch")


@dataclass(frozen=True)
class Candidate:
    key: int  # the verification's id
    index: int  # the attempt's number, the last tie-break
    verdict: str
    patch_lines: int
    patch_id: str = ""  # equal for the same patch text (a digest); "" when unknown


def rank(candidates: list[Candidate]) -> list[Candidate]:
    """Best first: by verdict (all checks pass > some fail > does not apply > no patch), then
    the smaller patch, then the earlier attempt."""
    return sorted(
        candidates,
        key=lambda c: (VERDICT_ORDER.index(c.verdict), c.patch_lines, c.index),
    )


def rank_reason(ordered: list[Candidate], position: int, labels: Mapping[str, str]) -> str:
    """Why the candidate at `position` (1-based) of `ordered` stands there, in a sentence: what
    sets it apart from its neighbour above (for #1, below). `labels`: each verdict's words."""
    me = ordered[position - 1]
    head = f"#{position} of {len(ordered)}: {labels[me.verdict].lower()}"
    if len(ordered) == 1:
        return f"{head}." if me.verdict == "no_patch" else f"{head}; {_lines(me.patch_lines)}."
    if position == 1:
        return head + _against(me, ordered[1], labels, ahead=True)
    return head + _against(me, ordered[position - 2], labels, ahead=False)


def _against(me: Candidate, other: Candidate, labels: Mapping[str, str], *, ahead: bool) -> str:
    """The difference that decided between `me` and its neighbour `other`, in the order `rank`
    applies them: the verdict, then the patch's size, then the attempt's number."""
    if me.verdict != other.verdict:
        side = "ahead of" if ahead else "behind"
        return f", {side} attempt {other.index} ({labels[other.verdict].lower()})."
    if me.patch_lines != other.patch_lines:
        size = "smaller" if ahead else "larger"
        return (f", with a {size} patch than attempt {other.index}'s "
                f"({me.patch_lines} against {other.patch_lines} changed lines).")
    when = "an earlier" if ahead else "a later"
    if me.verdict == "no_patch":
        return f", like attempt {other.index}; {when} attempt."
    if me.patch_id and me.patch_id == other.patch_id:
        return f"; the same patch as attempt {other.index}'s, and {when} attempt."
    return (f"; the same size as attempt {other.index}'s patch ({_lines(me.patch_lines)}), "
            f"and {when} attempt.")


def _lines(count: int) -> str:
    return f"{count} changed line{'s' if count != 1 else ''}"
