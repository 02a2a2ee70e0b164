r"""Catalogue activations in a derivation: their definitions, and the algebra from the
derivative the rules give to the catalogue's canonical form.

When the expression is one activation of the variable, :func:`definition_of` writes it
out (the sigmoid as :math:`1/(1 + e^{-x})`, tanh and softplus by exponentials, every
other entry by its catalogue formula at default parameters), and :func:`canonical_route`
lists the algebra steps to the canonical derivative (:math:`\sigma(x)(1 - \sigma(x))`,
:math:`1 - \tanh^2 x`, :math:`\sigma(x)`, …). Each intermediate form is checked like any
other step, so a slip in a route shows as a failed step, never as a wrong answer.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from symdl.catalog import ACTIVATIONS
from symdl.catalog.entry import X
from symdl.nodes import CatalogFunction, sigmoid, softplus

__all__ = ["Definition", "canonical_route", "definition_of"]


@dataclass(frozen=True)
class Definition:
    """A catalogue function written out: the rule's name, its formula, the body."""

    rule: str
    formula: str
    body: sp.Basic


def _m(*args: sp.Basic) -> sp.Basic:
    return sp.Mul(*args, evaluate=False)


_E, _EM = sp.exp(X), sp.exp(-X)
_S = 1 / (1 + _EM)

#: class → (LaTeX name, elementary body in X, route from the raw derivative to canonical)
_ELEMENTARY: dict[type, tuple[str, sp.Expr, tuple[tuple[str, str, sp.Basic], ...]]] = {
    sigmoid: (
        r"\sigma(x) = \frac{1}{1 + e^{-x}}",
        _S,
        (
            (
                "split the fraction",
                r"\frac{e^{-x}}{(1 + e^{-x})^{2}} "
                r"= \frac{1}{1 + e^{-x}}\cdot\frac{e^{-x}}{1 + e^{-x}}",
                _m(_S, _EM / (1 + _EM)),
            ),
            (
                "add and subtract 1 in the numerator",
                r"\frac{e^{-x}}{1 + e^{-x}} = 1 - \frac{1}{1 + e^{-x}}",
                _m(_S, 1 - _S),
            ),
            (
                "definition of the sigmoid",
                r"\frac{1}{1 + e^{-x}} = \sigma(x)",
                sigmoid(X) * (1 - sigmoid(X)),
            ),
        ),
    ),
    sp.tanh: (
        r"\tanh x = \frac{e^{x} - e^{-x}}{e^{x} + e^{-x}}",
        (_E - _EM) / (_E + _EM),
        (
            (
                "split the fraction",
                r"\frac{a^{2} - b^{2}}{a^{2}} = 1 - \frac{b^{2}}{a^{2}}",
                1 - (_E - _EM) ** 2 / (_E + _EM) ** 2,
            ),
            (
                "definition of tanh",
                r"\frac{e^{x} - e^{-x}}{e^{x} + e^{-x}} = \tanh x",
                1 - sp.tanh(X) ** 2,
            ),
        ),
    ),
    softplus: (
        r"\operatorname{softplus}(x) = \log\left(1 + e^{x}\right)",
        sp.log(1 + _E),
        (
            (
                "divide numerator and denominator by e^x",
                r"\frac{e^{x}}{1 + e^{x}} = \frac{1}{e^{-x} + 1}",
                _S,
            ),
            ("definition of the sigmoid", r"\frac{1}{1 + e^{-x}} = \sigma(x)", sigmoid(X)),
        ),
    ),
}


def _entry_name(f: sp.Basic) -> str | None:
    if isinstance(f, CatalogFunction):
        return type(f).__name__
    if isinstance(f, (sigmoid, softplus, sp.tanh)):
        return {sigmoid: "sigmoid", softplus: "softplus", sp.tanh: "tanh"}[type(f)]
    return None


def definition_of(f: sp.Basic, x: sp.Symbol) -> Definition | None:
    """``f`` written out, when ``f`` is one catalogue activation applied to ``x``."""
    name = _entry_name(f)
    if name is None or f.args[0] != x:
        return None
    entry = ACTIVATIONS.get(name)
    if type(f) in _ELEMENTARY:
        formula, body, _ = _ELEMENTARY[type(f)]
        return Definition(f"definition of {entry.name}", formula, body.xreplace({X: x}))
    assert isinstance(f, CatalogFunction)
    body = f.expansion()
    formula = rf"{entry.latex}(x) = {sp.latex(f.body)}"
    return Definition(f"definition of {entry.name}", formula, body)


def canonical_route(
    f: sp.Basic, x: sp.Symbol, raw: sp.Basic
) -> tuple[tuple[str, str, sp.Basic], ...] | None:
    """The algebra steps from ``raw`` to the canonical derivative of the activation ``f``
    of ``x`` (empty when ``raw`` already is canonical), or ``None`` if ``f`` is not one."""
    name = _entry_name(f)
    if name is None or f.args[0] != x:
        return None
    entry = ACTIVATIONS.get(name)
    canonical = entry.at()[1].xreplace({X: x})
    if type(f) in _ELEMENTARY:
        _, _, route = _ELEMENTARY[type(f)]
        if x == X:
            return route
        with sp.evaluate(False):
            return tuple((r, t, form.xreplace({X: x})) for r, t, form in route)
    if raw == canonical:
        return ()
    return (
        (
            f"the canonical form of the {entry.name} derivative",
            rf"{entry.latex}'(x) = {sp.latex(entry.derivative.xreplace(_params(entry)))}",
            canonical,
        ),
    )


def _params(entry: object) -> dict[sp.Basic, sp.Basic]:
    return {p.symbol: p.default for p in getattr(entry, "parameters", ())}
