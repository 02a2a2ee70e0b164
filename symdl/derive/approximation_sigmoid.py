r"""The sigmoid staircase (Cybenko-style) with a certified error bound.

For a bounded, monotone activation :math:`\sigma` with limits :math:`\ell < u` at
:math:`\mp\infty`, let :math:`\tilde\sigma = (\sigma - \ell)/(u - \ell)` (a sigmoidal
function in Cybenko's sense, 1989, "Approximation by superpositions of a sigmoidal
function", §2). With knots :math:`t_i = a + ih`, steps at :math:`c_i = t_i - h/2` and
:math:`\Delta_i = f(t_i) - f(t_{i-1})`,

.. math:: f_n(x) = f(a) + \sum_{i=1}^{n} \Delta_i\,\tilde\sigma\big(k(x - c_i)\big).

For :math:`x = c_j + s \in [t_{j-1}, t_j]`, :math:`f_n(x) = f(t_{j-1}) + \theta\Delta_j +
\sum_{i<j}\Delta_i(\tilde\sigma_i - 1) + \sum_{i>j}\Delta_i\tilde\sigma_i` with
:math:`\theta = \tilde\sigma(ks) \in [0, 1]`. The first part is the convex combination
:math:`(1 - \theta)f(t_{j-1}) + \theta f(t_j)`, within :math:`L\,((1-\theta)(\tfrac h2 + s)
+ \theta(\tfrac h2 - s)) = L\,(\tfrac h2 + s(1 - 2\theta))` of :math:`f(x)` for
:math:`L \ge \max|f'|`. With :math:`|\Delta_i| \le Lh` and the tail :math:`\tau(v) =
\max(1 - \tilde\sigma(v), \tilde\sigma(-v))`, non-increasing for :math:`v \ge 0`,

.. math:: \|f - f_n\|_\infty \le Lh\,(A + T),\quad
          A = \tfrac12 + \max_{|v| \le kh/2}\frac{v\,(1 - 2\tilde\sigma(v))}{kh},\quad
          T = 2\sum_{m=1}^{n-1}\tau\big(kh(m - \tfrac12)\big).

:math:`A \le \tfrac12` for a symmetric :math:`\tilde\sigma` (sigmoid, tanh, softsign);
:math:`A` and :math:`L` are enclosed by interval arithmetic, and :math:`T` is bounded
rigorously: the first terms one by one, the rest in blocks :math:`[m_0, 2m_0)` by
:math:`m_0\,\tau(kh(m_0 - \tfrac12))`. ``k`` is chosen (doubling, then bisection) so that
:math:`T \le 1/4`, and ``n`` so that :math:`Lh(A + T) \le \varepsilon`, starting from
:math:`A = 1/2`.
"""

from __future__ import annotations

import math

import mpmath
import sympy as sp

from symdl.catalog import ACTIVATIONS
from symdl.catalog.code import limits_at_infinity
from symdl.catalog.entry import X as T
from symdl.catalog.properties import establish_monotone
from symdl.derive.approximation_certificate import (
    Approximation,
    domain_endpoints,
    sup_error,
    target,
    values_at,
)
from symdl.derive.approximation_network import Layer, Network
from symdl.derive.approximation_relu import MAX_NEURONS, second_derivative_bound
from symdl.errors import UnsupportedError
from symdl.verify.interval import bounds, enclose
from symdl.verify.report import Evidence

__all__ = ["sigmoid_staircase", "sigmoidal", "tail_sum_bound"]

X = sp.Symbol("x", real=True)
#: Terms of the tail sum bounded one by one before the blocks start.
_SINGLE_TERMS = 64
#: The tail factor 2Στ the choice of k aims for.
_TAIL = 0.25


def sigmoidal(name: str) -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    r"""``(σ(x), ℓ, u)`` for a bounded monotone catalogue activation, else an error."""
    entry = ACTIVATIONS.get(name)
    if entry.vector:
        raise UnsupportedError(f"{name} is vector-valued, not a scalar sigmoidal activation")
    expr, derivative = entry.at()
    limits = limits_at_infinity(expr)
    if limits is None or not all(v.is_finite for v in limits) or not bool(limits[0] < limits[1]):
        raise UnsupportedError(
            f"{name} is not a bounded sigmoidal activation: its limits at −∞, +∞ are "
            f"{limits if limits is not None else 'unknown'}"
        )
    monotone = establish_monotone(expr, derivative)
    if monotone.value not in ("increasing", "non-decreasing"):
        raise UnsupportedError(f"{name} is not monotone ({monotone}); the staircase bound needs it")
    return expr, limits[0], limits[1]


def _tail(normal: sp.Expr, v: mpmath.mpf) -> mpmath.mpf:
    """An upper bound of τ(v) = max(1 − σ̃(v), σ̃(−v)), rigorous (interval arithmetic)."""
    point = {T: (v, v)}
    right = enclose(1 - normal, point)[1]
    left = enclose(normal.xreplace({T: -T}), point)[1]
    return max(right, left, mpmath.mpf(0))


def tail_sum_bound(normal: sp.Expr, kh_low: mpmath.mpf, n: int) -> mpmath.mpf:
    r"""A rigorous upper bound of :math:`2\sum_{m=1}^{n-1}\tau(kh(m - \tfrac12))`.

    ``kh_low`` must be a lower bound of :math:`kh`: τ is non-increasing, so smaller
    arguments only raise the bound.
    """
    total = mpmath.mpf(0)
    m = 1
    while m <= n - 1:
        size = 1 if m <= _SINGLE_TERMS else min(m, n - m)
        term = _tail(normal, kh_low * (m - mpmath.mpf(0.5)))
        total += size * term
        if term == 0:
            break
        m += size
    return 2 * total


def _choose_k(normal: sp.Expr, h_low: mpmath.mpf, n: int) -> tuple[sp.Rational, mpmath.mpf]:
    """The least k (up to a bisection of 8 steps) with tail factor ≤ 1/4, and that factor."""
    k = sp.Rational(1, 1) / sp.Rational(mpmath.nstr(h_low, 15))
    k = sp.Rational(math.ceil(k))
    factor = tail_sum_bound(normal, h_low * int(k), n)
    while factor > _TAIL:
        k *= 2
        factor = tail_sum_bound(normal, h_low * int(k), n)
    low = k / 2
    for _ in range(8):
        mid = sp.Rational(math.ceil((low + k) / 2))
        if mid >= k:
            break
        trial = tail_sum_bound(normal, h_low * int(mid), n)
        if trial <= _TAIL:
            k, factor = mid, trial
        else:
            low = mid
    return k, factor


def _step_factor(
    normal: sp.Expr, k: sp.Rational, h_low: mpmath.mpf, h_high: mpmath.mpf
) -> mpmath.mpf:
    r"""An upper bound of :math:`\tfrac12 + \max_{|v| \le kh/2} v(1 - 2\tilde\sigma(v))/(kh)`."""
    reach = mpmath.mpf(int(k)) * h_high / 2 * (1 + mpmath.mpf(2) ** -40)
    found = bounds(T * (1 - 2 * normal), T, -reach, reach, cells=256, refine=8)
    worst = max(mpmath.mpf(found.upper), mpmath.mpf(0))
    with mpmath.workprec(80):
        return mpmath.mpf(0.5) + worst / (int(k) * h_low) * (1 + mpmath.mpf(2) ** -60)


def sigmoid_staircase(
    f: str | sp.Expr,
    a: object,
    b: object,
    *,
    eps: float,
    activation: str = "sigmoid",
    points: int | None = None,
    seed: int = 0,
) -> Approximation:
    r"""The staircase :math:`f(a) + \sum_i \Delta_i\tilde\sigma(k(x - c_i))` within ``eps``.

    >>> r = sigmoid_staircase("x**2", 0, 1, eps=0.05)
    >>> r.neurons, r.status, r.observed <= r.bound <= 0.05
    (30, 'proved', True)
    """
    expr = target(f)
    lo, hi = domain_endpoints(a, b)
    if not (eps > 0 and math.isfinite(eps)):
        raise ValueError(f"eps must be a positive number, got {eps}")
    sigma, low, high = sigmoidal(activation)
    normal = (sigma - low) / (high - low)
    lip, status, how = second_derivative_bound(expr, lo, hi, order=1)
    width = float(hi - lo)
    n = max(1, math.ceil(lip * width * (0.5 + _TAIL) / eps))
    while True:
        if n > MAX_NEURONS:
            raise UnsupportedError(
                f"ε = {eps:g} needs {n} {activation} neurons, more than the limit {MAX_NEURONS}"
            )
        h = (hi - lo) / n
        h_low, h_high = enclose(h, {})
        h_low *= 1 - mpmath.mpf(2) ** -40  # products below round to nearest: keep a lower bound
        k, factor = _choose_k(normal, h_low, n)
        step = _step_factor(normal, k, h_low, h_high)
        bound = float(mpmath.mpf(lip) * h_high * (step + factor)) * (1 + 1e-12)
        if bound <= eps or lip == 0:
            break
        n = max(n + 1, math.ceil(n * bound / eps))
    knots = [lo + i * h for i in range(n + 1)]
    values = values_at(expr, knots, X)
    deltas = [values[i] - values[i - 1] for i in range(1, n + 1)]
    centres = [t - h / 2 for t in knots[1:]]
    hidden = Layer(tuple((k,) for _ in range(n)), tuple(-k * c for c in centres), activation)
    scale = high - low
    output = Layer(
        (tuple(d / scale for d in deltas),),
        (values[0] - low * (values[-1] - values[0]) / scale,),
        "identity",
    )
    network = Network((hidden, output))
    evidence = Evidence(
        "interval arithmetic" if status == "proved" else "sampling",
        status,
        f"‖f − f_n‖ ≤ L·h·(A + T) with L = {lip:.6g} ({how}), h = {float(h):.6g}, k = {k}, "
        f"step factor A ≤ {float(step):.4g}, tail T = 2Στ(kh(m − 1/2)) ≤ {float(factor):.3g} "
        f"(mpmath.iv, "
        f"τ(v) = max(1 − σ̃(v), σ̃(−v)) for σ̃ = ({sigma} − ({low}))/({high - low}))",
    )
    observed, precise, grid, high_ev = sup_error(
        expr,
        network,
        [(lo, hi)],
        bound=bound,
        points=points or max(4001, 4 * n + 1),
        precise_points=max(4, min(20, 4000 // n)),  # ~65 µs per 40-digit sigmoid
        seed=seed,
    )
    return Approximation(
        target=str(f),
        construction=f"{activation} staircase, f(a) + Σ Δ_i σ̃(k(x − c_i))",
        domain=((lo, hi),),
        network=network,
        bound=bound,
        status=status,
        evidence=(evidence, grid, high_ev),
        observed=observed,
        observed_precise=precise,
        eps=eps,
        parameters={"n": n, "k": k, "activation": activation, "L": lip, "A": float(step)},
    )
