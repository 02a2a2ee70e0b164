r"""ReLU piecewise-linear interpolation with a certified error bound.

With knots :math:`t_i = a + ih`, :math:`h = (b - a)/n`, the interpolant of :math:`f` is
the one-hidden-layer ReLU network

.. math:: f_n(x) = f(a) + \sum_{i=0}^{n-1} \alpha_i\,\mathrm{relu}(x - t_i),\qquad
          \alpha_i = s_i - s_{i-1},\ s_i = \frac{f(t_{i+1}) - f(t_i)}{h},\ s_{-1} = 0,

and on each cell :math:`[t_i, t_{i+1}]` the classical interpolation error bound holds:
:math:`|f(x) - f_n(x)| \le \tfrac{h^2}{8}\max_{[t_i, t_{i+1}]}|f''|` (e.g. Süli & Mayers,
*An Introduction to Numerical Analysis*, 2003, Thm 6.2 with n = 1). The maximum of
:math:`|f''|` on each cell is enclosed by interval arithmetic
(:func:`symdl.verify.interval.bounds`), so the bound is proved; where ``f''`` has no
interval enclosure it is estimated by 30-digit sampling and reported as ``estimated``.
"""

from __future__ import annotations

import math

import mpmath
import sympy as sp

from symdl.derive.approximation_certificate import (
    Approximation,
    Status,
    domain_endpoints,
    sup_error,
    target,
    values_at,
)
from symdl.derive.approximation_network import Layer, Network
from symdl.errors import SymdlError, UnsupportedError
from symdl.nodes import expand_catalog
from symdl.verify.interval import bounds
from symdl.verify.precise import Evaluator, NotAdmissible
from symdl.verify.report import Evidence

__all__ = ["MAX_NEURONS", "relu_interpolation", "second_derivative_bound"]

X = sp.Symbol("x", real=True)
#: The largest network a construction builds; a smaller ε is refused, not attempted.
MAX_NEURONS = 20000


def second_derivative_bound(
    expr: sp.Expr, a: sp.Expr, b: sp.Expr, *, order: int = 2, cells: int = 256
) -> tuple[float, Status, str]:
    r"""An upper bound :math:`M \ge \max_{[a, b]} |f^{(k)}|` (``k = order``), its status, how.

    ``proved`` by an interval enclosure over ``cells`` cells; ``estimated`` by 30-digit
    sampling at 4097 points when the derivative has no enclosure. A target defined by
    pieces (``Piecewise``, ``max``, ``abs``, …, also inside catalogue activations) or whose
    derivative has a Dirac delta has no bound at all: :class:`UnsupportedError`.
    """
    pieces = expand_catalog(expr).atoms(sp.Piecewise, sp.Max, sp.Min, sp.Abs, sp.sign, sp.Heaviside)
    if pieces:
        shown = ", ".join(sorted(str(p) for p in pieces)[:2])
        raise UnsupportedError(
            f"the bound needs a smooth target, and {expr} is defined by pieces ({shown}): "
            "SymPy differentiates each piece, so a kink would not show in the derivative"
        )
    d = sp.diff(expr, X, order)
    if d.has(sp.DiracDelta):
        raise UnsupportedError(
            f"the bound needs f to be {order} times differentiable; d^{order}f/dx^{order} = {d}"
        )
    try:
        found = bounds(d, X, a, b, cells=cells, refine=8)
        if math.isfinite(found.lower) and math.isfinite(found.upper):
            top = max(abs(found.lower), abs(found.upper))
            return top, "proved", f"|f^({order})| ≤ {top:.6g}: {found.evidence}"
    except SymdlError:
        pass
    fa, fb = float(a), float(b)
    worst = 0.0
    for j in range(4097):
        at = mpmath.mpf(fa) + (mpmath.mpf(fb) - fa) * j / 4096
        try:
            worst = max(worst, float(abs(Evaluator({X: at}, dps=30)(d))))
        except NotAdmissible as err:
            raise UnsupportedError(f"d^{order}f/dx^{order} is undefined at {at}: {err}") from err
    if not math.isfinite(worst):
        raise UnsupportedError(f"|d^{order}f/dx^{order}| on [{a}, {b}] is beyond the float64 range")
    return worst, "estimated", f"|f^({order})| ≈ {worst:.6g}: sampled at 4097 points (30 digits)"


def _knots_needed(width: float, top: float, eps: float) -> int:
    # h²/8 · M ≤ ε  ⇔  h ≤ sqrt(8ε/M)
    return max(1, math.ceil(width * math.sqrt(top / (8 * eps)))) if top > 0 else 1


def relu_interpolation(
    f: str | sp.Expr,
    a: object,
    b: object,
    *,
    eps: float | None = None,
    n: int | None = None,
    points: int | None = None,
    seed: int = 0,
) -> Approximation:
    r"""The ReLU interpolant of ``f`` on ``[a, b]``: ``n`` neurons, or as few as ``eps`` needs.

    The bound :math:`\max_i \tfrac{h^2}{8}\max_{[t_i, t_{i+1}]}|f''|` uses one interval
    enclosure of :math:`|f''|` per cell (split into sub-cells); ``n`` is the least knot
    count for which the global bound on :math:`|f''|` gives ``eps``, increased if the
    per-cell enclosures do not confirm it.

    >>> r = relu_interpolation("sin(x)", 0, "pi", eps=1e-3)
    >>> r.neurons, r.status, r.observed <= r.bound <= 1e-3
    (36, 'proved', True)
    """
    expr = target(f)
    lo, hi = domain_endpoints(a, b)
    if (eps is None) == (n is None):
        raise ValueError("give exactly one of eps (a target error) and n (the neuron count)")
    if eps is not None and not (eps > 0 and math.isfinite(eps)):
        raise ValueError(f"eps must be a positive number, got {eps}")
    if n is not None and not (isinstance(n, int) and 1 <= n <= MAX_NEURONS):
        raise ValueError(f"n must be an integer in [1, {MAX_NEURONS}], got {n}")
    width = float(hi - lo)
    top, status, how = second_derivative_bound(expr, lo, hi)
    count = n if n is not None else _knots_needed(width, top, eps)  # type: ignore[arg-type]
    while True:
        if count > MAX_NEURONS:
            raise UnsupportedError(
                f"ε = {eps:g} needs {count} ReLU neurons, more than the limit {MAX_NEURONS}"
            )
        h = (hi - lo) / count
        knots = [lo + i * h for i in range(count + 1)]
        cell_top, cell_status, cell_how = _per_cell(expr, knots, status)
        bound = float(h) ** 2 / 8 * cell_top * (1 + 1e-12)  # the float product rounded up
        if eps is None or bound <= eps:
            break
        count = max(count + 1, math.ceil(count * math.sqrt(bound / eps)))
    values = values_at(expr, knots, X)
    slopes = [(values[i + 1] - values[i]) / h for i in range(count)]
    alphas = [slopes[0]] + [slopes[i] - slopes[i - 1] for i in range(1, count)]
    hidden = Layer(tuple((sp.S.One,) for _ in range(count)), tuple(-t for t in knots[:-1]))
    output = Layer((tuple(alphas),), (values[0],), "identity")
    network = Network((hidden, output))
    evidence = [
        Evidence(
            "interval arithmetic" if cell_status == "proved" else "sampling",
            cell_status,
            f"on each of the {count} cells, |f − f_n| ≤ h²/8 · max|f''| with h = {float(h):.6g}; "
            f"{cell_how}; global {how}",
        )
    ]
    observed, precise, grid, high = sup_error(
        expr,
        network,
        [(lo, hi)],
        bound=bound,
        points=points or max(4001, 16 * count + 1),
        seed=seed,
    )
    return Approximation(
        target=str(f),
        construction="ReLU piecewise-linear interpolation, f(a) + Σ α_i relu(x − t_i)",
        domain=((lo, hi),),
        network=network,
        bound=bound,
        status=cell_status,
        evidence=(*evidence, grid, high),
        observed=observed,
        observed_precise=precise,
        eps=eps,
        parameters={"n": count, "h": float(h), "max|f''|": cell_top},
    )


def _per_cell(expr: sp.Expr, knots: list[sp.Expr], status: Status) -> tuple[float, Status, str]:
    """``max_i max_{[t_i, t_{i+1}]} |f''|`` from one enclosure per cell, or the global estimate."""
    if status != "proved":
        top, _, how = second_derivative_bound(expr, knots[0], knots[-1])
        return top, "estimated", how
    d2 = sp.diff(expr, X, 2)
    sub = max(1, 1024 // (len(knots) - 1))
    worst, where = 0.0, 0
    for i in range(len(knots) - 1):
        found = bounds(d2, X, knots[i], knots[i + 1], cells=sub, refine=0)
        cell = max(abs(found.lower), abs(found.upper))
        if not math.isfinite(cell):
            return second_derivative_bound(expr, knots[0], knots[-1])
        if cell > worst:
            worst, where = cell, i
    how = (
        f"max|f''| ≤ {worst:.6g} per cell (mpmath.iv, {sub} sub-cell(s) each), "
        f"largest on cell {where}"
    )
    return worst, "proved", how
