r"""A deep ReLU network for smooth targets: piecewise-quadratic interpolation via Yarotsky.

On each cell :math:`[t_i, t_{i+1}]` (:math:`h = (b - a)/n`, midpoint :math:`m_i`) the
quadratic interpolant of :math:`f` at :math:`t_i, m_i, t_{i+1}` is

.. math:: q(x) = L_n(x) - c_i h^2\,u(1 - u),\qquad u = \frac{x - t_i}{h},\qquad
          c_i = f[t_i, m_i, t_{i+1}] = \frac{2\,(f(t_i) - 2f(m_i) + f(t_{i+1}))}{h^2},

with :math:`L_n` the ReLU interpolant, and :math:`|f - q| \le \frac{\max|f'''|}{6}
\max|(x - t_i)(x - m_i)(x - t_{i+1})| = \frac{\max|f'''|\,h^3}{72\sqrt3}` (Süli & Mayers
2003, Thm 6.2). Yarotsky's :math:`u - f_m(u) = \sum_{s=1}^m g_s(u)/4^s` replaces
:math:`u(1 - u)` with error :math:`f_m(u) - u^2 \in [0, 4^{-m-1}]` (proved exactly by
:func:`~symdl.derive.approximation_deep.yarotsky_square`), and the clamp
:math:`v_i = \mathrm{relu}(u_i) - \mathrm{relu}(u_i - 1)` makes every cell's term vanish
outside its cell (:math:`g_s(0) = g_s(1) = 0`). So

.. math:: \Big\|f - L_n + \sum_i c_i h^2 \sum_{s=1}^m \frac{g_s(v_i)}{4^s}\Big\|_\infty
          \le \frac{\max|f'''|\,h^3}{72\sqrt3} + \max_i|c_i|\,h^2\,4^{-m-1},

the approach of Yarotsky (2017, "Error bounds for approximations with deep ReLU networks",
Thm 1) with local degree 2. ``n`` and ``m`` are chosen so that each term is at most ε/2.
"""

from __future__ import annotations

import math

import sympy as sp

from symdl.derive.approximation_certificate import (
    Approximation,
    domain_endpoints,
    sup_error,
    target,
    values_at,
)
from symdl.derive.approximation_deep import HAT, HAT_BIASES, yarotsky_square
from symdl.derive.approximation_network import Layer, Network
from symdl.derive.approximation_relu import MAX_NEURONS, second_derivative_bound
from symdl.errors import UnsupportedError
from symdl.verify.interval import enclose
from symdl.verify.report import Evidence

__all__ = ["deep_interpolation", "quadratic_network"]

X = sp.Symbol("x", real=True)
ONE, ZERO = sp.S.One, sp.S.Zero


def quadratic_network(
    knots: list[sp.Expr], values: list[sp.Expr], curvatures: list[sp.Expr], m: int
) -> Network:
    r"""The network :math:`L_n - \sum_i c_i h^2 \sum_{s \le m} g_s(v_i)/4^s` (depth m + 1)."""
    n = len(knots) - 1
    h = knots[1] - knots[0]
    slopes = [(values[i + 1] - values[i]) / h for i in range(n)]
    alphas = [slopes[0]] + [slopes[i] - slopes[i - 1] for i in range(1, n)]
    # layer 1: relu(x − t_i) for L_n, then relu(u_i), relu(u_i − 1) for the clamp of cell i
    first_w = [(ONE,)] * n + [(1 / h,), (1 / h,)] * n
    first_b = [-t for t in knots[:-1]]
    for t in knots[:-1]:
        first_b += [-t / h, -t / h - 1]
    layers = [Layer(tuple(first_w), tuple(first_b))]
    # layer 2: S₀ = L_n(x) as relu(S₀), relu(−S₀); the hat units of v_i = relu(u_i) − relu(u_i − 1)
    width1 = 3 * n
    plus = tuple(alphas) + (ZERO,) * (2 * n)
    rows = [plus, tuple(-w for w in plus)]
    biases = [values[0], -values[0]]
    for i in range(n):
        clamp = [ZERO] * width1
        clamp[n + 2 * i], clamp[n + 2 * i + 1] = ONE, -ONE
        rows += [tuple(clamp)] * 3
        biases += list(HAT_BIASES)
    layers.append(Layer(tuple(rows), tuple(biases)))
    for s in range(1, m + 1):
        # from (P, N, three hat units per cell): S_s = P − N − Σ c_i h² g_s(v_i)/4^s
        scale = sp.Rational(1, 4**s) * h**2
        carry = [ONE, -ONE]
        for c in curvatures:
            carry += [-c * scale * w for w in HAT]
        if s == m:
            layers.append(Layer((tuple(carry),), (ZERO,), "identity"))
            break
        rows = [tuple(carry), tuple(-w for w in carry)]
        biases = [ZERO, ZERO]
        for i in range(n):
            hat = [ZERO] * (2 + 3 * n)
            hat[2 + 3 * i : 5 + 3 * i] = HAT
            rows += [tuple(hat)] * 3
            biases += list(HAT_BIASES)
        layers.append(Layer(tuple(rows), tuple(biases)))
    return Network(tuple(layers))


def deep_interpolation(
    f: str | sp.Expr,
    a: object,
    b: object,
    *,
    eps: float,
    points: int | None = None,
    seed: int = 0,
) -> Approximation:
    r"""A deep ReLU network within ``eps`` of ``f`` on ``[a, b]`` (piecewise quadratic).

    >>> r = deep_interpolation("sin(x)", 0, "pi", eps=1e-3)
    >>> r.parameters["n"], r.parameters["m"], r.status, r.observed <= r.bound <= 1e-3
    (8, 3, 'proved', True)
    """
    expr = target(f)
    lo, hi = domain_endpoints(a, b)
    if not (eps > 0 and math.isfinite(eps)):
        raise ValueError(f"eps must be a positive number, got {eps}")
    width = float(hi - lo)
    top3, status, how = second_derivative_bound(expr, lo, hi, order=3)
    cubic = 72 * math.sqrt(3)
    n = max(1, math.ceil(width * (top3 / (cubic * eps / 2)) ** (1 / 3))) if top3 > 0 else 1
    if 3 * n > MAX_NEURONS:
        raise UnsupportedError(f"ε = {eps:g} needs {n} cells, more than this construction builds")
    h = (hi - lo) / n
    knots = [lo + i * h for i in range(n + 1)]
    mids = [t + h / 2 for t in knots[:-1]]
    values = values_at(expr, knots, X)
    middle = values_at(expr, mids, X)
    curvatures = [2 * (values[i] - 2 * middle[i] + values[i + 1]) / h**2 for i in range(n)]
    c_top = max(float(max(abs(v) for v in enclose(c, {}))) for c in curvatures)
    h_top = float(enclose(h, {})[1])
    quad = h_top**2 * c_top
    m = 1
    while quad * 4.0 ** (-m - 1) > eps / 2:
        m += 1
    if m > 20:
        raise UnsupportedError(f"ε = {eps:g} needs Yarotsky depth m = {m} > 20")
    square = yarotsky_square(m, points=257)
    delta = float(square.exact_error)  # type: ignore[arg-type]
    cubic_term = top3 * h_top**3 / cubic
    bound = (cubic_term + quad * delta) * (1 + 1e-12)
    network = quadratic_network(knots, values, curvatures, m)
    evidence = Evidence(
        "interval arithmetic + exact pieces",
        status if square.status == "proved" else "estimated",
        f"|f − q| ≤ max|f'''|·h³/(72√3) = {cubic_term:.4g} ({how}); |q − f_n| ≤ max|c_i|·h²·"
        f"sup|f_{m} − u²| = {c_top:.4g}·{h_top:.4g}²·{square.exact_error} = {quad * delta:.4g} "
        f"(c_i enclosed by mpmath.iv; sup|f_{m} − u²| proved exactly)",
    )
    observed, precise, grid, high = sup_error(
        expr,
        network,
        [(lo, hi)],
        bound=bound,
        points=points or max(4001, 32 * n + 1),
        seed=seed,
    )
    return Approximation(
        target=str(f),
        construction=(
            f"deep ReLU: piecewise-quadratic interpolation on {n} cells with Yarotsky "
            f"squares of depth {m}"
        ),
        domain=((lo, hi),),
        network=network,
        bound=bound,
        status=status if square.status == "proved" else "estimated",
        evidence=(evidence, grid, high),
        observed=observed,
        observed_precise=precise,
        eps=eps,
        parameters={"n": n, "m": m, "h": float(h), "max|f'''|": top3, "max|c_i|": c_top},
    )
