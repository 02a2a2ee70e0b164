"""Decide symbolically that differences are identically zero, within a time budget.

Cheap canonical forms come first (structural zero, ``expand``, ``cancel``), then
``simplify`` on the expression with symdl's own functions written out in exponentials.
A difference that does not reduce to zero is *not* a refutation: only a confirmed
numerical counterexample refutes a claim.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sympy as sp

from symdl.budget import run_with_budget
from symdl.errors import BudgetExceeded, SymdlError
from symdl.nodes import expand_catalog, sigmoid, softplus

__all__ = ["SymbolicOutcome", "decide_zero", "elementary"]


@dataclass(frozen=True)
class SymbolicOutcome:
    """``zero`` is True if every difference is identically zero, False if some did not
    reduce to zero, None if the budget ran out (then ``reason`` says so). ``residuals``
    holds every difference in its simplified form, in order."""

    zero: bool | None
    residuals: tuple[sp.Basic, ...]
    method: str
    reason: str = ""


def elementary(e: sp.Basic) -> sp.Basic:
    """``e`` with catalogue functions written out, and sigmoid, softplus and the hyperbolic
    functions in exponentials."""
    return (
        expand_catalog(e)
        .replace(sigmoid, lambda a: 1 / (1 + sp.exp(-a)))
        .replace(softplus, lambda a: sp.log(1 + sp.exp(a)))
        .replace(sp.tanh, lambda a: (sp.exp(2 * a) - 1) / (sp.exp(2 * a) + 1))
        .replace(sp.sinh, lambda a: (sp.exp(a) - sp.exp(-a)) / 2)
        .replace(sp.cosh, lambda a: (sp.exp(a) + sp.exp(-a)) / 2)
    )


def _reduce(d: sp.Basic) -> tuple[bool, sp.Basic, str]:
    if d == 0:
        return True, sp.S.Zero, "structural"
    for name, step in (
        ("expand", sp.expand),
        ("cancel", lambda e: sp.cancel(sp.together(e))),
        ("simplify", sp.simplify),
    ):
        r = step(d)
        if r == 0:
            return True, r, name
    r = sp.simplify(elementary(d))
    if r == 0:
        return True, r, "simplify in exponentials"
    return False, r, "simplify"


def _reduce_all(diffs: Sequence[sp.Basic]) -> list[tuple[bool, sp.Basic, str]]:
    out = []
    for d in diffs:
        result = _reduce(d)
        out.append(result)
    return out


def decide_zero(diffs: Sequence[sp.Basic], *, timeout: float) -> SymbolicOutcome:
    """Try to show every expression in ``diffs`` is identically zero."""
    trivial = all(d == 0 for d in diffs)
    if trivial:
        return SymbolicOutcome(True, (), "structural")
    try:
        results = run_with_budget(_reduce_all, list(diffs), timeout=timeout)
    except BudgetExceeded as err:
        return SymbolicOutcome(None, (), "simplify", reason=str(err))
    except SymdlError as err:
        return SymbolicOutcome(None, (), "simplify", reason=str(err).splitlines()[0])
    zero = all(z for z, _, _ in results)
    methods = sorted({m for _, _, m in results})
    residuals = tuple(r for _, r, _ in results)
    return SymbolicOutcome(zero, residuals, ", ".join(methods))
