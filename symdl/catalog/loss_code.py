"""Stable NumPy code for a scalar loss at a fixed target, as a function of the prediction.

The stability grid runs over the prediction ``z`` with the target ``y`` held at each value
of :func:`targets` (both labels for ±1 losses, 0, 1/4 and 1 for probabilities).
"""

from __future__ import annotations

import sympy as sp

from symdl.catalog.code import limits_at_infinity
from symdl.catalog.entry import Y, Z
from symdl.catalog.losses import LOSSES, TARGETS
from symdl.codegen import NumpyFunction, elementwise_function
from symdl.verify.stability import GRID

__all__ = ["LOSS_GRID", "loss_code", "loss_expr", "targets"]

#: The stability grid for losses: the float64 grid plus points inside (0, 1) and next to 1,
#: where a loss on probabilities (bce) lives.
LOSS_GRID: tuple[float, ...] = (*GRID, 0.1, 0.3, 0.7, 0.9, 1 - 1e-3, 1 - 1e-8, 1 - 2.0**-52)


def targets(name: str) -> list[sp.Expr]:
    """Representative targets of the scalar loss ``name``."""
    allowed = TARGETS[name]
    if allowed == sp.S.Reals:
        return [sp.Rational(1, 2)]
    if isinstance(allowed, sp.FiniteSet):
        return list(allowed)
    return [sp.S.Zero, sp.Rational(1, 4), sp.S.One]  # exact in binary, like every input


def loss_expr(name: str, y: sp.Expr, *, gradient: bool = False) -> sp.Expr:
    f, g = LOSSES.get(name).at()
    return (g if gradient else f).xreplace({Y: y})


def loss_code(name: str, y: sp.Expr, *, gradient: bool = False) -> NumpyFunction:
    """Stable code for ``L(·, y)`` (or ``∂L/∂z(·, y)``), with its limits at ±∞.

    >>> import numpy as np
    >>> f = loss_code("bce_logits", sp.S.One)
    >>> f(np.array([-1000.0, 0.0, 1000.0])).tolist()
    [1000.0, 0.6931471805599453, 0.0]
    """
    expr = loss_expr(name, y, gradient=gradient)
    label = f"{name}_grad" if gradient else name
    return elementwise_function(expr, Z, limits=limits_at_infinity(expr, Z), name=label)
