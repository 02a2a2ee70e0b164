r"""Mean-field signal propagation: fixed points, order to chaos, depth scales.

For weights of variance :math:`\sigma_w^2/n` and biases of variance :math:`\sigma_b^2`
(Poole et al., "Exponential expressivity in deep neural networks through transient chaos",
NeurIPS 2016; Schoenholz et al., "Deep Information Propagation", ICLR 2017):

* the length map :math:`q \mapsto \sigma_w^2 E[\phi(\sqrt q z)^2] + \sigma_b^2` has the
  fixed point :math:`q^*`, approached at the rate
  :math:`s_q = \sigma_w^2\,\partial_q E[\phi(\sqrt q z)^2]
  = \chi_1 + \sigma_w^2 E[\phi\phi''(\sqrt{q^*}z)]`, so
  :math:`\xi_q = -1/\log s_q` (Schoenholz et al. 2017, eq. 5);
* :math:`\chi_1 = \sigma_w^2 E[\phi'(\sqrt{q^*} z)^2]` is the slope of the correlation map
  at :math:`c = 1`: :math:`\chi_1 < 1` is the ordered phase (:math:`c^* = 1`),
  :math:`\chi_1 > 1` the chaotic one (:math:`c^* < 1`), :math:`\chi_1 = 1` the critical line;
* :math:`\chi_c = \sigma_w^2 E[\phi'(u_1)\phi'(u_2)]` at :math:`c^*` gives
  :math:`\xi_c = -1/\log\chi_c` (eq. 9), infinite on the critical line.

The critical line, parametrised by :math:`q^* > 0`, is
:math:`\sigma_w^2 = 1/E[\phi'(\sqrt q z)^2]`,
:math:`\sigma_b^2 = q - E[\phi(\sqrt q z)^2]/E[\phi'(\sqrt q z)^2]` — no root-finding in
:math:`\sigma_w^2` at all; for tanh it starts at :math:`(\sigma_b^2, \sigma_w^2) = (0, 1)`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import mpmath
from scipy import optimize

from symdl.catalog import Activation
from symdl.derive.gaussian import (
    GaussianActivation,
    gaussian_activation,
    moment,
    moment_float64,
    square_float64,
)
from symdl.derive.gaussian_closed import Q, closed_form
from symdl.derive.variance import correlation_map, moment_slope, variance_slope
from symdl.errors import UnsupportedError

__all__ = ["CriticalPoint", "MeanField", "critical_line", "critical_point", "mean_field"]

Act = str | Activation | GaussianActivation


@dataclass(frozen=True)
class MeanField:
    """The mean-field picture at one (σ_w², σ_b²).

    ``q_star`` is ``inf`` when the length map diverges from ``q0``; ``xi_q``/``xi_c`` are
    ``inf`` where the rate is 1. Errors are absolute; ``c_star`` and ``chi_c`` come from a
    float64 two-dimensional rule, so their error is near 1e−10, stated in ``c_error``.
    """

    activation: str
    sigma_w2: float
    sigma_b2: float
    q_star: mpmath.mpf
    q_error: float
    chi_1: mpmath.mpf
    chi_error: float
    slope_q: float
    c_star: float
    c_error: float
    chi_c: float
    xi_q: float
    xi_c: float
    phase: str  # "ordered", "chaotic", "critical", "divergent"
    precision: int
    notes: tuple[str, ...] = ()


def _locate(act: GaussianActivation, sw: float, sb: float, q0: float) -> float:
    # q = 0 is a fixed point when σ_b² = 0 and φ(0) = 0; it attracts when σ_w²φ'(0)² ≤ 1,
    # and the approach can be as slow as 1/l (tanh at σ_w² = 1), so it is recognised, not
    # iterated to the end
    zero_attracts = (
        sb == 0
        and abs(float(moment(act, 0, "square", precision=15).value)) < 1e-20
        and sw * float(moment(act, 0, "derivative_square", precision=15).value) <= 1
    )
    q = q0
    for _ in range(3000):
        new = sw * square_float64(act, q) + sb
        if not math.isfinite(new) or new > 1e10:
            return math.inf
        if new < 1e-30 or (zero_attracts and new < q and new < 1e-3 * q0):
            return 0.0
        if abs(new - q) <= 1e-13 * q:
            return new
        q = new
    # still moving after 3000 layers: a crawl toward 0 (hard_tanh at σ_w² = 1 shrinks q by
    # about q·e^{−1/(2q)} a layer) ends at q* = 0, the only fixed point below a decreasing
    # trajectory unless the map touches the diagonal tangentially; anything else is not
    # certified
    if zero_attracts and new < q0:
        return 0.0
    raise UnsupportedError(
        f"the length map of {act} at σ_w² = {sw:g}, σ_b² = {sb:g} has not converged after "
        f"3000 layers from q = {q0:g} (last q = {new:.6g})"
    )


def fixed_point(
    activation: Act, *, sigma_w2: float, sigma_b2: float, q0: float = 1.0, precision: int = 30
) -> tuple[mpmath.mpf, float]:
    r"""The fixed point :math:`q^*` reached from ``q0`` and an error estimate.

    Located by iterating in float64, then refined by the secant method in mpmath at
    ``precision`` digits; the error is the last secant step plus the quadrature error
    divided by :math:`|1 - s_q|`. ``inf`` when the map diverges; for a linear map with
    :math:`s_q = 1` and :math:`\sigma_b^2 = 0` every q is fixed and ``q0`` is returned.

    >>> q, _ = fixed_point("relu", sigma_w2=1.0, sigma_b2=0.5)
    >>> float(q)  # σ_b²/(1 − σ_w²/2)
    1.0
    """
    act = gaussian_activation(activation)
    form = closed_form(act, "square")
    if form is not None and act.family in ("identity", "rectifier"):  # q = r q + b
        with mpmath.workdps(precision + 10):
            r = sigma_w2 * mpmath.mpf(str(form.subs(Q, 1).evalf(precision + 10)))
            if r < 1:
                return +(mpmath.mpf(sigma_b2) / (1 - r)), 0.0
            if r == 1 and sigma_b2 == 0:
                return mpmath.mpf(q0), 0.0
            return mpmath.inf, 0.0
    start = _locate(act, sigma_w2, sigma_b2, q0)
    if start == 0.0 or not math.isfinite(start):
        return mpmath.mpf(start), 0.0

    def residual(q: mpmath.mpf) -> mpmath.mpf:
        return sigma_w2 * moment(act, q, "square", precision=precision + 5).value + sigma_b2 - q

    with mpmath.workdps(precision + 5):
        q_star = mpmath.findroot(residual, (mpmath.mpf(start), mpmath.mpf(start) * (1 + 1e-6)))
        step = abs(residual(q_star))
        slope = sigma_w2 * variance_slope(act, q_star, precision=10)
        quad = moment(act, q_star, "square", precision=precision + 5).error
        error = float((step + sigma_w2 * quad) / abs(1 - slope))
    with mpmath.workdps(precision):
        return +q_star, max(error, float(abs(q_star)) * 10.0 ** (1 - precision))


def mean_field(
    activation: Act,
    *,
    sigma_w2: float,
    sigma_b2: float,
    q0: float = 1.0,
    precision: int = 30,
    parameters: dict[str, object] | None = None,
) -> MeanField:
    r""":math:`q^*`, :math:`\chi_1`, :math:`c^*`, :math:`\chi_c` and the depth scales.

    ``q0`` is the pre-activation variance the length map starts from (the first layer's);
    the fixed point reported is the one reached from there.

    >>> mf = mean_field("tanh", sigma_w2=1.0, sigma_b2=0.0)
    >>> (float(mf.q_star), float(mf.chi_1), mf.phase)
    (0.0, 1.0, 'critical')
    """
    act = gaussian_activation(activation, **(parameters or {}))
    if not sigma_w2 > 0 or not sigma_b2 >= 0:
        raise ValueError(f"need sigma_w2 > 0 and sigma_b2 ≥ 0, got {sigma_w2}, {sigma_b2}")
    q_star, q_error = fixed_point(
        act, sigma_w2=sigma_w2, sigma_b2=sigma_b2, q0=q0, precision=precision
    )
    notes: list[str] = []
    if not mpmath.isfinite(q_star):
        nan = math.nan
        return MeanField(
            str(act), sigma_w2, sigma_b2, q_star, 0.0, mpmath.inf, 0.0, nan, nan, nan, nan,
            nan, nan, "divergent", precision, ("the length map diverges from q0",),
        )  # fmt: skip
    deriv = moment(act, q_star, "derivative_square", precision=precision)
    with mpmath.workdps(precision):
        chi_1 = sigma_w2 * deriv.value
    chi_error = sigma_w2 * deriv.error
    if q_star > 0:
        slope = float(sigma_w2 * variance_slope(act, q_star, precision=15))
        # χ₁ moves with q* at the rate σ_w²·∂_q E[φ'²], by Stein's identity
        chi_error += sigma_w2 * q_error * abs(moment_slope(act, q_star, "derivative_square", 15))
    else:  # q* = 0 needs φ(0) = 0, so ∂_q E[φ²] → φ'(0)²
        slope = float(chi_1)
        notes.append("q* = 0: every input collapses to zero length")
    xi_q = _scale(slope)
    if math.isinf(xi_q):
        notes.append("the length map's slope at q* is 1: q* is approached sub-geometrically")
    tol = max(chi_error, 10.0 ** (2 - precision))
    if abs(chi_1 - 1) <= tol:
        phase, c_star, c_error, chi_c = "critical", 1.0, 0.0, float(chi_1)
    elif chi_1 < 1:
        phase, c_star, c_error, chi_c = "ordered", 1.0, 0.0, float(chi_1)
    else:
        phase = "chaotic"
        c_star, c_error = _chaotic_correlation(act, float(q_star), sigma_w2, sigma_b2)
        chi_c = correlation_map(
            act, c_star, q=float(q_star), sigma_w2=sigma_w2, sigma_b2=sigma_b2, derivative=True
        )
    xi_c = math.inf if phase == "critical" else _scale(chi_c)
    return MeanField(
        str(act), sigma_w2, sigma_b2, q_star, q_error, chi_1, chi_error, slope, c_star,
        c_error, chi_c, xi_q, xi_c, phase, precision, tuple(notes),
    )  # fmt: skip


def _scale(rate: float) -> float:
    """ξ = −1/log(rate): the depth over which deviations shrink by e (inf at rate 1)."""
    if not 0 < rate < 1:
        return math.inf if rate == 1 or rate > 1 else 0.0
    return -1.0 / math.log(rate)


def _chaotic_correlation(
    act: GaussianActivation, q: float, sw: float, sb: float
) -> tuple[float, float]:
    """The stable fixed point c* < 1 of the correlation map (χ₁ > 1), by Brent's method."""

    def gap(c: float) -> float:
        return correlation_map(act, c, q=q, sigma_w2=sw, sigma_b2=sb) - c

    hi = 1 - 1e-6
    if gap(hi) >= 0:  # χ₁ barely above 1: c* is too close to 1 to separate
        return hi, 1e-6
    lo = 0.0 if gap(0.0) >= 0 else -1.0
    c_star = optimize.brentq(gap, lo, hi, xtol=1e-12)
    return float(c_star), 1e-10


@dataclass(frozen=True)
class CriticalPoint:
    """A point of the critical line χ₁ = 1: (σ_b², σ_w²) with its fixed point q*."""

    sigma_b2: mpmath.mpf
    sigma_w2: mpmath.mpf
    q_star: mpmath.mpf
    error: float
    precision: int


def _on_line(act: GaussianActivation, q: object, precision: int) -> tuple[mpmath.mpf, ...]:
    second = moment(act, q, "square", precision=precision + 5)
    deriv = moment(act, q, "derivative_square", precision=precision + 5)
    with mpmath.workdps(precision + 5):
        sw = 1 / deriv.value
        sb = mpmath.mpf(q) - second.value * sw
        err = float(second.error * sw + second.value * deriv.error * sw * sw)
    return sb, sw, mpmath.mpf(err)


def critical_line(
    activation: Act, qs: Sequence[float], *, precision: int = 20
) -> tuple[CriticalPoint, ...]:
    r"""Points of the critical line, one per :math:`q^*` in ``qs`` (parametric form).

    >>> p = critical_line("tanh", [0.0])[0]
    >>> (float(p.sigma_b2), float(p.sigma_w2))
    (0.0, 1.0)
    """
    act = gaussian_activation(activation)
    out = []
    for q in qs:
        sb, sw, err = _on_line(act, q, precision)
        with mpmath.workdps(precision):
            out.append(CriticalPoint(+sb, +sw, mpmath.mpf(q), float(err), precision))
    return tuple(out)


def critical_point(activation: Act, sigma_b2: float, *, precision: int = 30) -> CriticalPoint:
    r"""The critical :math:`\sigma_w^2` at a given :math:`\sigma_b^2` (χ₁ = 1).

    Solves :math:`q - E[\phi^2]/E[\phi'^2] = \sigma_b^2` for :math:`q^*`; at
    :math:`\sigma_b^2 = 0` the solution is :math:`q^* \to 0`,
    :math:`\sigma_w^2 = 1/\phi'(0)^2` when :math:`\phi(0) = 0`.

    >>> float(critical_point("tanh", 0.0).sigma_w2)
    1.0
    """
    act = gaussian_activation(activation)
    if not sigma_b2 >= 0:
        raise ValueError(f"sigma_b2 must be ≥ 0, got {sigma_b2}")
    if act.family in ("identity", "rectifier"):
        sb, sw, _ = _on_line(act, 1.0, precision)
        if sigma_b2 != 0:
            raise ValueError(
                f"{act}: χ₁ = σ_w²·E[φ'²] does not depend on q, so the critical line is the "
                f"single point σ_b² = 0, σ_w² = {mpmath.nstr(sw, 12)}; with σ_b² > 0 "
                "the length map diverges at that σ_w²"
            )
        return CriticalPoint(mpmath.mpf(0), sw, mpmath.mpf(0), 0.0, precision)
    if sigma_b2 == 0:
        sb, sw, err = _on_line(act, 0, precision)
        if abs(sb) > 10.0 ** (-precision):
            raise ValueError(f"{act}: φ(0) ≠ 0, so σ_b² = 0 is not on the critical line")
        return CriticalPoint(mpmath.mpf(0), sw, mpmath.mpf(0), float(err), precision)

    # bracket q* on a geometric grid and solve in float64, then polish with the secant
    # method at full precision (two or three steps from a 1e−13 start)
    def gap64(q: float) -> float:
        second = float(moment_float64(act, q, "square").value)
        deriv = float(moment_float64(act, q, "derivative_square").value)
        return q - second / deriv - sigma_b2

    grid = [10.0**k for k in range(-4, 7)]
    values = [gap64(q) for q in grid]
    crossing = [i for i in range(len(grid) - 1) if values[i] * values[i + 1] <= 0]
    if not crossing:
        raise ValueError(f"{act}: no critical point at σ_b² = {sigma_b2} for q* in [1e−4, 1e6]")
    start = optimize.brentq(gap64, grid[crossing[0]], grid[crossing[0] + 1], xtol=1e-15)
    with mpmath.workdps(precision + 5):
        q_star = mpmath.findroot(
            lambda q: _on_line(act, q, precision)[0] - sigma_b2,
            (mpmath.mpf(start), mpmath.mpf(start) * (1 + 1e-8)),
            tol=mpmath.mpf(10) ** (-2 * precision),
        )
        sb, sw, err = _on_line(act, q_star, precision)
    with mpmath.workdps(precision):
        return CriticalPoint(+sb, +sw, +q_star, max(float(err), 10.0 ** (1 - precision)), precision)
