"""What the benchmarks say about the machine a figure was measured on."""

from __future__ import annotations

import os


def load_average() -> str:
    """The 1, 5 and 15 minute load averages: a figure means little without them (two cores)."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())
