"""The data of the catalogue: parameters, activations and losses as frozen records.

An entry is *data*: its SymPy expression in the catalogue variables, its parameters with
defaults, and its derivative in canonical form (the form textbooks write, proved equal to
SymPy's derivative by the test suite). Properties such as range or monotonicity are not
typed in: :mod:`symdl.catalog.properties` establishes them, with evidence.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import sympy as sp

__all__ = ["Activation", "Loss", "Parameter", "X", "Y", "Z"]

#: The input of an activation (a real scalar; vector activations use ``Z``).
X = sp.Symbol("x", real=True)
#: The target of a loss (scalar, or the entries of a target vector).
Y = sp.Symbol("y", real=True)
#: The prediction or logit of a loss; for vector entries, ``Z`` is a column vector.
Z = sp.Symbol("z", real=True)


@dataclass(frozen=True)
class Parameter:
    """A parameter of an entry: its symbol, default, and the condition it must satisfy."""

    name: str
    default: sp.Expr
    condition: str = "positive"  # "positive", "nonnegative", "real", "unit" (0 < p < 1)
    learnable: bool = False
    doc: str = ""

    @property
    def symbol(self) -> sp.Symbol:
        if self.condition == "positive":
            return sp.Symbol(self.name, positive=True)
        if self.condition == "nonnegative":
            return sp.Symbol(self.name, nonnegative=True)
        if self.condition == "unit":
            return sp.Symbol(self.name, positive=True)
        return sp.Symbol(self.name, real=True)


def _defaults(params: tuple[Parameter, ...], values: Mapping[str, object]) -> dict:
    known = {p.name for p in params}
    unknown = set(values) - known
    if unknown:
        raise TypeError(f"unknown parameters {sorted(unknown)}; parameters are {sorted(known)}")
    return {p.symbol: values.get(p.name, p.default) for p in params}


@dataclass(frozen=True)
class Activation:
    r"""An activation function :math:`f(x)` (elementwise), or a vector map when ``vector``.

    ``expr`` and ``derivative`` are in ``X`` and the parameter symbols; for a vector
    activation they are built by ``vector_expr(z)`` / ``jacobian(z)`` instead.
    """

    name: str
    expr: sp.Expr
    derivative: sp.Expr
    latex: str
    parameters: tuple[Parameter, ...] = ()
    aliases: tuple[str, ...] = ()
    reference: str = ""
    doc: str = ""
    vector: bool = False

    def at(self, **values: object) -> tuple[sp.Expr, sp.Expr]:
        """The expression and its derivative with parameters set (defaults elsewhere)."""
        subs = _defaults(self.parameters, values)
        return self.expr.xreplace(subs), self.derivative.xreplace(subs)

    def __call__(self, arg: sp.Expr, **values: object) -> sp.Expr:
        """``f(arg)`` with parameters at their defaults unless given."""
        return self.at(**values)[0].xreplace({X: arg})

    def grad(self, arg: sp.Expr, **values: object) -> sp.Expr:
        """``f'(arg)`` in canonical form."""
        return self.at(**values)[1].xreplace({X: arg})

    def parameter_gradients(self) -> dict[str, sp.Expr]:
        """∂f/∂θ for each learnable parameter θ (PReLU's slope, for instance)."""
        return {p.name: sp.diff(self.expr, p.symbol) for p in self.parameters if p.learnable}


@dataclass(frozen=True)
class Loss:
    r"""A loss :math:`L(z, y)` of a prediction (or logit) ``z`` and a target ``y``.

    For ``vector`` losses, ``z`` and ``y`` are column vectors given in the input language
    (``expr_text``), with the gradient by ``z`` in canonical form (``gradient_text``) and
    the assumptions the canonical form needs (``assume``, e.g. ``y`` a probability vector).
    """

    name: str
    expr: sp.Expr
    gradient: sp.Expr
    latex: str
    parameters: tuple[Parameter, ...] = ()
    domain: str = ""  # conditions on z and y, in words
    assume: Mapping[str, str] = field(default_factory=dict)
    reference: str = ""
    doc: str = ""
    vector: bool = False
    expr_text: str = ""
    gradient_text: str = ""

    def at(self, **values: object) -> tuple[sp.Expr, sp.Expr]:
        subs = _defaults(self.parameters, values)
        return self.expr.xreplace(subs), self.gradient.xreplace(subs)
