"""Budgets per attempt (turns, tokens, wall time), token cost, and trimming long tool output."""

from __future__ import annotations

import time
from collections.abc import Callable

from tasks.agent.config import Budgets, Prices
from tasks.agent.records import Usage


def cost_of(usage: Usage, prices: Prices) -> float:
    """Dollars for `usage`; cached input tokens are billed at the cached price."""
    cached = min(usage.cached_input_tokens, usage.input_tokens)
    dollars = (
        (usage.input_tokens - cached) * prices.input
        + cached * prices.cached_input
        + usage.output_tokens * prices.output
    ) / 1_000_000
    return round(dollars, 6)


class BudgetTracker:
    """Counts turns and tokens and watches the clock. `exceeded()` says which budget ran out."""

    def __init__(
        self, budgets: Budgets, prices: Prices, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.budgets = budgets
        self.prices = prices
        self.clock = clock
        self.started = clock()
        self.turns = 0
        self.usage = Usage()

    def record_turn(self, usage: Usage) -> None:
        self.turns += 1
        self.usage.add(usage)

    @property
    def cost(self) -> float:
        return cost_of(self.usage, self.prices)

    @property
    def elapsed(self) -> float:
        return self.clock() - self.started

    def remaining_seconds(self) -> float:
        return max(0.0, self.budgets.wall_seconds - self.elapsed)

    def exceeded(self) -> tuple[str, str] | None:
        """(stop_reason, message) for the first budget used up, or None."""
        b = self.budgets
        if self.turns >= b.max_turns:
            return "budget: turns", f"Stopped: the budget of {b.max_turns} model turns is used up."
        if self.usage.total >= b.max_tokens:
            return (
                "budget: tokens",
                f"Stopped: the budget of {b.max_tokens:,} tokens is used up "
                f"({self.usage.total:,} used).",
            )
        if self.elapsed >= b.wall_seconds:
            return (
                "budget: time",
                f"Stopped: the time budget of {b.wall_seconds:.0f} s is used up.",
            )
        return None


def trim_output(text: str, max_chars: int) -> str:
    """`text` if it fits, else its head and tail around a note saying which lines were left out.

    Whole lines are kept where possible; the line numbers in the note refer to the full output,
    so the model can still cite the lines it sees.
    """
    if len(text) <= max_chars:
        return text
    lines = text.splitlines(keepends=True)
    half = max_chars // 2
    head: list[str] = []
    size = 0
    for line in lines:
        if size + len(line) > half:
            break
        head.append(line)
        size += len(line)
    tail: list[str] = []
    size = 0
    for line in reversed(lines[len(head):]):
        if size + len(line) > half:
            break
        tail.insert(0, line)
        size += len(line)
    if not head and not tail:  # one enormous line
        omitted = len(text) - 2 * half
        return f"{text[:half]}\n[... {omitted} characters omitted ...]\n{text[-half:]}"
    first, last = len(head) + 1, len(lines) - len(tail)
    omitted_chars = len(text) - sum(map(len, head)) - sum(map(len, tail))
    note = (
        f"[... lines {first}-{last} of {len(lines)} omitted ({omitted_chars} characters); "
        "the full output is in the log ...]\n"
    )
    joined_head = "".join(head)
    if joined_head and not joined_head.endswith("\n"):
        joined_head += "\n"
    return joined_head + note + "".join(tail)
