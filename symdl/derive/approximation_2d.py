r"""ReLU interpolation of f(x, y) on a triangulated rectangle, with a certified bound.

The rectangle :math:`[a, b] \times [c, d]` is cut into :math:`n \times n` cells of sides
:math:`h_x, h_y`, each split by its diagonal of direction :math:`(h_x, h_y)` (the
Freudenthal–Kuhn triangulation). In the coordinates :math:`u = (x - x_i)/h_x`,
:math:`v = (y - y_j)/h_y` the nodal hat function of vertex :math:`(i, j)` is

.. math:: \varphi_{ij} = \mathrm{relu}\big(1 - \max(|u|, |v|, |u - v|)\big),

and the interpolant :math:`I f = \sum_{ij} f(x_i, y_j)\,\varphi_{ij}` is a ReLU network:
:math:`|z| = \mathrm{relu}(z) + \mathrm{relu}(-z)` and :math:`\max(p, q) = q +
\mathrm{relu}(p - q)`, depth 4. On a triangle :math:`T` with vertices :math:`v_k` and
barycentric coordinates :math:`\lambda_k`, Taylor's theorem at :math:`x` gives
:math:`I f(x) - f(x) = \tfrac12\sum_k \lambda_k (v_k - x)^\top H(\xi_k)(v_k - x)`, and
:math:`\sum_k \lambda_k |v_k - x|^2 = R^2 - |x - o|^2 \le R^2` (:math:`o`, :math:`R` the
circumcentre and circumradius), so

.. math:: |f - I f| \le \tfrac12 \max_T \|H\|_2\,R^2,\qquad R^2 = \frac{h_x^2 + h_y^2}{4}

(Ciarlet, *The Finite Element Method for Elliptic Problems*, 1978, §3.1 gives the same
order). :math:`\|H\|_2 \le \max(|f_{xx}| + |f_{xy}|, |f_{xy}| + |f_{yy}|)` (Gershgorin)
is enclosed by interval arithmetic on each cell, so the bound is proved.
"""

from __future__ import annotations

import math

import sympy as sp

from symdl.derive.approximation_certificate import (
    Approximation,
    domain_endpoints,
    sup_error,
    target,
)
from symdl.derive.approximation_network import Layer, Network
from symdl.errors import SymdlError, UnsupportedError
from symdl.nodes import expand_catalog
from symdl.verify.interval import enclose
from symdl.verify.report import Evidence

__all__ = ["MAX_SIDE", "hessian_bound", "triangulation_interpolation"]

X, Y = sp.Symbol("x", real=True), sp.Symbol("y", real=True)
ONE, ZERO = sp.S.One, sp.S.Zero
#: The most cells per side (the network has about 6(n + 1)² neurons in dense layers).
MAX_SIDE = 16


def hessian_bound(expr: sp.Expr, xs: list[sp.Expr], ys: list[sp.Expr]) -> float:
    r"""An upper bound of :math:`\|H f\|_2` over every cell of the grid ``xs × ys``."""
    pieces = expand_catalog(expr).atoms(sp.Piecewise, sp.Max, sp.Min, sp.Abs, sp.sign, sp.Heaviside)
    if pieces:
        raise UnsupportedError(
            f"the bound needs a smooth target, and {expr} is defined by pieces; SymPy "
            "differentiates each piece, so a kink would not show in the Hessian"
        )
    fxx, fxy, fyy = sp.diff(expr, X, 2), sp.diff(expr, X, Y), sp.diff(expr, Y, 2)
    if any(d.has(sp.DiracDelta) for d in (fxx, fxy, fyy)):
        raise UnsupportedError(f"the bound needs f twice differentiable; its Hessian has {fxx}")
    rows = (sp.Abs(fxx) + sp.Abs(fxy), sp.Abs(fxy) + sp.Abs(fyy))
    worst = 0.0
    for i in range(len(xs) - 1):
        for j in range(len(ys) - 1):
            box = {X: (xs[i], xs[i + 1]), Y: (ys[j], ys[j + 1])}
            try:
                top = max(float(enclose(r, box)[1]) for r in rows)
            except SymdlError as err:
                raise UnsupportedError(f"no enclosure of the Hessian of {expr}: {err}") from err
            if not math.isfinite(top):
                raise UnsupportedError(f"the Hessian of {expr} is unbounded near cell ({i}, {j})")
            worst = max(worst, top * (1 + 1e-15))  # float() rounds to nearest
    return worst


def _network(
    n: int, values: dict[tuple[int, int], sp.Expr], hx: sp.Expr, hy: sp.Expr, a: sp.Expr, c: sp.Expr
) -> Network:
    # layer 1, shared: relu(±u_i), relu(±v_j), relu(±w_d) with w_d = u − v offsets d = i − j
    rows: list[tuple[sp.Expr, sp.Expr]] = []
    biases: list[sp.Expr] = []
    index: dict[tuple[str, int], int] = {}
    for name, count, start in (("u", n + 1, 0), ("v", n + 1, 0), ("w", 2 * n + 1, -n)):
        for k in range(start, start + count):
            if name == "u":
                w, b = (1 / hx, ZERO), -a / hx - k
            elif name == "v":
                w, b = (ZERO, 1 / hy), -c / hy - k
            else:
                w, b = (1 / hx, -1 / hy), -a / hx + c / hy - k
            index[(name, k)] = len(rows)
            rows += [w, (-w[0], -w[1])]
            biases += [b, -b]
    first = Layer(tuple(rows), tuple(biases))
    width1 = len(rows)
    vertices = [(i, j) for i in range(n + 1) for j in range(n + 1)]

    def absolute(name: str, k: int) -> list[sp.Expr]:
        row = [ZERO] * width1
        row[index[(name, k)]], row[index[(name, k)] + 1] = ONE, ONE
        return row

    # layer 2 per vertex: relu(|u| − |v|), relu(|v|), relu(|w|)
    second_rows = []
    for i, j in vertices:
        au, av, aw = absolute("u", i), absolute("v", j), absolute("w", i - j)
        second_rows += [tuple(p - q for p, q in zip(au, av)), tuple(av), tuple(aw)]
    second = Layer(tuple(second_rows), (ZERO,) * len(second_rows))
    # layer 3 per vertex: relu(m₁ − |w|), relu(|w|) with m₁ = |v| + relu(|u| − |v|)
    third_rows = []
    width2 = len(second_rows)
    for k in range(len(vertices)):
        m1 = [ZERO] * width2
        m1[3 * k], m1[3 * k + 1] = ONE, ONE
        minus = list(m1)
        minus[3 * k + 2] = -ONE
        carry = [ZERO] * width2
        carry[3 * k + 2] = ONE
        third_rows += [tuple(minus), tuple(carry)]
    third = Layer(tuple(third_rows), (ZERO,) * len(third_rows))
    # layer 4 per vertex: φ = relu(1 − M) with M = |w| + relu(m₁ − |w|)
    fourth_rows = []
    width3 = len(third_rows)
    for k in range(len(vertices)):
        row = [ZERO] * width3
        row[2 * k], row[2 * k + 1] = -ONE, -ONE
        fourth_rows.append(tuple(row))
    fourth = Layer(tuple(fourth_rows), (ONE,) * len(fourth_rows))
    output = Layer((tuple(values[v] for v in vertices),), (ZERO,), "identity")
    return Network((first, second, third, fourth, output), ("x", "y"))


def triangulation_interpolation(
    f: str | sp.Expr,
    on: tuple[tuple[object, object], tuple[object, object]] = ((0, 1), (0, 1)),
    *,
    eps: float | None = None,
    n: int | None = None,
    points: int = 161,
    seed: int = 0,
) -> Approximation:
    r"""The ReLU interpolant of ``f(x, y)`` on a triangulated rectangle (default [0, 1]²).

    ``n`` cells per side, or the fewest (up to :data:`MAX_SIDE`) whose proved bound
    :math:`\tfrac12\max\|H\|_2 (h_x^2 + h_y^2)/4` is at most ``eps``.

    >>> r = triangulation_interpolation("x*y", n=4)
    >>> round(r.bound, 12), r.status, r.observed <= r.bound
    (0.015625, 'proved', True)
    """
    expr = target(f, ("x", "y"))
    (a, b), (c, d) = (domain_endpoints(*side) for side in on)
    if (eps is None) == (n is None):
        raise ValueError("give exactly one of eps (a target error) and n (cells per side)")
    if eps is not None and not (eps > 0 and math.isfinite(eps)):
        raise ValueError(f"eps must be a positive number, got {eps}")
    if n is not None and not (isinstance(n, int) and 1 <= n <= MAX_SIDE):
        raise ValueError(f"n must be an integer in [1, {MAX_SIDE}], got {n}")
    side = n if n is not None else 1
    while True:
        hx, hy = (b - a) / side, (d - c) / side
        xs = [a + i * hx for i in range(side + 1)]
        ys = [c + j * hy for j in range(side + 1)]
        top = hessian_bound(expr, xs, ys)
        bound = top / 2 * (float(hx) ** 2 + float(hy) ** 2) / 4 * (1 + 1e-12)
        if n is not None or bound <= eps:  # type: ignore[operator]
            break
        side = max(side + 1, math.ceil(side * math.sqrt(bound / eps)))  # type: ignore[operator]
        if side > MAX_SIDE:
            raise UnsupportedError(
                f"ε = {eps:g} needs more than {MAX_SIDE} cells per side on this rectangle"
            )
    with sp.evaluate(False):
        values = {
            (i, j): expr.xreplace({X: xs[i], Y: ys[j]})
            for i in range(side + 1)
            for j in range(side + 1)
        }
    network = _network(side, values, hx, hy, a, c)
    evidence = Evidence(
        "interval arithmetic",
        "proved",
        f"|f − I f| ≤ ½·max‖H‖₂·(h_x² + h_y²)/4 on each of the {2 * side * side} triangles, "
        f"‖H‖₂ ≤ max(|f_xx| + |f_xy|, |f_xy| + |f_yy|) ≤ {top:.6g} (mpmath.iv on each of the "
        f"{side * side} cells)",
    )
    observed, precise, grid, high = sup_error(
        expr,
        network,
        [(a, b), (c, d)],
        bound=bound,
        points=points,
        precise_points=8,
        seed=seed,
    )
    return Approximation(
        target=str(f),
        construction=(
            f"ReLU interpolation on a Freudenthal triangulation ({side}×{side} cells), "
            "Σ f(v)·relu(1 − max(|u|, |v|, |u − v|))"
        ),
        domain=((a, b), (c, d)),
        network=network,
        bound=bound,
        status="proved",
        evidence=(evidence, grid, high),
        observed=observed,
        observed_precise=precise,
        eps=eps,
        parameters={"n": side, "max‖H‖₂": top},
    )
