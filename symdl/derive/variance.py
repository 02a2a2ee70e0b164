r"""Variance of signals and gradients through depth: the mean-field recursions.

A fully connected network :math:`z^1 = W^1 x + b^1`, :math:`z^l = W^l\phi(z^{l-1}) + b^l`
with independent weights :math:`W^l_{ij} \sim (0, v_l)`, biases of variance
:math:`\sigma_b^2`, widths :math:`n_0, \dots, n_L`, and an input with per-coordinate second
moment :math:`q_0`. In the infinite-width limit each pre-activation is Gaussian and

.. math::
    q_1 = n_0 v_1 q_0 + \sigma_b^2, \qquad
    q_l = n_{l-1} v_l\, E[\phi(\sqrt{q_{l-1}}\,z)^2] + \sigma_b^2,

and, with the gradient-independence assumption, for :math:`\delta^l = \partial L/\partial z^l`

.. math::
    \operatorname{Var}\delta^l = n_{l+1} v_{l+1}\, E[\phi'(\sqrt{q_l}\,z)^2]\,
    \operatorname{Var}\delta^{l+1}

(Poole et al., "Exponential expressivity in deep neural networks through transient chaos",
NeurIPS 2016, eq. 3; Schoenholz et al., "Deep Information Propagation", ICLR 2017, §3-4;
Glorot & Bengio 2010, eq. 5-7). The weight gradient has
:math:`\operatorname{Var}\partial L/\partial W^l_{ij} = \operatorname{Var}\delta^l\,
E[(x^{l-1}_j)^2]`. With :math:`v_l = \sigma_w^2/n_{l-1}` the widths cancel.

Numeric iterates carry a first-order error bound: the error of :math:`q_{l}` is
:math:`n v (e_l + |s_l|\,\delta q_{l-1})` with :math:`e_l` the quadrature error and
:math:`s_l = \partial_q E[\phi(\sqrt q z)^2] = E[\phi(\sqrt q z)^2 (z^2-1)]/(2q)` (Stein's
identity for the derivative of a Gaussian expectation in its variance).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache

import mpmath
import sympy as sp

from symdl.catalog import Activation
from symdl.derive.gaussian import (
    Expectation,
    GaussianActivation,
    Kind,
    _evaluate,
    cross_moment,
    gaussian_activation,
    moment,
    moment_float64,
    quadrature,
)
from symdl.derive.gaussian_closed import Q, closed_form

__all__ = [
    "LayerStatistics",
    "VarianceProfile",
    "correlation_map",
    "moment_slope",
    "propagate",
    "variance_slope",
]

#: Digits used for the slopes that only scale error bounds.
_SLOPE_DIGITS = 10


@dataclass(frozen=True)
class LayerStatistics:
    """One layer: pre-activation variance, activation moments, gradient variances.

    ``gradient`` is :math:`\\operatorname{Var}\\delta^l/\\operatorname{Var}\\delta^L`;
    ``weight_gradient`` is the variance of :math:`\\partial L/\\partial W^l_{ij}` in the same
    units. ``q_error`` is absolute, ``gradient_error`` relative.
    """

    layer: int
    q: float
    q_error: float
    mean: float
    second_moment: float
    derivative_moment: float
    gradient: float
    gradient_error: float
    weight_gradient: float


@dataclass(frozen=True)
class VarianceProfile:
    """Predicted statistics of every layer, with how they were computed."""

    activation: str
    sigma_b2: float
    q0: float
    widths: tuple[int, ...]
    weight_variances: tuple[float, ...]
    layers: tuple[LayerStatistics, ...]
    method: str  # "closed form" or "quadrature"
    closed_form: str  # the iterate q_l in closed form, when there is one
    precision: int
    notes: tuple[str, ...] = ()

    @property
    def depth(self) -> int:
        return len(self.layers)

    def q(self) -> list[float]:
        return [s.q for s in self.layers]

    def gradients(self) -> list[float]:
        return [s.gradient for s in self.layers]


def variance_slope(
    activation: str | Activation | GaussianActivation, q: float, *, precision: int = 15
) -> mpmath.mpf:
    r""":math:`\partial_q E[\phi(\sqrt q z)^2] = E[\phi(\sqrt q z)^2(z^2-1)]/(2q)`.

    For a closed form it is differentiated symbolically.

    >>> float(variance_slope("relu", 3.0))
    0.5
    """
    act = gaussian_activation(activation)
    form = closed_form(act, "square")
    if form is not None:
        with mpmath.workdps(precision):
            return mpmath.mpf(sp.N(sp.diff(form, Q).subs(Q, sp.Float(q, precision)), precision))
    weighted = quadrature(
        act.expr**2, mpmath.mpf(q), act.kinks, precision=precision, weight=lambda z: z * z - 1
    )
    return weighted.value / (2 * q)


def _moment(act: GaussianActivation, q: mpmath.mpf, kind: Kind, precision: int) -> Expectation:
    if precision <= 15 and q > 0 and closed_form(act, kind) is None:
        return moment_float64(act, float(q), kind)
    return moment(act, q, kind, precision=precision)


def moment_slope(
    activation: str | Activation | GaussianActivation,
    q: object,
    kind: Kind,
    precision: int = 15,
) -> float:
    r""":math:`\partial_q E[g(\sqrt q z)] = E[g(\sqrt q z)(z^2 - 1)]/(2q)` (Stein's identity)
    for ``kind`` ``square`` (:math:`g = \phi^2`) or ``derivative_square``
    (:math:`g = \phi'^2`); symbolic for closed forms. Used to carry error bounds.

    >>> moment_slope("relu", 2.0, "square")
    0.5
    """
    act = gaussian_activation(activation)
    slope = _closed_slope(act, kind)
    if slope is not None:
        return float(_evaluate(slope, {Q: q}, _SLOPE_DIGITS))
    if precision <= 15:
        return float(moment_float64(act, float(q), kind, stein=True).value) / (2 * float(q))  # type: ignore[arg-type]
    weighted = quadrature(
        _INTEGRAND[kind](act),
        mpmath.mpf(q),  # type: ignore[arg-type]
        act.kinks,
        precision=_SLOPE_DIGITS,
        weight=lambda z: z * z - 1,
    )
    return float(weighted.value) / (2 * float(q))  # type: ignore[arg-type]


@cache
def _closed_slope(act: GaussianActivation, kind: Kind) -> sp.Expr | None:
    form = closed_form(act, kind)
    return None if form is None else sp.diff(form, Q)


_INTEGRAND = {
    "square": lambda act: act.expr**2,
    "derivative_square": lambda act: act.derivative**2,
}


def propagate(
    activation: str | Activation | GaussianActivation,
    *,
    depth: int,
    sigma_w2: float = 1.0,
    sigma_b2: float = 0.0,
    q0: float = 1.0,
    widths: Sequence[int] | None = None,
    weight_variances: Sequence[float] | None = None,
    parameters: Mapping[str, object] | None = None,
    precision: int = 15,
) -> VarianceProfile:
    r"""Forward variances :math:`q_l` and gradient variances for layers 1..``depth``.

    ``weight_variances`` gives :math:`v_l = \operatorname{Var} W^l_{ij}` per layer (for an
    initialisation scheme on unequal widths); otherwise :math:`v_l = \sigma_w^2/n_{l-1}`.
    At ``precision`` ≤ 15 the moments without a closed form are float64 Gauss–Legendre
    integrals (fast); above, mpmath quadrature at that many digits.

    >>> p = propagate("relu", depth=3, sigma_w2=2.0)
    >>> [s.q for s in p.layers], p.layers[0].gradient
    ([2.0, 2.0, 2.0], 1.0)
    """
    act = gaussian_activation(activation, **(parameters or {}))
    if depth < 1:
        raise ValueError(f"depth must be at least 1, got {depth}")
    if not sigma_b2 >= 0 or not q0 >= 0 or not sigma_w2 > 0:
        raise ValueError(
            f"need sigma_w2 > 0, sigma_b2 ≥ 0 and q0 ≥ 0; got {sigma_w2}, {sigma_b2}, {q0}"
        )
    n = tuple(widths) if widths is not None else (1,) * (depth + 1)
    if len(n) != depth + 1 or any(int(k) != k or k < 1 for k in n):
        raise ValueError(f"widths needs depth + 1 = {depth + 1} positive integers, got {n}")
    if weight_variances is None:
        v = tuple(sigma_w2 / n[i] for i in range(depth))
    else:
        v = tuple(float(x) for x in weight_variances)
        if len(v) != depth or any(not x > 0 for x in v):
            raise ValueError(f"weight_variances needs {depth} positive numbers, got {v}")
    gain = [n[i] * v[i] for i in range(depth)]  # n_{l-1} v_l for l = 1..L

    qs: list[mpmath.mpf] = []
    q_err: list[float] = []
    m1: list[float] = []
    m2: list[float] = []
    d2: list[float] = []
    d2_err: list[float] = []
    closed = closed_form(act, "square") is not None
    linear = act.family in ("identity", "rectifier")  # E[φ²] ∝ q: the iterates solve exactly
    q, err = mpmath.mpf(gain[0] * q0 + sigma_b2), 0.0
    second: Expectation | None = None
    for layer in range(depth):
        if second is not None:
            slope = abs(moment_slope(act, qs[-1], "square", precision))
            with mpmath.workdps(max(precision, 15)):
                q = gain[layer] * second.value + sigma_b2
            err = gain[layer] * (second.error + slope * q_err[-1])
        qs.append(q)
        q_err.append(float(err))
        first = _moment(act, q, "mean", precision)
        second = _moment(act, q, "square", precision)
        deriv = _moment(act, q, "derivative_square", precision)
        m1.append(float(first.value))
        m2.append(float(second.value))
        d2.append(float(deriv.value))
        rel = deriv.error / abs(float(deriv.value)) if float(deriv.value) else float("inf")
        if err:
            rel += abs(moment_slope(act, q, "derivative_square", precision)) * err / abs(d2[-1])
        d2_err.append(rel)

    grads, grad_err = [1.0] * depth, [0.0] * depth
    for layer in range(depth - 2, -1, -1):  # Var δ^l = n_{l+1} v_{l+1} E[φ'²] Var δ^{l+1}
        grads[layer] = gain[layer + 1] * d2[layer] * grads[layer + 1]
        grad_err[layer] = grad_err[layer + 1] + d2_err[layer]
    inputs = [q0, *m2[:-1]]
    layers = tuple(
        LayerStatistics(
            layer + 1,
            float(qs[layer]),
            q_err[layer],
            m1[layer],
            m2[layer],
            d2[layer],
            grads[layer],
            grad_err[layer],
            grads[layer] * inputs[layer],
        )
        for layer in range(depth)
    )
    notes = (
        "infinite-width limit; gradients assume weights in the backward pass independent of "
        "the forward pass (Schoenholz et al. 2017, §4)",
    )
    return VarianceProfile(
        str(act),
        float(sigma_b2),
        float(q0),
        n if widths is not None else (),
        v,
        layers,
        "closed form" if closed else _method(precision),
        _iterate_formula(act, sigma_w2, sigma_b2) if linear and weight_variances is None else "",
        precision,
        notes,
    )


def _method(precision: int) -> str:
    if precision <= 15:
        return "gauss-legendre, float64"
    return f"quadrature, {precision} digits"


def _iterate_formula(act: GaussianActivation, sigma_w2: float, sigma_b2: float) -> str:
    r""":math:`q_l = r^{l-1}(q_1 - b/(1-r)) + b/(1-r)` for :math:`q_l = r q_{l-1} + b`."""
    form = closed_form(act, "square")
    assert form is not None
    k = sp.simplify(form / Q)
    r = sp.nsimplify(sigma_w2) * k
    b = sp.nsimplify(sigma_b2)
    ell, q1 = sp.symbols("l q_1", positive=True)
    if sp.simplify(r - 1) == 0:
        expr = q1 + (ell - 1) * b
    else:
        expr = r ** (ell - 1) * (q1 - b / (1 - r)) + b / (1 - r)
    return f"q_l = {sp.simplify(expr)}; Var δ^l / Var δ^L = ({r})^(L − l)"


def correlation_map(
    activation: str | Activation | GaussianActivation,
    c: float,
    *,
    q: float,
    sigma_w2: float,
    sigma_b2: float,
    derivative: bool = False,
) -> float:
    r"""One step of the correlation map for two inputs at the same length ``q``:

    .. math:: c' = \frac{\sigma_w^2 E[\phi(u_1)\phi(u_2)] + \sigma_b^2}{\sigma_w^2
              E[\phi(u)^2] + \sigma_b^2}

    (Poole et al. 2016, eq. 5). With ``derivative`` it returns its slope
    :math:`\chi_c = \sigma_w^2 E[\phi'(u_1)\phi'(u_2)]` (valid at the fixed point q*).
    For ReLU the expectation is the arc-cosine kernel (Cho & Saul 2009).

    >>> round(correlation_map("relu", 0.0, q=1.0, sigma_w2=2.0, sigma_b2=0.0), 12)  # 1/π
    0.318309886184
    """
    act = gaussian_activation(activation)
    if derivative:
        return sigma_w2 * float(cross_moment(act, q, q, c, derivative=True).value)
    top = sigma_w2 * float(cross_moment(act, q, q, c).value) + sigma_b2
    bottom = sigma_w2 * float(moment(act, q, "square", precision=20).value) + sigma_b2
    return top / bottom
