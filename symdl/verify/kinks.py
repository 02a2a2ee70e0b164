"""Kinks are first-class: where a function is not differentiable, and what a claim says there.

Kinks are read off the expression (``Max``, ``Min``, ``Abs``, ``Heaviside``, ``sign``,
``Piecewise``). For a function of one scalar variable each kink is located exactly
(``solveset`` under a time budget) and its one-sided derivatives are computed in high
precision; a claimed derivative is then judged against that bracket — any value between
the one-sided derivatives is a valid (Clarke) subgradient, so ``heaviside(0) = 1/2`` is
accepted for ReLU, instead of being misjudged as a mismatch.
"""

from __future__ import annotations

import itertools

import mpmath
import numpy as np
import sympy as sp

from symdl.budget import run_with_budget
from symdl.errors import SymdlError
from symdl.verify.admissible import conditions
from symdl.verify.claims import Problem
from symdl.verify.precise import Evaluator, NotAdmissible
from symdl.verify.report import Kink

__all__ = ["kink_roots", "kinks_of", "region_points"]

_MAX_KINKS = 10
_ROOTS_CACHE = 512
_roots_cache: dict[tuple[sp.Expr, sp.Symbol], list[sp.Expr]] = {}


def _linear_root(e: sp.Expr, var: sp.Symbol) -> sp.Expr | None:
    """The root of ``e = a·var + b`` with real numbers ``a ≠ 0``, ``b`` (exact), else None."""
    p = e.as_poly(var)
    if p is None or p.degree() != 1:
        return None
    a, b = p.all_coeffs()
    if not (a.is_number and b.is_number and a.is_real and b.is_real):
        return None
    return -b / a


def kink_roots(exprs: list[sp.Expr], var: sp.Symbol, *, timeout: float) -> list[sp.Expr]:
    """The real roots of the kink expressions ``exprs`` in ``var``, in order (at most ten).

    Linear ones are solved here, exactly; the rest together by ``solveset`` in one
    budgeted child (:class:`~symdl.errors.SymdlError` when it fails or runs out). Roots
    are remembered per expression (``e`` and ``-e`` alike) for the life of the process:
    the checks of one derivation meet the same kinks on every line.
    """
    keys = [(-e if e.could_extract_minus_sign() else e, var) for e in exprs]
    for key in keys:
        if key not in _roots_cache:
            r = _linear_root(key[0], var)
            if r is not None:
                _remember_roots(key, [r])
    todo = list(dict.fromkeys(k for k in keys if k not in _roots_cache))
    if todo:
        solved = run_with_budget(_each_roots, [k[0] for k in todo], var, timeout=timeout)
        for key, roots in zip(todo, solved):
            _remember_roots(key, roots)
    out: list[sp.Expr] = []
    for key in keys:
        out.extend(r for r in _roots_cache[key] if r not in out)
    return out[:_MAX_KINKS]


def _remember_roots(key: tuple[sp.Expr, sp.Symbol], roots: list[sp.Expr]) -> None:
    if len(_roots_cache) >= _ROOTS_CACHE:
        _roots_cache.pop(next(iter(_roots_cache)))
    _roots_cache[key] = roots


def _each_roots(exprs: list[sp.Expr], var: sp.Symbol) -> list[list[sp.Expr]]:
    return [_roots([e], var) for e in exprs]


def _roots(exprs: list[sp.Expr], var: sp.Symbol) -> list[sp.Expr]:
    roots: list[sp.Expr] = []
    for e in exprs:
        solutions = sp.solveset(e, var, domain=sp.S.Reals)
        if isinstance(solutions, sp.FiniteSet):
            roots.extend(r for r in solutions if r not in roots)
    return roots[:_MAX_KINKS]


def region_points(
    exprs: list[sp.Basic], var: sp.Symbol, rng: np.random.Generator, *, timeout: float
) -> list[float]:
    """One point in every region the kinks of ``exprs`` cut the line into.

    Between consecutive kinks the midpoint; beyond the outermost ones a point 0.5 to 5
    further out. A claim that is right on the central piece of a clipped function
    (``hard_tanh' = 1``) but wrong outside it is then always evaluated where it fails.
    """
    kink_exprs = [c.expr for c in conditions(exprs) if c.kind == "kink"]
    if not kink_exprs or any(e.free_symbols - {var} for e in kink_exprs):
        return []
    try:
        roots = kink_roots(kink_exprs, var, timeout=timeout)
    except SymdlError:
        return []
    at = sorted({float(r) for r in roots if r.is_real})
    if not at:
        return []
    points = [at[0] - rng.uniform(0.5, 5.0), at[-1] + rng.uniform(0.5, 5.0)]
    points += [(a + b) / 2 for a, b in itertools.pairwise(at)]
    return points


def kinks_of(problem: Problem, *, precision: int, timeout: float) -> list[Kink]:
    """The kinks of a derivative problem's function (the first instance), with brackets."""
    if problem.kind != "derivative" or not problem.sides:
        return []
    side = problem.sides[0]
    f = side.f
    if f is None or isinstance(f, sp.MatrixBase):
        return []
    kink_exprs = [c.expr for c in conditions([f]) if c.kind == "kink"]
    if not kink_exprs:
        return []
    free = f.free_symbols
    var = next((s for s in free if s.name == problem.wrt), None)
    if var is None or len(free) != 1 or problem.expected not in ((), (1, 1)):
        return [Kink(f"where {e} = 0", None, None, None, None) for e in kink_exprs[:5]]
    try:
        roots = kink_roots(kink_exprs, var, timeout=max(timeout, 0.5))
    except SymdlError:
        return [Kink(f"where {e} = 0", None, None, None, None) for e in kink_exprs[:5]]
    out = []
    claimed = side.claimed[0]
    for r in roots:
        kink = _bracket(f, claimed, var, r, precision)
        if kink is not None:
            out.append(kink)
    return out


def _bracket(f: sp.Expr, claimed: sp.Expr, var: sp.Symbol, root: sp.Expr, dps: int) -> Kink | None:
    work = dps + 20
    with mpmath.workdps(work):
        at = Evaluator({var: 0}, dps=work)._visit(root) if not root.free_symbols else None
        if at is None:
            return None
        h = mpmath.mpf(10) ** (-(dps // 2 + 5))

        def value(v: mpmath.mpf) -> mpmath.mpf:
            return Evaluator({var: v}, dps=work)(f)

        try:
            left = (value(at) - value(at - h)) / h
            right = (value(at + h) - value(at)) / h
            c = Evaluator({var: at}, dps=work)(claimed)
        except (NotAdmissible, ZeroDivisionError):
            return None
        tol = mpmath.mpf(10) ** (-(dps // 3)) * (1 + abs(left) + abs(right))
        if abs(left - right) <= tol:
            return None  # differentiable there after all (e.g. |x|**2)
        lo, hi = min(left, right), max(left, right)
        inside = lo - tol <= c <= hi + tol
        return Kink(f"{var} = {root}", float(left), float(right), float(c), bool(inside), float(at))
