r"""The differential as a SymPy node: :math:`\mathrm{d}F` of a scalar or of a matrix.

In a derivation by differentials (Magnus & Neudecker, *Matrix Differential Calculus*,
3rd ed., 2019, ch. 5 and 9) every line is an expression in the variable :math:`W` and its
differential :math:`\mathrm{d}W`, a matrix of :math:`W`'s shape. ``dW`` is a
:class:`Direction`: an ordinary matrix symbol (the direction of the change), so a line
with no unevaluated differential is an ordinary expression in ``W`` and ``dW``.
:class:`ScalarDifferential` and :class:`MatrixDifferential` are the not-yet-expanded
:math:`\mathrm{d}F`; their value is the directional derivative

.. math:: \mathrm{d}F = \frac{\partial}{\partial t} F(W + t\,\mathrm{d}W)\Big|_{t=0}
          = \sum_{ij} \frac{\partial F}{\partial W_{ij}}\,\mathrm{d}W_{ij},

which is how :mod:`symdl.derive.differentials_check` evaluates them.
"""

from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixExpr

from symdl.ops import is_array

__all__ = ["Direction", "MatrixDifferential", "ScalarDifferential", "d", "differentials_in"]


class Direction(sp.MatrixSymbol):  # type: ignore[misc]
    r"""``dW``: the differential of the variable ``W``, a matrix symbol of ``W``'s shape."""

    @property
    def variable_name(self) -> str:
        return str(self.name)[1:]


class ScalarDifferential(sp.Expr):
    r""":math:`\mathrm{d}F` of a scalar expression ``F``, not yet expanded."""

    is_commutative = True

    def __new__(cls, arg: sp.Basic) -> ScalarDifferential:
        return sp.Expr.__new__(cls, arg)  # type: ignore[return-value]

    @property
    def arg(self) -> sp.Basic:
        return self.args[0]


class MatrixDifferential(MatrixExpr):  # type: ignore[misc]
    r""":math:`\mathrm{d}F` of a matrix expression ``F`` (same shape), not yet expanded."""

    def __new__(cls, arg: sp.Basic) -> MatrixDifferential:
        return MatrixExpr.__new__(cls, arg)  # type: ignore[no-any-return]

    @property
    def arg(self) -> sp.Basic:
        return self.args[0]

    @property
    def shape(self) -> tuple[sp.Expr, sp.Expr]:
        return self.args[0].shape  # type: ignore[no-any-return]

    def _eval_transpose(self) -> None:
        return None  # (dF)ᵀ stays as written; d(Fᵀ) = (dF)ᵀ is a rule of its own


def differentials_in(expr: sp.Basic) -> list[sp.Basic]:
    """The unexpanded differentials in ``expr``, outermost first, left to right."""
    return [
        n
        for n in sp.preorder_traversal(expr)
        if isinstance(n, (ScalarDifferential, MatrixDifferential))
    ]


def d(expr: sp.Basic, var: sp.MatrixSymbol, dvar: Direction) -> sp.Basic:
    r""":math:`\mathrm{d}` ``expr``: ``dW`` for ``W`` itself, 0 for a constant (an
    expression free of ``W``), else an unexpanded :class:`ScalarDifferential` node."""
    if expr == var:
        return dvar
    if not expr.has(var):
        return sp.ZeroMatrix(*expr.shape) if is_array(expr) else sp.S.Zero
    if is_array(expr):
        return MatrixDifferential(expr)
    return ScalarDifferential(expr)
