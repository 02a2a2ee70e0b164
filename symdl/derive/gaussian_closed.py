r"""Closed forms of Gaussian expectations of activations, as SymPy expressions.

For a pre-activation :math:`u \sim N(0, q)` (and pairs :math:`(u_1, u_2)` with variances
:math:`q_1, q_2` and correlation :math:`c`), :func:`closed_form` returns the expectation in
``q`` (or ``q_1, q_2, c``) where one is known: the identity; polynomials (Isserlis 1918);
``a·erf(kx)`` (Williams, "Computing with infinite networks", NeurIPS 1997); the ReLU
family (the arc-cosine kernel of Cho & Saul, "Kernel Methods for Deep Learning", NeurIPS
2009, degrees 0 and 1); ELU, SELU and CELU (truncated Gaussian moments, Klambauer et al.
2017, appendix A3). :mod:`symdl.derive.gaussian` evaluates them, or integrates where none
applies.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sympy as sp

from symdl.catalog.entry import X

if TYPE_CHECKING:
    from symdl.derive.gaussian import GaussianActivation

__all__ = ["Q1", "Q2", "C", "Q", "closed_form"]

Q = sp.Symbol("q", positive=True)
Q1 = sp.Symbol("q_1", positive=True)
Q2 = sp.Symbol("q_2", positive=True)
C = sp.Symbol("c", real=True)


def _Phi(t: sp.Expr) -> sp.Expr:
    """The standard normal CDF."""
    return sp.erfc(-t / sp.sqrt(2)) / 2


def _arccos_kernel(c: sp.Expr, q1: sp.Expr, q2: sp.Expr) -> sp.Expr:
    r"""Cho & Saul (2009) degree 1: :math:`E[\mathrm{relu}(u_1)\mathrm{relu}(u_2)]`."""
    theta = sp.acos(c)
    return sp.sqrt(q1 * q2) / (2 * sp.pi) * (sp.sqrt(1 - c**2) + (sp.pi - theta) * c)


def closed_form(act: GaussianActivation, kind: str) -> sp.Expr | None:
    r"""The closed form of an expectation as a SymPy expression, or None.

    ``kind`` is ``mean``, ``square``, ``derivative_square`` (in ``q``) or ``cross``,
    ``derivative_cross`` (in ``q_1``, ``q_2``, ``c``).

    >>> from symdl.derive.gaussian import gaussian_activation
    >>> closed_form(gaussian_activation("relu"), "square")
    q/2
    """
    if act.family == "identity":
        table = {
            "mean": sp.Integer(0),
            "square": Q,
            "derivative_square": sp.Integer(1),
            "cross": C * sp.sqrt(Q1 * Q2),
            "derivative_cross": sp.Integer(1),
        }
        return table.get(kind)
    if act.family == "polynomial":
        return _isserlis(act, kind)
    if act.family == "erf":
        # Williams, "Computing with infinite networks" (NeurIPS 1997): the erf kernel
        a, k2 = act.value("scale"), act.value("rate") ** 2
        q12 = C * sp.sqrt(Q1 * Q2)
        table = {
            "mean": sp.Integer(0),
            "square": a**2 * 2 / sp.pi * sp.asin(2 * k2 * Q / (1 + 2 * k2 * Q)),
            "derivative_square": a**2 * 4 * k2 / sp.pi / sp.sqrt(1 + 4 * k2 * Q),
            "cross": a**2
            * 2
            / sp.pi
            * sp.asin(2 * k2 * q12 / sp.sqrt((1 + 2 * k2 * Q1) * (1 + 2 * k2 * Q2))),
            "derivative_cross": a**2
            * 4
            * k2
            / sp.pi
            / sp.sqrt((1 + 2 * k2 * Q1) * (1 + 2 * k2 * Q2) - 4 * k2**2 * q12**2),
        }
        return table.get(kind)
    if act.family == "rectifier":
        # φ(x) = relu(x) − a·relu(−x); the pair (u₁, −u₂) has correlation −c
        a = act.value("alpha") if act.name != "relu" else sp.Integer(0)
        theta = sp.acos(C)
        table = {
            "mean": (1 - a) * sp.sqrt(Q / (2 * sp.pi)),
            "square": (1 + a**2) * Q / 2,
            "derivative_square": (1 + a**2) / 2,
            "cross": (1 + a**2) * _arccos_kernel(C, Q1, Q2) - 2 * a * _arccos_kernel(-C, Q1, Q2),
            "derivative_cross": ((1 + a**2) * (sp.pi - theta) + 2 * a * theta) / (2 * sp.pi),
        }
        return table.get(kind)
    if act.family == "exponential":
        # φ(x) = λx (x > 0), λα(e^{rx} − 1) (x ≤ 0); with E[e^{ku}; u < 0] = e^{k²q/2}Φ(−k√q)
        lam = act.value("lambda") if act.name == "selu" else sp.Integer(1)
        alpha = act.value("alpha")
        r = 1 / alpha if act.name == "celu" else sp.Integer(1)
        s = sp.sqrt(Q)

        def tail(k: sp.Expr) -> sp.Expr:
            return sp.exp(k**2 * Q / 2) * _Phi(-k * s)

        table = {
            "mean": lam * (s / sp.sqrt(2 * sp.pi) + alpha * (tail(r) - sp.Rational(1, 2))),
            "square": lam**2 * (Q / 2 + alpha**2 * (tail(2 * r) - 2 * tail(r) + sp.Rational(1, 2))),
            "derivative_square": lam**2 * (sp.Rational(1, 2) + alpha**2 * r**2 * tail(2 * r)),
        }
        return table.get(kind)
    return None


def _isserlis(act: GaussianActivation, kind: str) -> sp.Expr:
    """Polynomial moments: E[z^{2m}] = (2m − 1)!!, odd moments vanish (Isserlis 1918)."""
    z1, z2 = sp.symbols("z_1 z_2", real=True)
    f, d = act.expr, act.derivative
    u, u1 = sp.sqrt(Q) * z1, sp.sqrt(Q1) * z1
    u2 = sp.sqrt(Q2) * (C * z1 + sp.sqrt(1 - C**2) * z2)
    integrand = {
        "mean": f.xreplace({X: u}),
        "square": f.xreplace({X: u}) ** 2,
        "derivative_square": d.xreplace({X: u}) ** 2,
        "cross": f.xreplace({X: u1}) * f.xreplace({X: u2}),
        "derivative_cross": d.xreplace({X: u1}) * d.xreplace({X: u2}),
    }[kind]
    poly = sp.Poly(sp.expand(integrand), z1, z2)
    total = sp.Integer(0)
    for (i, j), coeff in poly.terms():
        if i % 2 == 0 and j % 2 == 0:
            total += coeff * sp.factorial2(i - 1) * sp.factorial2(j - 1)
    return sp.expand(total)
