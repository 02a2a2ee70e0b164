r"""Known derivatives of the functions of one argument, each a named rule.

:func:`known_derivative` gives :math:`f'(u)` for ``f(u)`` with the rule's name and its
general formula in LaTeX. Catalogue activations use the catalogue's canonical derivative
(the form textbooks write, proved equal to SymPy's by the catalogue's tests).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sympy as sp

from symdl.catalog import ACTIVATIONS
from symdl.nodes import CatalogFunction, sigmoid, softplus

__all__ = ["Known", "known_derivative"]


@dataclass(frozen=True)
class Known:
    """``f'(u)`` for one function: the rule's name, its formula, the derivative at ``u``."""

    name: str
    formula: str
    derivative: sp.Expr


_U = sp.Symbol("u", real=True)

#: function class → (rule name, LaTeX formula, f'(u) as a function of u)
_TABLE: dict[type, tuple[str, str, Callable[[sp.Expr], sp.Expr]]] = {
    sp.exp: ("exponential", r"(e^{u})' = e^{u}", sp.exp),
    sp.log: ("logarithm", r"(\log u)' = \frac{1}{u}", lambda u: 1 / u),
    sp.sin: ("sine", r"(\sin u)' = \cos u", sp.cos),
    sp.cos: ("cosine", r"(\cos u)' = -\sin u", lambda u: -sp.sin(u)),
    sp.tan: ("tangent", r"(\tan u)' = 1 + \tan^{2} u", lambda u: 1 + sp.tan(u) ** 2),
    sp.sinh: ("hyperbolic sine", r"(\sinh u)' = \cosh u", sp.cosh),
    sp.cosh: ("hyperbolic cosine", r"(\cosh u)' = \sinh u", sp.sinh),
    sp.tanh: ("hyperbolic tangent", r"(\tanh u)' = 1 - \tanh^{2} u", lambda u: 1 - sp.tanh(u) ** 2),
    sp.asin: (
        "inverse sine",
        r"(\arcsin u)' = \frac{1}{\sqrt{1 - u^{2}}}",
        lambda u: 1 / sp.sqrt(1 - u**2),
    ),
    sp.acos: (
        "inverse cosine",
        r"(\arccos u)' = -\frac{1}{\sqrt{1 - u^{2}}}",
        lambda u: -1 / sp.sqrt(1 - u**2),
    ),
    sp.atan: ("inverse tangent", r"(\arctan u)' = \frac{1}{1 + u^{2}}", lambda u: 1 / (1 + u**2)),
    sp.asinh: (
        "inverse hyperbolic sine",
        r"(\operatorname{arsinh} u)' = \frac{1}{\sqrt{u^{2} + 1}}",
        lambda u: 1 / sp.sqrt(u**2 + 1),
    ),
    sp.acosh: (
        "inverse hyperbolic cosine",
        r"(\operatorname{arcosh} u)' = \frac{1}{\sqrt{u^{2} - 1}}",
        lambda u: 1 / sp.sqrt(u**2 - 1),
    ),
    sp.atanh: (
        "inverse hyperbolic tangent",
        r"(\operatorname{artanh} u)' = \frac{1}{1 - u^{2}}",
        lambda u: 1 / (1 - u**2),
    ),
    sp.erf: (
        "error function",
        r"(\operatorname{erf} u)' = \frac{2}{\sqrt{\pi}} e^{-u^{2}}",
        lambda u: 2 * sp.exp(-(u**2)) / sp.sqrt(sp.pi),
    ),
    sp.erfc: (
        "complementary error function",
        r"(\operatorname{erfc} u)' = -\frac{2}{\sqrt{\pi}} e^{-u^{2}}",
        lambda u: -2 * sp.exp(-(u**2)) / sp.sqrt(sp.pi),
    ),
    sigmoid: (
        "sigmoid",
        r"\sigma'(u) = \sigma(u)\left(1 - \sigma(u)\right)",
        lambda u: sigmoid(u) * (1 - sigmoid(u)),
    ),
    softplus: ("softplus", r"\operatorname{softplus}'(u) = \sigma(u)", sigmoid),
}


def known_derivative(f: sp.Basic) -> Known | None:
    """The named rule for ``f = g(u)`` (one argument), or ``None`` if there is none.

    >>> known_derivative(sp.tanh(sp.Symbol("v"))).derivative
    1 - tanh(v)**2
    """
    if not isinstance(f, sp.Function) or len(f.args) != 1:
        return None
    (u,) = f.args
    if isinstance(f, CatalogFunction):
        entry = ACTIVATIONS.get(type(f).__name__)
        general = sp.latex(f.derivative_body.xreplace({f.variable: _U}))
        formula = rf"{entry.latex}'(u) = {general}"
        return Known(f"derivative of {entry.name}", formula, f.fdiff())
    row = _TABLE.get(type(f))
    if row is None:
        return None
    name, formula, rule = row
    return Known(f"derivative of the {name}", formula, rule(u))
