r"""Vanishing and exploding gradients in a recurrent network: the Jacobian product and its bound.

For the recurrence :math:`h_t = \varphi(a_t)`, :math:`a_t = W_{hh}h_{t-1} + W_{xh}x_t + b`,
the chain rule gives, for :math:`k < t`,

.. math::

    \frac{\partial h_t}{\partial h_k} = \prod_{i=k+1}^{t}\operatorname{diag}(\varphi'(a_i))
    \,W_{hh}

(the factor of step :math:`t` on the left), and since the spectral norm is submultiplicative
and :math:`\lVert\operatorname{diag}(\varphi'(a))\rVert_2 = \max_j|\varphi'(a_j)| \le
\gamma := \sup|\varphi'|`,

.. math::

    \Big\lVert\frac{\partial h_t}{\partial h_k}\Big\rVert_2 \le
    \big(\gamma\,\sigma_{\max}(W_{hh})\big)^{t-k}.

So :math:`\sigma_{\max}(W_{hh}) < 1/\gamma` is sufficient for the long-term gradient
components to vanish exponentially fast, and :math:`\sigma_{\max}(W_{hh}) > 1/\gamma` is
necessary for them to explode (Pascanu, Mikolov & Bengio, "On the difficulty of training
recurrent neural networks", ICML 2013, Sec. 2.1, "The mechanics"; :math:`\gamma = 1`
for tanh and :math:`1/4` for the sigmoid). Pascanu et al. write the recurrence as
:math:`x_t = W_{rec}\sigma(x_{t-1}) + W_{in}u_t + b`, whose one-step Jacobian is
:math:`W_{rec}\operatorname{diag}(\sigma'(x_{t-1}))` (their eq. 5 prints
:math:`W_{rec}^\top`); either way each factor's norm is at most
:math:`\gamma\,\sigma_{\max}(W)`, so the bound is the same. Here the product formula
of the form above is proved by SymPy, not taken from the paper.

:func:`rnn_gradient_bound` states these equations and checks them: :math:`\gamma` is
established from the catalogue's derivative (:func:`symdl.catalog.properties.
establish_lipschitz`: SymPy's range of :math:`\varphi'`, or rigorous interval arithmetic),
never typed in; the product formula is proved with SymPy at a small size (entrywise
Jacobian of the unrolled recurrence minus the product, expanded to 0); on random
instances (seeded) the exact product, computed from the recurrence, is compared with the
bound for every pair :math:`k < t`, and with finite differences of the unrolled recurrence
(:func:`symdl.verify.gradcheck`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import sympy as sp

from symdl.budget import run_with_budget
from symdl.catalog import ACTIVATIONS
from symdl.catalog.code import activation_code
from symdl.derive.layers.base import Equation
from symdl.errors import BudgetExceeded, SymdlError
from symdl.verify.gradcheck import gradcheck

__all__ = ["RNNGradientBound", "rnn_gradient_bound", "sup_derivative"]

REFERENCE = (
    "Pascanu, Mikolov & Bengio, On the difficulty of training recurrent neural networks, "
    "ICML 2013, Sec. 2.1"
)


def rounding(hidden: int, span: int) -> float:
    """The relative amount by which a float64 product of ``span`` factors ``hidden × hidden``
    and its SVD norm may exceed the exact value: a few units in the last place per
    factor and per summand. A norm above the bound by more than this is a violation."""
    return 4.0 * (span + 1) * hidden * float(np.finfo(float).eps)


@dataclass(frozen=True)
class RNNGradientBound:
    """The Jacobian product of a recurrent network, its bound, and how they were checked.

    ``gamma`` is :math:`\\sup|\\varphi'|` as established (``gamma_evidence`` says how);
    ``claimed_gamma`` is the value the bound was checked with (``gamma`` unless a caller
    claims another). Over ``pairs`` pairs :math:`k < t` of ``instances`` random networks
    for each hidden size and spectral norm, ``violations`` count products whose norm
    exceeds the bound by more than float64 rounding (:func:`rounding`); ``min_slack`` is
    the least :math:`1 - \\lVert\\partial h_t/\\partial h_k\\rVert_2/\\text{bound}` (0 where
    the bound is attained, negative where violated) and ``worst`` where it occurred.
    ``product`` is SymPy's verdict on the product formula at ``product_size``
    (:func:`prove_product`); ``jacobian_worst`` is the worst relative error of the
    product against finite differences over ``jacobian_checks`` checks
    (``jacobian_failures`` of them beyond the gradient check's error bound). ``verdict``
    is ``refuted`` when a bound is violated, a product disagrees with finite differences
    or SymPy refutes the formula, and ``verified`` otherwise (numerical evidence, with
    the formula proved symbolically at the small size or, when SymPy runs out of time,
    ``product`` saying so).
    """

    activation: str
    gamma: float
    gamma_evidence: str
    claimed_gamma: float
    hidden: tuple[int, ...]
    steps: int
    spectral_norms: tuple[float, ...]
    instances: int
    seed: int
    pairs: int
    violations: int
    min_slack: float
    worst: str
    product: str
    product_size: str
    jacobian_checks: int
    jacobian_failures: int
    jacobian_worst: float
    equations: tuple[Equation, ...]
    verdict: str
    reference: str = REFERENCE

    def summary(self) -> str:
        """One paragraph: the claim, γ, and what the check found."""
        gamma = f"γ = sup|{self.activation}'| = {self.gamma:.6g} ({self.gamma_evidence})"
        if self.claimed_gamma != self.gamma:
            gamma += f"; the bound was checked with γ = {self.claimed_gamma:.6g}"
        return (
            f"‖∂h_t/∂h_k‖₂ ≤ (γ·σ_max(W_hh))^(t−k) for h_t = {self.activation}(W_hh h_(t−1) "
            f"+ W_xh x_t + b): {self.verdict}. {gamma}. Product formula "
            f"{self.product} by SymPy at {self.product_size}. Bound: {self.pairs} pairs "
            f"k < t of {self.instances} random "
            f"networks for each hidden size {list(self.hidden)} and σ_max "
            f"{list(self.spectral_norms)}, T = {self.steps}: {self.violations} violations "
            "(beyond float64 rounding), "
            f"least slack {self.min_slack:.3g} ({self.worst}). Jacobian product against "
            f"finite differences: {self.jacobian_checks - self.jacobian_failures} of "
            f"{self.jacobian_checks} agree (worst relative error {self.jacobian_worst:.2g})."
        )


@cache
def sup_derivative(activation: str) -> tuple[float, str]:
    """:math:`\\gamma = \\sup_x|\\varphi'(x)|` for a scalar activation of the catalogue, and
    how it was established (SymPy's range of :math:`\\varphi'`, or interval arithmetic).

    >>> sup_derivative("sigmoid")[0]
    0.25
    """
    from symdl.catalog.properties import establish_lipschitz

    entry = ACTIVATIONS.get(activation)
    if entry.vector:
        raise SymdlError(f"{activation} is not elementwise; the bound needs a scalar φ")
    f, d = entry.at()
    found = establish_lipschitz(f, d, ())
    value = float(sp.Float(found.value, 30))
    if not np.isfinite(value):
        raise SymdlError(f"{activation}' is unbounded: no γ = sup|φ'| exists")
    return value, f"{found.method}: {found.evidence}"


def equations(activation: str, gamma: float) -> tuple[Equation, ...]:
    """The derivation in matrix notation, per example."""
    phi = ACTIVATIONS.get(activation).latex
    return (
        Equation(
            "h_t",
            rf"{phi}(a_t),\quad a_t = W_{{hh}}h_{{t-1}} + W_{{xh}}x_t + b",
            f"h_t = {activation}(a_t), a_t = W_hh h_(t−1) + W_xh x_t + b",
            "the recurrence",
        ),
        Equation(
            r"\frac{\partial h_i}{\partial h_{i-1}}",
            rf"\operatorname{{diag}}\left({phi}'(a_i)\right)W_{{hh}}",
            f"∂h_i/∂h_(i−1) = diag({activation}'(a_i)) W_hh",
            "one step",
        ),
        Equation(
            r"\frac{\partial h_t}{\partial h_k}",
            rf"\prod_{{i=k+1}}^{{t}}\operatorname{{diag}}\left({phi}'(a_i)\right)W_{{hh}}",
            f"∂h_t/∂h_k = Π_(i=k+1..t) diag({activation}'(a_i)) W_hh",
            "the chain rule; the factor of step t on the left",
        ),
        Equation(
            rf"\left\lVert\operatorname{{diag}}\left({phi}'(a_i)\right)W_{{hh}}\right\rVert_2",
            rf"\le \max_j\left|{phi}'(a_{{ij}})\right|\,\sigma_{{\max}}(W_{{hh}})"
            r"\le \gamma\,\sigma_{\max}(W_{hh})",
            f"‖diag({activation}'(a_i)) W_hh‖₂ ≤ max_j |{activation}'(a_ij)| σ_max(W_hh) "
            "≤ γ σ_max(W_hh)",
            f"γ = sup|{activation}'| = {gamma:.6g}",
        ),
        Equation(
            r"\left\lVert\frac{\partial h_t}{\partial h_k}\right\rVert_2",
            r"\le \left(\gamma\,\sigma_{\max}(W_{hh})\right)^{t-k}",
            "‖∂h_t/∂h_k‖₂ ≤ (γ σ_max(W_hh))^(t−k)",
            "submultiplicativity; σ_max < 1/γ suffices for vanishing, σ_max > 1/γ is "
            "necessary for exploding (Pascanu et al. 2013, Sec. 2.1)",
        ),
    )


def prove_product(
    activation: str, *, hidden: int = 2, steps: int = 2, timeout: float = 30.0, seed: int = 0
) -> str:
    """The product formula against SymPy's Jacobian of the unrolled recurrence, at
    ``hidden`` units over ``steps`` steps: ``proved`` (the difference expands to 0),
    ``verified`` (it does not expand to 0 but vanishes to 30 digits at 3 random points),
    ``refuted`` or ``undecided`` (out of ``timeout`` seconds)."""
    try:
        return run_with_budget(_product_verdict, activation, hidden, steps, seed, timeout=timeout)
    except BudgetExceeded:
        return "undecided"


def _product_verdict(activation: str, hidden: int, steps: int, seed: int) -> str:
    entry = ACTIVATIONS.get(activation)
    w = sp.Matrix(hidden, hidden, lambda i, j: sp.Symbol(f"w_{i}{j}", real=True))
    h0 = sp.Matrix([sp.Symbol(f"h_{i}", real=True) for i in range(hidden)])
    h, product = h0, sp.eye(hidden)
    for step in range(steps):
        u = sp.Matrix([sp.Symbol(f"u_{step}_{i}", real=True) for i in range(hidden)])
        a = w * h + u
        h = a.applyfunc(entry)
        product = sp.diag(*[entry.grad(v) for v in a]) * w * product
    left = [v for v in h.jacobian(h0) - product if sp.expand(v) != 0]
    if not left:
        return "proved"
    rng = np.random.default_rng(seed)
    free = sorted(set().union(*(v.free_symbols for v in left)), key=str)
    for _ in range(3):
        point = {v: sp.Float(rng.uniform(-1.5, 1.5), 30) for v in free}
        if any(abs(sp.N(v.xreplace(point), 30)) > sp.Float(10) ** -20 for v in left):
            return "refuted"
    return "verified"


def _weights(rng: np.random.Generator, n: int, norm: float, orthogonal: bool) -> np.ndarray:
    g = rng.standard_normal((n, n))
    if orthogonal:  # every singular value equals the norm: the bound can be attained
        q, r = np.linalg.qr(g)
        return norm * q * np.sign(np.diag(r))
    return norm * g / np.linalg.norm(g, 2)


def _unroll(phi: Any, w: np.ndarray, u: np.ndarray, h: np.ndarray) -> list[np.ndarray]:
    """Pre-activations a_1 … a_T from h_0 = h and the input drive u_t = W_xh x_t + b."""
    pre = []
    for drive in u:
        a = w @ h + drive
        pre.append(a)
        h = phi(a)
    return pre


def rnn_gradient_bound(
    activation: str = "tanh",
    *,
    hidden: int | tuple[int, ...] = (2, 4, 8),
    steps: int = 10,
    spectral_norm: float | tuple[float, ...] = (0.5, 1.0, 2.0),
    instances: int = 20,
    seed: int = 0,
    gamma: float | None = None,
    timeout: float = 30.0,
) -> RNNGradientBound:
    r"""The bound :math:`\lVert\partial h_t/\partial h_k\rVert_2 \le (\gamma\,
    \sigma_{\max}(W_{hh}))^{t-k}` for ``activation``, derived and checked (module doc).

    For each hidden size and spectral norm, ``instances`` random networks (seeded by
    ``seed``): :math:`W_{hh}` a Gaussian matrix, or every other one an orthogonal matrix,
    scaled to the spectral norm; the input drive :math:`W_{xh}x_t + b` and :math:`h_0` at
    a random scale between 0.01 and 3 (small drives put :math:`\varphi'` near its
    supremum, where the bound is tightest). ``gamma`` overrides the established
    :math:`\gamma` (a wrong claim to test the check with); ``timeout`` bounds SymPy's
    proof of the product formula.

    >>> rnn_gradient_bound("tanh", hidden=2, steps=3, instances=2).verdict
    'verified'
    """
    sizes = _tuple_of(hidden, "hidden", int)
    norms = _tuple_of(spectral_norm, "spectral_norm", float)
    for what, value in (("steps", steps), ("instances", instances)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{what} must be a positive integer, not {value!r}")
    established, evidence = sup_derivative(activation)
    if gamma is not None and not (isinstance(gamma, (int, float)) and gamma > 0):
        raise ValueError(f"gamma must be a positive number, not {gamma!r}")
    claimed = established if gamma is None else float(gamma)
    phi = activation_code(activation)
    dphi = activation_code(activation, derivative=True)
    rng = np.random.default_rng(seed)
    pairs = violations = checks = failures = 0
    min_slack, worst, jac_worst = np.inf, "", 0.0
    for n in sizes:
        for norm in norms:
            for index in range(instances):
                w = _weights(rng, n, norm, orthogonal=index % 2 == 1)
                scale = float(np.exp(rng.uniform(np.log(0.01), np.log(3.0))))
                u = scale * rng.standard_normal((steps, n))
                h0 = scale * rng.standard_normal(n)
                pre = _unroll(phi, w, u, h0)
                steps_j = [np.asarray(dphi(a), dtype=float)[:, None] * w for a in pre]
                sigma = float(np.linalg.norm(w, 2))
                for t in range(1, steps + 1):
                    # ∂h_t/∂h_k = exp(log_norm) · product with ‖product‖₂ = 1: long spans
                    # neither overflow nor underflow
                    product, log_norm = np.eye(n), 0.0
                    for k in range(t - 1, -1, -1):
                        product = product @ steps_j[k]
                        norm_jk = float(np.linalg.norm(product, 2))
                        if norm_jk == 0.0:  # every later product is 0 too
                            ratio = 0.0
                        else:
                            log_norm += np.log(norm_jk)
                            product = product / norm_jk
                            ratio = float(np.exp(log_norm - (t - k) * np.log(claimed * sigma)))
                        slack = 1.0 - ratio
                        pairs += 1
                        violations += slack < -rounding(n, t - k)
                        if slack < min_slack:
                            min_slack = slack
                            worst = f"n = {n}, σ_max = {norm:g}, t − k = {t - k}"
                if index < 2:
                    checks += 1
                    agrees, error = _against_differences(phi, w, u, h0, steps_j, rng)
                    jac_worst = max(jac_worst, error)
                    failures += not agrees
    formula = prove_product(activation, timeout=timeout, seed=seed)
    ok = violations == 0 and failures == 0 and formula != "refuted"
    return RNNGradientBound(
        activation=ACTIVATIONS.get(activation).name,
        gamma=established,
        gamma_evidence=evidence,
        claimed_gamma=claimed,
        hidden=sizes,
        steps=steps,
        spectral_norms=norms,
        instances=instances,
        seed=seed,
        pairs=pairs,
        violations=violations,
        min_slack=float(min_slack),
        worst=worst,
        product=formula,
        product_size="hidden 2, 2 steps",
        jacobian_checks=checks,
        jacobian_failures=failures,
        jacobian_worst=jac_worst,
        equations=equations(activation, established),
        verdict="verified" if ok else "refuted",
    )


def _against_differences(
    phi: Any,
    w: np.ndarray,
    u: np.ndarray,
    h0: np.ndarray,
    steps_j: list[np.ndarray],
    rng: np.random.Generator,
) -> tuple[bool, float]:
    """∂h_T/∂h_0 from the product against finite differences of the unrolled recurrence
    (projected on a random direction: the gradient of vᵀh_T is (∂h_T/∂h_0)ᵀv): whether
    :func:`symdl.verify.gradcheck` verifies it, and its worst relative error."""
    product = np.eye(len(h0))
    for j in steps_j:
        product = j @ product
    v = rng.standard_normal(len(h0))

    def f(h: np.ndarray) -> float:
        for drive in u:
            h = phi(w @ h + drive)
        return float(v @ h)

    report = gradcheck(f, lambda h: product.T @ v, h0)
    errors = [e.worst_error for e in report.evidence if e.worst_error is not None]
    return report.verdict == "verified", max(errors, default=0.0)


def _tuple_of(value: Any, what: str, kind: type) -> tuple[Any, ...]:
    values = value if isinstance(value, tuple | list) else (value,)
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
            raise ValueError(f"{what} must be positive numbers, not {value!r}")
        if kind is int and (int(v) != v):
            raise ValueError(f"{what} must be positive integers, not {value!r}")
        if not v > 0 or not np.isfinite(v):
            raise ValueError(f"{what} must be positive, not {value!r}")
        out.append(kind(v))
    if not out:
        raise ValueError(f"{what} must not be empty")
    return tuple(out)
