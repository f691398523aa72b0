"""A host resolver the tests script, and a clock they move: injected where code looks names up
(tasks/sandbox/egress/lookup.py, tasks/sandbox/egress/gateway.py) or judges how old an answer
is, so a resolver that is down, late or answering a gateway's address is a test's choice."""

from __future__ import annotations

import time


class Resolver:
    """Records the names looked up (`calls`); answers from `answers`, which a test may change
    meanwhile (a missing name does not resolve, as glibc says), after `delay` seconds."""

    def __init__(self, answers: dict[str, list[str]], delay: float = 0.0) -> None:
        self.answers = answers
        self.delay = delay
        self.calls: list[str] = []

    def __call__(self, name: str) -> list[str]:
        self.calls.append(name)
        time.sleep(self.delay)
        if name not in self.answers:
            raise OSError(f"[Errno -2] Name or service not known: {name}")
        return self.answers[name]


class Clock:
    """A monotonic clock that moves only when the test sets `now`."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now
