r"""Where a function of one variable may be sampled: inside its domain, away from its kinks.

The regions are read off the expression, as everywhere in symdl: a ``log`` or a fractional
power needs a positive argument, a division a non-zero one, and ``Max``/``Min``/``Abs``/
``Heaviside``/``sign``/``Piecewise`` switch where their argument (or the difference of
their arguments) is zero. Every such switch point is a candidate kink; the established
kinks of a catalogue entry (:func:`symdl.catalog.properties.establish_kinks`) are among
them. The safe set is

.. math::

    S = [\mathrm{min}, \mathrm{max}] \cap D \setminus
        \bigcup_{e \in E} (e - \mathrm{margin}, e + \mathrm{margin}),

with :math:`D` the domain and :math:`E` its edges, the zeros of denominators and (when
kinks are avoided) the switch points. The float intervals returned lie inside :math:`S`:
their ends are rounded inwards, so no float drawn from them is closer than ``margin`` to
an edge or a kink.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy as sp

from symdl.budget import run_with_budget
from symdl.catalog.activations import ACTIVATIONS
from symdl.catalog.entry import Activation
from symdl.errors import SymdlError, UnsupportedError
from symdl.parse import parse
from symdl.verify.admissible import conditions

__all__ = ["SafeRegions", "safe_regions", "univariate"]

#: Seconds SymPy may spend locating the kinks and domain of one expression.
TIMEOUT = 10.0


@dataclass(frozen=True)
class SafeRegions:
    """Closed float intervals ``(lo, hi)`` (``None`` for an unbounded end), in order.

    ``avoided`` lists the points kept at a distance (kinks, domain edges, poles), exactly.
    """

    expr: sp.Expr
    var: sp.Symbol
    intervals: tuple[tuple[float | None, float | None], ...]
    avoided: tuple[sp.Expr, ...]
    margin: float


def univariate(target: object) -> tuple[sp.Expr, sp.Symbol]:
    """The scalar function of one variable named by ``target``.

    ``target`` is a scalar catalogue activation (an :class:`Activation` or its name, at its
    default parameters), input-language text in one scalar variable, or a SymPy
    expression with one free symbol.
    """
    if isinstance(target, str) and target in ACTIVATIONS:
        target = ACTIVATIONS.get(target)
    if isinstance(target, Activation):
        if target.vector:
            raise UnsupportedError(
                f"{target.name} is vector-valued; points are drawn for scalar functions"
            )
        expr = target.at()[0]
    elif isinstance(target, str):
        expr = parse(target)
    elif isinstance(target, sp.Expr):
        expr = target
    else:
        raise TypeError(
            "expected an activation, its name, input-language text or a SymPy expression, "
            f"got {type(target).__name__}"
        )
    if isinstance(expr, sp.MatrixBase) or getattr(expr, "is_Matrix", False):
        raise UnsupportedError(f"{target!r} is an array; points are drawn for scalar functions")
    free = sorted(expr.free_symbols, key=lambda s: s.name)
    if len(free) != 1:
        names = ", ".join(s.name for s in free) or "none"
        raise UnsupportedError(
            f"points are drawn for a function of one variable; {target!r} has variables {names}"
        )
    return expr, free[0]


def safe_regions(
    target: object,
    *,
    min_value: float | None = None,
    max_value: float | None = None,
    margin: float = 0.05,
    avoid_kinks: bool = True,
) -> SafeRegions:
    """The float intervals of ``target``'s variable that are safe to sample (see module doc).

    >>> r = safe_regions("relu", min_value=-1.0, max_value=1.0)
    >>> r.intervals
    ((-1.0, -0.05), (0.05, 1.0))
    >>> safe_regions("log(x)", max_value=2.0).intervals
    ((0.05, 2.0),)
    """
    if not margin >= 0 or not np.isfinite(margin):
        raise ValueError(f"margin must be a finite number >= 0, got {margin!r}")
    for name, v in (("min_value", min_value), ("max_value", max_value)):
        if v is not None and not np.isfinite(v):
            raise ValueError(f"{name} must be finite (or None for no bound), got {v!r}")
    if min_value is not None and max_value is not None and min_value > max_value:
        raise ValueError(f"min_value={min_value!r} is greater than max_value={max_value!r}")
    expr, var = univariate(target)
    try:
        domain, edges = run_with_budget(_analyse, expr, var, avoid_kinks, timeout=TIMEOUT)
    except SymdlError as err:
        raise UnsupportedError(f"could not locate the domain and kinks of {expr}: {err}") from err
    lo = sp.Rational(min_value) if min_value is not None else sp.S.NegativeInfinity
    hi = sp.Rational(max_value) if max_value is not None else sp.S.Infinity
    allowed = sp.Intersection(sp.Interval(lo, hi), domain)
    m = sp.Rational(margin)
    for e in edges:
        allowed = sp.Complement(allowed, sp.Interval.open(e - m, e + m))
    return SafeRegions(expr, var, _float_intervals(allowed), tuple(edges), margin)


def _analyse(expr: sp.Expr, var: sp.Symbol, avoid_kinks: bool) -> tuple[sp.Set, list[sp.Expr]]:
    domain: sp.Set = sp.S.Reals
    edges: list[sp.Expr] = []
    for c in conditions([expr]):
        if c.kind == "kink" and not avoid_kinks:
            continue
        if c.kind != "kink" and (c.expr.is_positive or c.expr.is_negative):
            continue  # 1 + b**2 > 0 everywhere: no edge, nothing to solve
        if c.kind == "positive":
            where = sp.solveset(c.expr > 0, var, domain=sp.S.Reals)
            domain = sp.Intersection(domain, where)
            points = where.boundary
        else:
            points = sp.solveset(c.expr, var, domain=sp.S.Reals)
        if not isinstance(points, sp.FiniteSet) and points is not sp.S.EmptySet:
            what = "switch points" if c.kind == "kink" else "domain edges"
            raise UnsupportedError(
                f"the {what} of {c.origin} at {c.expr} = 0 are not finitely many"
            )
        edges.extend(p for p in points if p.is_real and p.is_finite and p not in edges)
    return domain, sorted(edges, key=lambda p: float(p))


def _float_intervals(s: sp.Set) -> tuple[tuple[float | None, float | None], ...]:
    if s is sp.S.EmptySet:
        return ()
    pieces = s.args if isinstance(s, sp.Union) else (s,)
    out = []
    for piece in pieces:
        if isinstance(piece, sp.FiniteSet):
            continue  # isolated points are never kept a margin away from anything
        if not isinstance(piece, sp.Interval):
            raise UnsupportedError(f"the safe set {s} is not a union of intervals")
        lo, hi = _inward(piece.inf, up=True), _inward(piece.sup, up=False)
        if lo is not None and hi is not None and lo > hi:
            continue
        out.append((lo, hi))
    return tuple(out)


def _inward(end: sp.Expr, *, up: bool) -> float | None:
    """``end`` as a float rounded into the interval (never outside the exact set)."""
    if not end.is_finite:
        return None
    value = float(sp.N(end, 30))
    exact = sp.Rational(value)
    if (up and exact < end) or (not up and exact > end):
        value = float(np.nextafter(value, np.inf if up else -np.inf))
    return value
