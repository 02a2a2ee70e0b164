"""The two sides of a claim in high precision: evaluating, comparing, and the errors.

A sample point where a side has no value (beyond mpmath's range) is :class:`Unevaluable`;
a mismatch is first found at the working precision, and a value that cancels far below the
size of its terms is re-evaluated with the digits the cancellation costs
(:func:`digits_lost`) before anything is concluded from it.
"""

from __future__ import annotations

import math
from typing import Any

import mpmath
import numpy as np
import sympy as sp

from symdl.errors import SymdlError, UnsupportedError
from symdl.verify.claims import Side
from symdl.verify.numeric_code import magnitude
from symdl.verify.precise import Evaluator, NotAdmissible
from symdl.verify.report import Entry

__all__ = [
    "DEEPEST",
    "Unevaluable",
    "digits_lost",
    "evaluate",
    "first_mismatch",
    "relative",
    "to_float",
    "worst_entries",
]

_TINY = 1e-300

#: The most digits a suspected mismatch is re-evaluated at to see past a cancellation.
DEEPEST = 2000


def digits_lost(side: Side, point: dict[sp.Symbol, float], i: int, t: Any, c: Any) -> int:
    """Decimal digits a cancellation costs entry ``i``: log10(Σ|terms| / |value|)."""
    try:
        ev = Evaluator(point, dps=20)
        scale = max(abs(ev(magnitude(side.true[i]))), abs(ev(magnitude(side.claimed[i]))))
    except (ArithmeticError, ValueError, SymdlError):
        return 0
    value = max(abs(t), abs(c))
    if not value or not scale or not mpmath.isfinite(scale):
        return 0
    return max(0, int(mpmath.ceil(mpmath.log10(scale / value))))


class Unevaluable(UnsupportedError):
    """A side has no value at a sample point that the domain conditions admitted."""


def to_float(v: Any) -> float:
    """A high-precision value as a float; beyond the float range, ±inf (not an error)."""
    try:
        return float(v)
    except OverflowError:
        return math.copysign(math.inf, float(mpmath.sign(v)))


def evaluate(side: Side, point: dict[sp.Symbol, float], dps: int) -> tuple[list, list]:
    ev = Evaluator(point, dps=dps)
    try:
        t = [ev(e) for e in side.true]
        c = [ev(e) for e in side.claimed]
    except NotAdmissible as err:
        raise Unevaluable(f"a side cannot be evaluated at a sample point: {err}") from None
    return t, c


def first_mismatch(t: list, c: list, dps: int) -> int | None:
    with mpmath.workdps(dps):
        scale = max((abs(v) for v in t), default=mpmath.mpf(0))
        rel = mpmath.mpf(10) ** (-(dps // 2))
        floor = mpmath.mpf(10) ** (-(dps - 5)) * scale
        for i, (a, b) in enumerate(zip(t, c)):
            if abs(a - b) > rel * max(abs(a), abs(b)) + floor:
                return i
    return None


def worst_entries(values: list, tol: float, count: int = 5) -> list[Entry]:
    rows = []
    for _, _, trues, claims in values:
        for k, (t, c) in enumerate(zip(trues, claims)):
            for index in np.ndindex(t.shape):
                a, b = float(t[index]), float(c[index])
                err = abs(a - b)
                rel = relative(a, b)
                bound = tol * max(abs(a), abs(b))
                rows.append(Entry(tuple(int(i) for i in index), b, a, err, rel, bound, k))
    rows.sort(key=lambda e: (-e.rel_error, -e.abs_error))
    return [e for e in rows[:count] if e.abs_error > 0]


def relative(a: float, b: float) -> float:
    """``|a − b| / max(|a|, |b|)``, with its limits where a value is beyond float64."""
    if math.isinf(a) or math.isinf(b):
        return 0.0 if a == b else 1.0 if math.isinf(a) != math.isinf(b) else 2.0
    return abs(a - b) / max(abs(a), abs(b), _TINY)
