"""A whole check under one wall-clock deadline, ending ``undecided`` past it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

from symdl.budget import deadline
from symdl.errors import BudgetExceeded
from symdl.verify.report import Evidence, Report

__all__ = ["OVERALL_FACTOR", "OVERALL_SLACK", "Outcome", "overall"]

#: the whole check — writing the claim out entry by entry, the admissible points, the
#: numeric and symbolic steps — ends ``undecided`` after this many times ``timeout``
#: (plus ``OVERALL_SLACK`` seconds); the symbolic step alone keeps to ``timeout``
OVERALL_FACTOR = 3.0
OVERALL_SLACK = 10.0


@dataclass
class Outcome:
    report: Report | None = None


@contextlib.contextmanager
def overall(timeout: float, claim: str) -> Iterator[Outcome]:
    """The whole check under :func:`symdl.budget.deadline`; past it, ``undecided``."""
    outcome = Outcome()
    seconds = OVERALL_FACTOR * timeout + OVERALL_SLACK
    try:
        with deadline(seconds):
            yield outcome
    except BudgetExceeded:
        detail = (
            f"the check did not finish within {seconds:g} s (writing the claim out entry by "
            "entry and evaluating it take part of it)"
        )
        outcome.report = Report(
            "undecided", claim, "none", (Evidence("symbolic", "timeout", detail),)
        )
