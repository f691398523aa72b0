"""Messages a person sends to a running attempt, as the Django-free loop sees them.

The worker (tasks/worker/agent.py) gives `run_agent` a callable returning the messages that
arrived since it last asked; the loop calls it at each turn boundary (before asking the model
again, and before accepting a final answer) and hands the text to the model as a user message.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Steer:
    """One message: `text` for the model (may be empty for a bare stop), who sent it, and
    whether they asked to stop after this step."""

    text: str
    by: str
    stop: bool = False


TakeSteering = Callable[[], Sequence[Steer]]


def no_steering() -> Sequence[Steer]:
    return ()


def steer_prompt(steer: Steer) -> str:
    """The user message the model gets: who wrote it, and that it arrived mid-task."""
    return (
        f"Message from {steer.by}, sent while you were working (take it into account from "
        f"now on):\n\n{steer.text.strip()}"
    )


def stopped_summary(by: str, steps: int, *, code: bool) -> str:
    """The summary of an attempt a person stopped after a step."""
    kept = " The changes made so far are kept in the patch." if code else ""
    when = f"after step {steps}" if steps else "before the agent's first step"
    return f"Stopped by {by} {when}, as they asked; the agent did not finish.{kept}"


# Notes for the agent from the system around it (e.g. "alice approved packages.example.com"):
# the worker queues them from another thread; the loop appends the ones waiting to the next
# tool result, so the agent reads them right after the command it ran.
TakeNotes = Callable[[], Sequence[str]]


def no_notes() -> Sequence[str]:
    return ()


def with_notes(observation: str, notes: Sequence[str]) -> str:
    """`observation` followed by each note on its own bracketed line."""
    if not notes:
        return observation
    return observation.rstrip("\n") + "\n\n" + _bracketed(notes)


def notes_prompt(notes: Sequence[str]) -> str:
    """The user message for notes that came in while the model wrote its final answer: with no
    tool result left to carry them, the model gets them this way and one more turn to act."""
    return ("While you wrote that answer:\n" + _bracketed(notes) + "\n\nIf this changes your "
            "answer, continue the task; otherwise give your final answer again.")


def _bracketed(notes: Sequence[str]) -> str:
    return "\n".join(f"[codexweb: {n}]" for n in notes)
