"""How much work a benchmark run does: the full run, or a tiny one for the smoke tests."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Config:
    """``quick``: the smallest sizes and one trial (seconds, for tests); ``trials``
    overrides every benchmark's default trial count; ``budget`` caps the seconds one
    method may spend on one size in the cost benchmark (larger sizes are then not run)."""

    quick: bool = False
    trials: int | None = None
    seed: int = 0
    budget: float = 60.0
