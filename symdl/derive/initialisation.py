r"""Initialisation schemes derived from the variance recursions, not typed in.

With :math:`\operatorname{Var} W_{ij} = v`, zero biases and :math:`q = \operatorname{Var} z`,
the forward recursion :math:`q' = n_{in} v\,E[\phi(\sqrt q z)^2]` and the backward one
:math:`\operatorname{Var}\delta = n_{out} v\,E[\phi'(\sqrt q z)^2]\operatorname{Var}\delta'`
are preserved exactly when

.. math:: n_{in} v = q/E[\phi(\sqrt q z)^2] \quad\text{(forward)}, \qquad
          n_{out} v = 1/E[\phi'(\sqrt q z)^2] \quad\text{(backward)}.

* LeCun (LeCun et al., "Efficient BackProp", 1998, §4.6): linear regime, :math:`v = 1/n_{in}`.
* Glorot & Bengio ("Understanding the difficulty of training deep feedforward neural
  networks", AISTATS 2010, eq. 12): both conditions cannot hold when
  :math:`n_{in} \ne n_{out}`; averaging them, :math:`\frac{n_{in}+n_{out}}{2} v = 1`.
* He et al. ("Delving Deep into Rectifiers", ICCV 2015, eq. 10 and §2.2):
  :math:`E[\mathrm{relu}(u)^2] = q/2` gives :math:`v = 2/n_{in}`; leaky ReLU / PReLU with
  slope :math:`a`, :math:`E[\phi^2] = (1+a^2)q/2`, gives :math:`v = 2/((1+a^2) n_{in})`.
* SELU (Klambauer et al., "Self-Normalizing Neural Networks", NeurIPS 2017, eq. 4-5 and
  Theorem 1): with :math:`\sum_i w_i = 0`, :math:`\sum_i w_i^2 = 1`, the moments
  :math:`(\mu, \nu) = (0, 1)` are a fixed point iff :math:`E[\mathrm{selu}(z)] = 0` and
  :math:`E[\mathrm{selu}(z)^2] = 1` for :math:`z \sim N(0, 1)`, which fixes λ and α.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import mpmath
import numpy as np
import sympy as sp

from symdl.catalog import Activation
from symdl.catalog.activations import SELU_ALPHA, SELU_LAMBDA
from symdl.derive.gaussian import (
    GaussianActivation,
    gaussian_activation,
    moment,
)
from symdl.derive.gaussian_closed import Q, closed_form

__all__ = [
    "N_IN",
    "N_OUT",
    "InitScheme",
    "Initialisation",
    "SeluConstants",
    "glorot",
    "he",
    "init_for",
    "lecun",
    "selu_constants",
]

N_IN = sp.Symbol("n_in", positive=True, integer=True)
N_OUT = sp.Symbol("n_out", positive=True, integer=True)
_V = sp.Symbol("v", positive=True)


@dataclass(frozen=True)
class InitScheme:
    """A named scheme: ``variance`` of the weights in ``n_in``, ``n_out``, with its derivation."""

    name: str
    variance: sp.Expr
    derivation: tuple[str, ...]
    reference: str


def lecun() -> InitScheme:
    r"""LeCun: the forward condition :math:`n_{in} v\,E[\phi^2]/q = 1` with :math:`\phi(x) = x`.

    >>> lecun().variance
    1/n_in
    """
    return _forward_scheme("lecun", "identity", {}, "LeCun, Bottou, Orr, Müller, Efficient "
                           "BackProp (1998), §4.6")  # fmt: skip


def he(activation: str = "relu", **parameters: object) -> InitScheme:
    r"""He: the forward condition for a rectifier. With no ``alpha`` given for leaky ReLU or
    PReLU the slope stays a symbol :math:`a`, giving the PReLU rule of He et al. (2015).

    >>> he().variance
    2/n_in
    >>> he("prelu").variance
    2/(n_in*(alpha**2 + 1))
    """
    entry_params = dict(parameters)
    if activation in ("leaky_relu", "prelu") and "alpha" not in entry_params:
        entry_params["alpha"] = sp.Symbol("alpha", real=True)
    return _forward_scheme(
        "he", activation, entry_params, "He, Zhang, Ren, Sun, Delving Deep into Rectifiers "
        "(ICCV 2015), eq. 10 (ReLU) and §2.2 (PReLU)",
    )  # fmt: skip


def _forward_scheme(
    name: str, activation: str, parameters: Mapping[str, object], reference: str
) -> InitScheme:
    act = gaussian_activation(activation, **parameters)
    form = closed_form(act, "square")
    if form is None or act.family not in ("identity", "rectifier"):
        raise ValueError(f"{name} initialisation is derived for linear and rectifier units")
    condition = sp.Eq(N_IN * _V * form / Q, 1)
    (v,) = sp.solve(condition, _V)
    steps = (
        f"E[φ(u)²] for u ~ N(0, q) in closed form: {form}",
        "forward preservation Var z^l = Var z^{l−1}: n_in·v·E[φ(u)²] = q",
        f"solve {condition.lhs} = 1 for v: v = {sp.simplify(v)}",
    )
    return InitScheme(name, sp.simplify(v), steps, reference)


def glorot() -> InitScheme:
    r"""Glorot/Xavier: the mean of the forward (:math:`n_{in}v = 1`) and backward
    (:math:`n_{out}v = 1`) conditions for a unit with :math:`\phi'(0) = 1`.

    >>> glorot().variance
    2/(n_in + n_out)
    """
    forward = sp.Eq(N_IN * _V, 1)
    backward = sp.Eq(N_OUT * _V, 1)
    compromise = sp.Eq((forward.lhs + backward.lhs) / 2, 1)
    (v,) = sp.solve(compromise, _V)
    steps = (
        "linear regime φ'(0) = 1: E[φ(u)²] ≈ q and E[φ'(u)²] ≈ 1",
        f"forward preservation: {forward.lhs} = 1; backward preservation: {backward.lhs} = 1",
        "both hold only when n_in = n_out; average the two conditions:",
        f"{compromise.lhs} = 1, so v = {sp.simplify(v)}",
    )
    return InitScheme(
        "glorot",
        sp.simplify(v),
        steps,
        "Glorot & Bengio, Understanding the difficulty of training deep feedforward neural "
        "networks (AISTATS 2010), eq. 12",
    )


@dataclass(frozen=True)
class Initialisation:
    r"""The σ_w² (so that :math:`\operatorname{Var}W = \sigma_w^2/n_{in}`) preserving the
    forward signal and, separately, the backward gradient, at pre-activation variance q."""

    activation: str
    q: float
    sigma_b2: float
    forward_sigma_w2: mpmath.mpf
    forward_error: float
    backward_sigma_w2: mpmath.mpf
    backward_error: float
    method: str
    derivation: tuple[str, ...]
    precision: int


def init_for(
    activation: str | Activation | GaussianActivation,
    *,
    q: float = 1.0,
    sigma_b2: float = 0.0,
    precision: int = 30,
    parameters: Mapping[str, object] | None = None,
) -> Initialisation:
    r"""Weight variances that preserve the signal for any scalar catalogue activation.

    Forward: :math:`\sigma_w^2 = (q - \sigma_b^2)/E[\phi(\sqrt q z)^2]` keeps
    :math:`\operatorname{Var} z^l = q` layer after layer; backward:
    :math:`\sigma_w^2 = 1/E[\phi'(\sqrt q z)^2]` keeps the gradient variance (equal widths).

    >>> init = init_for("relu")
    >>> (float(init.forward_sigma_w2), float(init.backward_sigma_w2))
    (2.0, 2.0)
    """
    act = gaussian_activation(activation, **(parameters or {}))
    if not q > 0 or not 0 <= sigma_b2 < q:
        raise ValueError(f"need q > 0 and 0 ≤ sigma_b2 < q, got q={q}, sigma_b2={sigma_b2}")
    second = moment(act, q, "square", precision=precision + 5)
    deriv = moment(act, q, "derivative_square", precision=precision + 5)
    with mpmath.workdps(precision + 5):
        forward = (mpmath.mpf(q) - sigma_b2) / second.value
        backward = 1 / deriv.value
        f_err = float(forward * second.error / second.value)
        b_err = float(backward * deriv.error / deriv.value)
    with mpmath.workdps(precision):
        forward, backward = +forward, +backward
    steps = (
        f"E[φ(u)²] at u ~ N(0, {q:g}) = {mpmath.nstr(second.value, 20)} ({second.method}: "
        f"{second.formula})",
        f"E[φ'(u)²] at u ~ N(0, {q:g}) = {mpmath.nstr(deriv.value, 20)} ({deriv.method}: "
        f"{deriv.formula})",
        f"forward: q = σ_w²·E[φ(u)²] + σ_b² at q = {q:g} gives σ_w² = {mpmath.nstr(forward, 20)}",
        f"backward: σ_w²·E[φ'(u)²] = 1 gives σ_w² = {mpmath.nstr(backward, 20)}",
        "Var W = σ_w²/n_in for either choice",
    )
    method = "closed form" if second.closed_form and deriv.closed_form else "quadrature"
    return Initialisation(
        str(act), q, sigma_b2, forward, max(f_err, 10.0 ** (1 - precision)), backward,
        max(b_err, 10.0 ** (1 - precision)), method, steps, precision,
    )  # fmt: skip


@dataclass(frozen=True)
class SeluConstants:
    """SELU's λ and α solved from the fixed-point equations, with the checks made."""

    lambda_: mpmath.mpf
    alpha: mpmath.mpf
    error: float
    mean_residual: mpmath.mpf
    variance_residual: mpmath.mpf
    closed_form_agreement: float  # |difference| from the catalogue's closed forms
    precision: int
    jacobian: tuple[tuple[float, float], tuple[float, float]] = ((0.0, 0.0), (0.0, 0.0))
    spectral_norm: float = 0.0
    reference: str = "Klambauer et al., Self-Normalizing Neural Networks (NeurIPS 2017)"


def selu_constants(*, precision: int = 30) -> SeluConstants:
    r"""Solve :math:`E[\mathrm{selu}_{\lambda,\alpha}(z)] = 0`,
    :math:`E[\mathrm{selu}_{\lambda,\alpha}(z)^2] = 1`, :math:`z \sim N(0,1)`, by quadrature.

    The two equations are linear in α and in λ² once split at 0:
    :math:`I_+ + \alpha I_- = 0` and :math:`\lambda^2(J_+ + \alpha^2 J_-) = 1` with
    :math:`I_+ = E[z; z>0]`, :math:`I_- = E[e^z - 1; z<0]`, :math:`J_+ = E[z^2; z>0]`,
    :math:`J_- = E[(e^z-1)^2; z<0]`; each integral is taken by tanh-sinh quadrature at
    ``precision + 15`` digits (no closed form used). The answer is then checked twice:
    the residuals of the equations with the full SELU at (λ, α), and the catalogue's
    closed forms (Klambauer et al. 2017, eq. 14).

    Stability (their Theorem 1): at ω = Σwᵢ = 0, τ = Σwᵢ² = 1 the moment map is
    :math:`(\mu, \nu) \mapsto (E[\mathrm{selu}(\sqrt\nu z)],
    E[\mathrm{selu}(\sqrt\nu z)^2] - \tilde\mu^2)`, whose Jacobian at (0, 1) has a zero
    first column; the second is the q-derivative of the closed-form moments. Its spectral
    norm is below 1, so (0, 1) attracts.

    >>> c = selu_constants(precision=20)
    >>> mpmath.nstr(c.lambda_, 20), mpmath.nstr(c.alpha, 20)
    ('1.0507009873554804934', '1.6732632423543772848')
    """
    work = precision + 15
    with mpmath.workdps(work):

        def piece(f, a, b):  # type: ignore[no-untyped-def]
            return mpmath.quad(lambda z: f(z) * mpmath.npdf(z), [a, b], error=True)

        i_plus, e1 = piece(lambda z: z, 0, mpmath.inf)
        i_minus, e2 = piece(lambda z: mpmath.expm1(z), mpmath.ninf, 0)
        j_plus, e3 = piece(lambda z: z * z, 0, mpmath.inf)
        j_minus, e4 = piece(lambda z: mpmath.expm1(z) ** 2, mpmath.ninf, 0)
        alpha = -i_plus / i_minus
        lam = 1 / mpmath.sqrt(j_plus + alpha**2 * j_minus)
        quad_error = float(e1 + e2 + e3 + e4) * 10  # the constants are O(1) in the integrals
        exact = (sp.N(SELU_LAMBDA, work), sp.N(SELU_ALPHA, work))
        agreement = max(
            abs(lam - mpmath.mpf(exact[0]._mpf_)), abs(alpha - mpmath.mpf(exact[1]._mpf_))
        )
    act = gaussian_activation(
        "selu", **{"lambda": _decimal(lam, work), "alpha": _decimal(alpha, work)}
    )
    mean = moment(act, 1, "mean", precision=precision + 5, method="quadrature")
    square = moment(act, 1, "square", precision=precision + 5, method="quadrature")
    jacobian, norm = _moment_map_jacobian(act)
    with mpmath.workdps(precision):
        return SeluConstants(
            +lam, +alpha, max(quad_error, 10.0 ** (-precision - 2)), +mean.value,
            square.value - 1, float(agreement), precision, jacobian, norm,
        )  # fmt: skip


def _moment_map_jacobian(
    act: GaussianActivation,
) -> tuple[tuple[tuple[float, float], tuple[float, float]], float]:
    mean, square = closed_form(act, "mean"), closed_form(act, "square")
    assert mean is not None and square is not None
    d_mean = float(sp.N(sp.diff(mean, Q).subs(Q, 1), 20))
    # ν̃ = E[selu²] − μ̃², and μ̃ = 0 at the fixed point
    d_var = float(sp.N(sp.diff(square - mean**2, Q).subs(Q, 1), 20))
    return ((0.0, d_mean), (0.0, d_var)), float(np.hypot(d_mean, d_var))


def _decimal(value: mpmath.mpf, digits: int) -> sp.Rational:
    return sp.Rational(mpmath.nstr(value, digits, min_fixed=-1, max_fixed=1))
