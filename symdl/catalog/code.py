"""Stable NumPy code for catalogue entries, with their limits at ±∞.

:func:`activation_code` compiles an activation (or its derivative) with
:func:`symdl.codegen.elementwise_function`: the formula is rewritten into its stable form,
run on finite entries, and ``±inf`` entries get the limits SymPy computes (under a time
budget) — so ``gelu(−inf)`` is 0, not ``−inf·0 = nan``.
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from symdl.budget import run_with_budget
from symdl.catalog.activations import ACTIVATIONS
from symdl.catalog.entry import X
from symdl.codegen import NumpyFunction, elementwise_function
from symdl.errors import SymdlError
from symdl.verify.symbolic import elementary

__all__ = ["activation_code", "limits_at_infinity"]

#: Seconds SymPy may spend on the two limits of one expression.
LIMIT_BUDGET = 30.0


@cache
def limits_at_infinity(expr: sp.Expr, var: sp.Symbol = X) -> tuple[sp.Expr, sp.Expr] | None:
    """``(lim f at −∞, lim f at +∞)`` by SymPy, or None when out of budget or reach.

    >>> limits_at_infinity(ACTIVATIONS.get("gelu").expr)
    (0, oo)
    """
    try:
        return run_with_budget(_limits, expr, var, timeout=LIMIT_BUDGET)
    except SymdlError:
        return None


def _limits(expr: sp.Expr, var: sp.Symbol) -> tuple[sp.Expr, sp.Expr] | None:
    g = elementary(expr)
    found = (_limit(g, var, -sp.oo), _limit(g, var, sp.oo))
    if any(v is None or isinstance(v, sp.AccumBounds) or v.has(sp.Limit) for v in found):
        return None
    return found  # type: ignore[return-value]


def _limit(g: sp.Expr, var: sp.Symbol, end: sp.Expr) -> sp.Expr | None:
    """The limit at ``end``; for a Piecewise, of the branch in force near ``end``."""
    if g.has(sp.Piecewise):
        g = sp.piecewise_fold(g)
        if not isinstance(g, sp.Piecewise):
            return None
        for value, cond in g.args:
            holds = cond.subs(var, end)
            if holds is sp.true:
                return _limit(value, var, end)
            if holds is not sp.false:
                return None
        return None
    return sp.limit(g, var, end)


def activation_code(name: str, *, derivative: bool = False, **parameters: object) -> NumpyFunction:
    """Stable NumPy code for the scalar activation ``name`` (or its derivative).

    >>> import numpy as np
    >>> f = activation_code("softplus")
    >>> f(np.array([-1000.0, 0.0, 1000.0, np.inf])).tolist()
    [0.0, 0.6931471805599453, 1000.0, inf]
    """
    entry = ACTIVATIONS.get(name)
    if entry.vector:
        raise SymdlError(f"{name} is vector-valued; compile it with symdl.numpy_function")
    f, d = entry.at(**parameters)
    expr = d if derivative else f
    label = f"{entry.name}_grad" if derivative else entry.name
    return elementwise_function(expr, X, limits=limits_at_infinity(expr), name=label)
