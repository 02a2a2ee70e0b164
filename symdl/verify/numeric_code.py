"""Corroborate high-precision values with the generated NumPy code.

For a derivative, the function's generated code is differentiated numerically at a few of
the sample points — by the complex step where the lowered expression is analytic, else by
Richardson extrapolation — and compared with the true gradient within the error bound the
method reports for each entry. For an identity, the generated code of both sides is
evaluated in float64 and compared with the high-precision values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import sympy as sp

from symdl.codegen import NON_ANALYTIC, numpy_function
from symdl.errors import SymdlError
from symdl.nodes import expand_catalog
from symdl.verify.claims import Problem, Side
from symdl.verify.finite import differences
from symdl.verify.precise import Evaluator
from symdl.verify.report import Evidence

__all__ = ["FD_POINTS", "code_agreement", "environment", "fd_agreement"]

#: Sample points per instance at which finite differences are taken.
FD_POINTS = 3
#: Relative tolerance for float64 evaluation of generated code against 30-digit values:
#: 2^-30 leaves room for a condition number of about 10^6 on top of double rounding.
CODE_RTOL = 2.0**-30


#: What float64 evaluation raises at a point outside its range (30.0**1000, 1/0.0).
FLOAT_TROUBLE = (FloatingPointError, OverflowError, ZeroDivisionError)


def environment(side: Side, point: Mapping[sp.Symbol, float], names: tuple[str, ...]) -> dict:
    """The NumPy arrays (and floats) of every variable at a sample point."""
    env: dict[str, Any] = {}
    by_name = {s.name: v for s, v in point.items()}
    for name in names:
        m = side.instance.entries.get(name)
        if m is not None:
            env[name] = np.array(
                [[float(point[m[i, j]]) for j in range(m.cols)] for i in range(m.rows)]
            )
        elif name in by_name:
            env[name] = float(by_name[name])
    return env


def _analytic(expr: sp.Basic) -> bool:
    return not any(isinstance(a, NON_ANALYTIC) for a in sp.preorder_traversal(expand_catalog(expr)))


def fd_agreement(problem: Problem, values: list) -> Evidence:
    worst, worst_tol, count, methods = 0.0, 0.0, 0, set()
    ok = True
    for side, pts, trues, _ in values:
        analytic = _analytic(side.f)
        code = numpy_function(
            problem.f, problem.names, sizes=side.instance.sizes, complex_safe=analytic
        )
        for point, true in list(zip(pts, trues))[:FD_POINTS]:
            env = environment(side, point, problem.names)
            wrt = problem.wrt
            assert wrt is not None
            x0 = np.asarray(env[wrt], dtype=float)

            def g(v: np.ndarray, env: dict = env, wrt: str = wrt, code: Any = code) -> Any:
                return code(**{**env, wrt: v})

            try:
                with np.errstate(all="raise", under="ignore"):
                    d = differences(g, x0, method="complex-step" if analytic else "richardson")
            except FLOAT_TROUBLE:
                continue  # f leaves the float64 range near this point
            if not np.all(np.isfinite(d.value)):
                continue
            methods.add(d.method)
            value = d.value.reshape(true.shape)
            bound = d.error.reshape(true.shape)
            err = np.abs(value - true)
            scale = np.maximum(np.maximum(np.abs(true), np.abs(value)), 1e-300)
            rel = err / scale
            k = int(np.argmax(rel))
            if rel.flat[k] >= worst:
                worst, worst_tol = float(rel.flat[k]), float(bound.flat[k] / scale.flat[k])
            ok = ok and bool(np.all(err <= bound))
            count += 1
    method = " and ".join(sorted(methods))
    return (
        Evidence(
            "finite-differences",
            "agree" if ok else "differ",
            f"{method} on the generated NumPy code; each entry within the method's error bound"
            if ok
            else f"{method} on the generated NumPy code disagrees with the true gradient beyond "
            "the method's error bound",
            points=count,
            worst_error=worst,
            tolerance=worst_tol,
        )
        if methods
        else Evidence("finite-differences", "skipped", "no points")
    )


#: Working digits of the confirming reference: beyond the float64 exponent range, so a
#: sum that cancels down to a normal float is resolved.
CONFIRM_DPS = 400


def _code_error(
    a: np.ndarray, b: np.ndarray, t: np.ndarray, c: np.ndarray, terms: float = 0.0
) -> float:
    """The code's error relative to the values, or to the size of the terms that cancel.

    Summing terms in float64 leaves an error of order ε·Σ|terms| (Higham, *Accuracy and
    Stability of Numerical Algorithms*, 2002, §4.2), so a value that cancels to 0 (or
    nearly) is judged against the size of its terms, ``terms``, not against itself.
    """
    scale = max(float(np.max(np.abs(t))), terms, 1e-300)
    return max(float(np.max(np.abs(a - t))), float(np.max(np.abs(b - c)))) / scale


def magnitude(e: sp.Expr) -> sp.Expr:
    """``e`` with every sum and product of sums taken in absolute values: Σ|terms|.

    >>> x, y = sp.symbols("x y", real=True)
    >>> magnitude(x - y*(1 - x)) == sp.Abs(x) + sp.Abs(y)*(sp.Abs(x) + 1)
    True
    """
    if isinstance(e, sp.Add):
        return sp.Add(*(magnitude(a) for a in e.args))
    if isinstance(e, sp.Mul):
        return sp.Mul(*(magnitude(a) for a in e.args))
    return sp.Abs(e)


def _terms(side: Side, point: Mapping[sp.Symbol, float]) -> float:
    """The largest Σ|terms| over the entries of both sides at ``point`` (0 if unknown)."""
    ev = Evaluator(point, dps=20)
    try:
        return max(float(ev(magnitude(e))) for e in (*side.true, *side.claimed))
    except (ArithmeticError, ValueError, SymdlError):
        return 0.0


def _reference(
    side: Side, point: Mapping[sp.Symbol, float], shape: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray]:
    ev = Evaluator(point, dps=CONFIRM_DPS)
    t = np.array([float(ev(e)) for e in side.true]).reshape(shape)
    c = np.array([float(ev(e)) for e in side.claimed]).reshape(shape)
    return t, c


def _term_codes(expr: sp.Basic, names: Any, sizes: Any) -> list[Any]:
    """Generated code for each top-level term of ``expr`` (none if it is not a sum)."""
    if not isinstance(expr, (sp.Add, sp.MatAdd)):
        return []
    try:
        return [numpy_function(t, names, sizes=sizes) for t in expr.args]
    except SymdlError:
        return []


def _code_terms(codes: list[Any], env: Mapping[str, Any], shape: tuple[int, ...]) -> float:
    """The largest entry of Σ|term| for the terms the generated code adds up."""
    if not codes:
        return 0.0
    try:
        with np.errstate(all="ignore"):
            total = sum(
                np.broadcast_to(np.abs(np.asarray(code(**env), dtype=float)), shape)
                for code in codes
            )
        return float(np.nanmax(total))
    except (ArithmeticError, ValueError, TypeError):
        return 0.0


def code_agreement(problem: Problem, values: list) -> Evidence:
    worst, count, skipped, ok = 0.0, 0, 0, True
    for side, pts, trues, claims in values:
        left = numpy_function(problem.f, problem.names, sizes=side.instance.sizes)
        right = numpy_function(problem.claimed, problem.names, sizes=side.instance.sizes)
        term_codes = [
            *_term_codes(problem.f, problem.names, side.instance.sizes),
            *_term_codes(problem.claimed, problem.names, side.instance.sizes),
        ]
        for point, t, c in zip(pts, trues, claims):
            env = environment(side, point, problem.names)
            try:
                with np.errstate(all="raise", under="ignore"):
                    a = np.asarray(left(**env), dtype=float).reshape(t.shape)
                    b = np.asarray(right(**env), dtype=float).reshape(c.shape)
            except FLOAT_TROUBLE:
                skipped += 1  # a value beyond float64 at this point: nothing to compare
                continue
            err = _code_error(a, b, t, c)
            if err > CODE_RTOL:
                # the reference may have lost digits to cancellation (1 + erf(−25) at 30
                # digits is 0, not 8e−274): confirm against a deeper evaluation first, and
                # judge a value that cancels against the size of its terms
                t, c = _reference(side, point, t.shape)
                terms = max(_terms(side, point), _code_terms(term_codes, env, t.shape))
                err = _code_error(a, b, t, c, terms)
            worst = max(worst, err)
            ok = ok and err <= CODE_RTOL
            count += 1
    if not count:
        return Evidence(
            "generated-code",
            "skipped",
            f"float64 overflows at all {skipped} sample points; nothing to compare",
        )
    note = f" ({skipped} points beyond the float64 range skipped)" if skipped else ""
    return Evidence(
        "generated-code",
        "agree" if ok else "differ",
        "float64 evaluation of the generated NumPy code of both sides against the "
        "high-precision values" + note,
        points=count,
        worst_error=worst,
        tolerance=CODE_RTOL,
    )
