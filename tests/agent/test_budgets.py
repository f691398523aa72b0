"""Budgets, cost and trimming of long tool output."""

from __future__ import annotations

from tasks.agent.budgets import BudgetTracker, cost_of, trim_output
from tasks.agent.config import Budgets, Prices
from tasks.agent.records import Usage


def test_cost_uses_the_cached_price_for_cached_input():
    usage = Usage(input_tokens=1_000_000, output_tokens=500_000, cached_input_tokens=400_000)
    assert cost_of(usage, Prices(input=2.0, cached_input=0.5, output=8.0)) == 1.2 + 0.2 + 4.0


def test_turn_budget():
    tracker = BudgetTracker(Budgets(max_turns=2), Prices())
    tracker.record_turn(Usage(10, 5))
    assert tracker.exceeded() is None
    tracker.record_turn(Usage(10, 5))
    reason, message = tracker.exceeded()
    assert reason == "budget: turns"
    assert "2 model turns" in message


def test_token_budget():
    tracker = BudgetTracker(Budgets(max_tokens=100), Prices())
    tracker.record_turn(Usage(90, 10))
    assert tracker.exceeded()[0] == "budget: tokens"


def test_time_budget_uses_the_clock():
    now = [0.0]
    tracker = BudgetTracker(Budgets(wall_seconds=60), Prices(), clock=lambda: now[0])
    now[0] = 59.0
    assert tracker.exceeded() is None and tracker.remaining_seconds() == 1.0
    now[0] = 61.0
    assert tracker.exceeded()[0] == "budget: time"
    assert tracker.remaining_seconds() == 0.0


def test_short_output_is_untouched():
    assert trim_output("a\nb\n", 100) == "a\nb\n"


def test_long_output_keeps_head_and_tail_with_line_numbers():
    text = "".join(f"line {i}\n" for i in range(1, 1001))
    trimmed = trim_output(text, 200)
    assert len(trimmed) < 400
    assert trimmed.startswith("line 1\nline 2\n")
    assert trimmed.endswith("line 999\nline 1000\n")
    assert "of 1000 omitted" in trimmed
    shown = trimmed.splitlines()
    note_at = next(i for i, line in enumerate(shown) if line.startswith("[..."))
    kept_tail = len(shown) - note_at - 1
    assert f"lines {note_at + 1}-{1000 - kept_tail} of 1000" in shown[note_at]
    assert shown[note_at + 1] == f"line {1000 - kept_tail + 1}"


def test_one_enormous_line_is_cut_by_characters():
    trimmed = trim_output("x" * 10_000, 100)
    assert trimmed.startswith("x" * 50) and trimmed.endswith("x" * 50)
    assert "[... 9900 characters omitted ...]" in trimmed
