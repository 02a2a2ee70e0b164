"""Probe generated NumPy code for numerical stability across the float64 range.

:func:`probe` evaluates a compiled scalar function on a grid that spans the float64 range
(±1e−300 … ±1e4, ±inf, nan) and compares every value with an mpmath evaluation of the
expression it came from. The reference runs with 400 working digits, not 50: a formula
such as ``log(1 + exp(x))`` at ``x = −700`` adds 1e−304 to 1, and only a working precision
beyond the float64 exponent range resolves that sum to the 1e−13 relative accuracy the
contract asks for. The contract it checks:

- where the true value is a normal float, the relative error is at most ``RTOL`` (1e−13);
- where it is below the smallest normal float, the absolute error is at most ``ATOL``
  (1e−300); where it exceeds the largest float, the code returns ±inf of the right sign;
- no floating-point warning for any input (overflow, division by zero, invalid; underflow
  to zero is NumPy's default ``ignore`` and is judged by the absolute error instead), and
  no nan for a finite input;
- ±inf inputs give the function's limit at ±∞ (when one is given), and nan gives nan.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import mpmath
import numpy as np
import sympy as sp

from symdl.verify.precise import Evaluator, NotAdmissible

__all__ = ["ATOL", "EDGE", "GRID", "RTOL", "Probe", "probe"]

RTOL = 1e-13
ATOL = 1e-300
_TINY = np.finfo(float).tiny
_HUGE = np.finfo(float).max

_MAGNITUDES: tuple[float, ...] = (1e-300, 1e-30, 1e-8, 1e-3, 0.5, 1.0, 2.5, 3.0, 6.0, 10.0)
_MAGNITUDES += (30.0, 37.0, 40.0, 100.0, 700.0, 1e3, 1e4)
#: The probe grid: both signs of every magnitude, zero, ±inf and nan.
GRID: tuple[float, ...] = (
    *(-m for m in reversed(_MAGNITUDES)),
    0.0,
    *_MAGNITUDES,
    -math.inf,
    math.inf,
    math.nan,
)


#: Where exp(x) itself is subnormal (x < −708.4): a product such as ``x·σ(x)`` at ``x = −710``
#: is a normal float (−3.2e−306), but the subnormal ``σ(−710)`` it is made from carries only
#: a few significant bits, so relative accuracy is lost there. Reported separately, not
#: part of the contract; the absolute error there stays below 1e−305.
EDGE: tuple[float, ...] = (-745.0, -720.0, -710.0, 710.0, 720.0)


@dataclass(frozen=True)
class Probe:
    """The outcome of probing one function: its worst errors and every broken promise."""

    worst_rel: float  # over the points whose true value is a normal float
    worst_at: float | None
    worst_abs_subnormal: float  # over the points whose true value is below the normal range
    failures: tuple[str, ...]
    points: int
    failed_at: tuple[float, ...] = ()  # the grid points with at least one failure

    @property
    def ok(self) -> bool:
        return not self.failures


def probe(
    fn: Callable[[np.ndarray], np.ndarray],
    expr: sp.Expr,
    var: sp.Symbol,
    *,
    limits: tuple[float, float] | None = None,
    grid: Sequence[float] = GRID,
    dps: int = 400,
) -> Probe:
    """Compare ``fn`` with ``expr`` evaluated with ``dps`` working digits on ``grid``.

    Points where ``expr`` is undefined (``log`` of a negative number) are skipped: the code
    is not even run there.

    >>> x = sp.Symbol("x", real=True)
    >>> naive = lambda v: np.log(1 + np.exp(v))
    >>> for failure in probe(naive, sp.log(1 + sp.exp(x)), x).failures[:2]:
    ...     print(failure)
    x = -700.0: rel err 1.00e+00 > 1e-13 (got 0.0, true 9.85967654375977e-305)
    x = -100.0: rel err 1.00e+00 > 1e-13 (got 0.0, true 3.720075976020836e-44)
    >>> from symdl.codegen import elementwise_function
    >>> stable = elementwise_function(sp.log(1 + sp.exp(x)), x, limits=(sp.S.Zero, sp.oo))
    >>> probe(stable, sp.log(1 + sp.exp(x)), x, limits=(0.0, math.inf)).ok
    True
    """
    failures: list[str] = []
    worst_rel, worst_at, worst_abs = 0.0, None, 0.0
    points = 0
    for g in grid:
        true = None
        if math.isfinite(g):
            try:
                true = Evaluator({var: g}, dps=dps)(expr)
            except NotAdmissible:
                continue  # outside the domain (log of a negative number): no promise there
        got, caught = _run(fn, g)
        for w in caught:
            failures.append(f"x = {g}: {w}")
        if math.isnan(g):
            if not math.isnan(got):
                failures.append(f"x = nan gives {got}, not nan")
            continue
        if math.isinf(g):
            expected = None if limits is None else limits[0 if g < 0 else 1]
            if expected is not None and not _same(got, expected):
                failures.append(f"x = {g}: got {got}, the limit is {expected}")
            continue
        assert true is not None
        points += 1
        if math.isnan(got):
            failures.append(f"x = {g}: nan for a finite input (true {mpmath.nstr(true, 17)})")
            continue
        if abs(true) > _HUGE:
            if got != math.copysign(math.inf, true):
                failures.append(f"x = {g}: got {got}, true value overflows to ±inf")
            continue
        if abs(true) < _TINY:
            err = float(abs(mpmath.mpf(got) - true))
            worst_abs = max(worst_abs, err)
            if err > ATOL:
                failures.append(f"x = {g}: abs err {err:.2e} > {ATOL:g} near zero (got {got})")
            continue
        rel = float(abs(mpmath.mpf(got) - true) / abs(true))
        if rel > worst_rel:
            worst_rel, worst_at = rel, g
        if rel > RTOL:
            failures.append(
                f"x = {g}: rel err {rel:.2e} > {RTOL:g} (got {got!r}, true {float(true)!r})"
            )
    failed_at = tuple(
        g
        for g in grid
        if any(f.startswith(f"x = {g}:") or f.startswith(f"x = {g} ") for f in failures)
    )
    return Probe(worst_rel, worst_at, worst_abs, tuple(failures), points, failed_at)


def _run(fn: Callable[[np.ndarray], np.ndarray], g: float) -> tuple[float, list[str]]:
    numpy_defaults = np.errstate(over="warn", divide="warn", invalid="warn", under="ignore")
    with warnings.catch_warnings(record=True) as caught, numpy_defaults:
        warnings.simplefilter("always")
        out = np.asarray(fn(np.array([g])), dtype=float)
    value = float(out.reshape(-1)[0]) if out.size else math.nan
    return value, [f"{w.category.__name__}: {w.message}" for w in caught]


def _same(got: float, expected: float) -> bool:
    if math.isinf(expected) or math.isinf(got):
        return got == expected
    return abs(got - expected) <= RTOL * max(abs(expected), 1.0)
