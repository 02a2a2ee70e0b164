r"""Text and LaTeX for matrix-calculus results.

Text is the input language (what :func:`symdl.to_text` prints), with three readable
forms on top: ``norm(W)`` for :math:`\sqrt{\operatorname{sum}(W^{\circ 2})}`, a quotient
``W / norm(W)`` for a product with a scalar denominator, and ``I`` for an identity matrix
(the one form with no input-language spelling). LaTeX follows the Matrix Cookbook's
notation: bold upright matrices and vectors, :math:`\odot` for the Hadamard product,
:math:`^\top` for the transpose, :math:`\mathbf 1` for the all-ones array.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.printing.latex import LatexPrinter

from symdl.derive.matrix_rules import logdet_argument, norm_argument
from symdl.derive.matrix_tidy import axis_softmax_argument, is_softmax
from symdl.nodes import (
    EntrySum,
    LogSumExp,
    axis_log_softmax_argument,
    log_softmax_argument,
)
from symdl.ops import is_array
from symdl.unparse import _ADD, _ATOM, _MUL, _NEG
from symdl.unparse import _Printer as _TextPrinter

__all__ = ["latex_name", "to_latex", "to_readable_text"]


def to_readable_text(expr: sp.Basic, like: Iterable[sp.Basic] = ()) -> str:
    """Input-language text for ``expr``, with ``norm``, quotients and ``I`` (see above).

    An all-ones matrix inside a matrix product is written ``ones_like(A)`` for an array
    ``A`` of its shape in ``expr`` or in ``like`` (arrays or array expressions, tried in
    order), else ``ones_like(A).T`` for one of the transposed shape, else as a product of
    ones along axes (``ones_like(sum(Q, axis=1)) @ ones_like(sum(V, axis=0))`` for
    an ``n×c`` 𝟏𝟏ᵀ), each tried with the variables before the
    longer array expressions (``ones(r, c)``, which does not parse, when none fits), not
    ``1``, which the input language reads as a broadcast scalar.
    """
    printer = _Readable()
    printer.arrays = sorted(expr.atoms(sp.MatrixSymbol), key=lambda m: m.name) + list(like)
    if isinstance(expr, sp.OneMatrix):
        return printer.ones(expr)
    if isinstance(expr, sp.ZeroMatrix):
        return printer.ones(sp.OneMatrix(*expr.shape)).replace("ones", "zeros", 1)
    if (
        isinstance(expr, sp.MatMul)
        and isinstance(expr.args[-1], sp.OneMatrix)
        and not any(is_array(a) for a in expr.args[:-1])
    ):
        # a constant array on its own: c*ones_like(A), since a bare c would be a scalar
        scalar = sp.Mul(*expr.args[:-1])
        return f"{printer.wrap(scalar, _MUL - 1)}*{printer.ones(expr.args[-1])}"
    return printer.text(expr)[0]


def to_latex(expr: sp.Basic) -> str:
    """LaTeX for a matrix expression in the Matrix Cookbook's notation."""
    return _Latex({"order": "none"}).doprint(expr)


def latex_name(name: str) -> str:
    r"""``W1`` → ``\mathbf{W}_{1}``; ``dz1`` → ``\boldsymbol{\delta}_{\mathbf{z}_{1}}``."""
    if name.startswith("d") and len(name) > 1 and name[1:2].isalpha() and name[1] != "e":
        return rf"\boldsymbol{{\delta}}_{{{latex_name(name[1:])}}}"
    match = re.fullmatch(r"([A-Za-z]+?)_?(\d+)", name)
    if match:
        return rf"\mathbf{{{match.group(1)}}}_{{{match.group(2)}}}"
    return rf"\mathbf{{{name}}}"


class _Readable(_TextPrinter):
    def __init__(self) -> None:
        super().__init__()
        self.arrays: list[sp.Basic] = []

    def ones(self, m: sp.OneMatrix) -> str:
        arrays = [a for a in self.arrays if not isinstance(a, _CONSTANT)]
        variables = [a for a in arrays if isinstance(a, sp.MatrixSymbol)]
        # the variables first, then any array of the function (a long subexpression makes
        # ones_like(...) hard to read, so it is the last resort before ones(r, c))
        for candidates in (variables, arrays):
            like = next((a for a in candidates if a.shape == m.shape), None)
            if like is not None:
                return f"ones_like({_TextPrinter().text(like)[0]})"
            like = next((a for a in candidates if a.shape == m.shape[::-1]), None)
            if like is not None:
                return f"ones_like({_TextPrinter().text(like)[0]}).T"
            rows, cols = m.shape
            # 𝟏 (a column), 𝟏ᵀ (a row) or 𝟏𝟏ᵀ, each through a sum along an axis
            column = self._ones_along(rows, 1, candidates) if rows != 1 else ""
            row = self._ones_along(cols, 0, candidates) if cols != 1 else ""
            if column is not None and row is not None and (column or row):
                return " @ ".join(t for t in (column, row) if t)
        return f"ones({m.shape[0]}, {m.shape[1]})"

    def _ones_along(self, length: sp.Basic, axis: int, arrays: list[sp.Basic]) -> str | None:
        """A column (axis 1) or row (axis 0) of ones of ``length``, as ``ones_like`` of a sum
        along an axis of an array with that dimension: ``ones_like(sum(A, axis=0)).T``."""
        for a in arrays:
            text = _TextPrinter().text(a)[0]
            want = (length, 1) if axis == 1 else (1, length)
            if a.shape == want:
                return f"ones_like({text})"
            if a.shape == want[::-1]:
                return f"ones_like({text}).T"
            keep, other = (0, 1) if axis == 1 else (1, 0)
            if a.shape[keep] == length and a.shape[other] != 1:
                return f"ones_like(sum({text}, axis={axis}))"
            if a.shape[other] == length and a.shape[keep] != 1:
                return f"ones_like(sum({text}, axis={1 - axis})).T"
        return None

    def text(self, e: sp.Basic) -> tuple[str, int]:
        if e in self.bound:
            return self.bound[e]
        if isinstance(e, sp.MatMul) and any(isinstance(a, sp.OneMatrix) for a in e.args):
            mats = [a for a in e.args if is_array(a)]
            if len(mats) > 1:  # a product with 𝟙, not a broadcast scalar
                scalars = [a for a in e.args if not is_array(a)]
                parts = [
                    self.ones(m) if isinstance(m, sp.OneMatrix) else self.wrap(m, _MUL)
                    for m in mats
                ]
                num, den = sp.fraction(sp.Mul(*scalars))
                head = self.wrap(num, _MUL - 1) + "*" if num != 1 else ""
                tail = f" / {self.wrap(den, _MUL)}" if den != 1 else ""
                return head + " @ ".join(parts) + tail, _MUL
        if isinstance(e, sp.Identity):
            return "I", _ATOM
        inner = norm_argument(e) if isinstance(e, sp.Pow) else None
        if inner is not None:
            return f"norm({self.text(inner)[0]})", _ATOM
        if isinstance(e, sp.Pow) and e.exp == -sp.S.Half and norm_argument(sp.sqrt(e.base)):
            return f"1/norm({self.text(norm_argument(sp.sqrt(e.base)))[0]})", _MUL
        if (
            isinstance(e, sp.MatAdd)
            and log_softmax_argument(e) is None
            and axis_log_softmax_argument(e) is None
        ):
            terms = sorted(e.args, key=_is_negative)  # subtractions after the first term
            if terms != list(e.args):
                return self._add(terms), _ADD
        if isinstance(e, sp.MatMul) and e.args[0] == -1 and len(e.args) > 2:
            return f"-{self.wrap(sp.MatMul(*e.args[1:]), _NEG)}", _NEG
        if isinstance(e, sp.MatMul):
            scalars = [a for a in e.args if not is_array(a)]
            mats = [a for a in e.args if is_array(a)]
            num, den = sp.fraction(sp.Mul(*scalars))
            if den != 1 and mats:
                top = self.wrap(sp.MatMul(num, *mats) if num != 1 else _product(mats), _MUL - 1)
                return f"{top} / {self.wrap(den, _MUL)}", _MUL
        return super().text(e)


def _along(name: str, arg: str, axis: int) -> str:
    r"""``\operatorname{softmax}_{\mathrm{row}}(…)``: along axis 1 each row, along 0 each column."""
    along = "row" if axis == 1 else "col"
    return rf"\operatorname{{{name}}}_{{\mathrm{{{along}}}}}\left({arg}\right)"


_CONSTANT = (sp.OneMatrix, sp.ZeroMatrix, sp.Identity)


def _is_negative(term: sp.Basic) -> bool:
    return isinstance(term, sp.MatMul) and term.args[0].could_extract_minus_sign()


def _product(mats: list[sp.Basic]) -> sp.Basic:
    return mats[0] if len(mats) == 1 else sp.MatMul(*mats)


class _Latex(LatexPrinter):  # type: ignore[misc]
    def _print_MatrixSymbol(self, e: sp.MatrixSymbol) -> str:
        return latex_name(e.name)

    def _print_Transpose(self, e: sp.Transpose) -> str:
        inner = self._print(e.arg)
        if not isinstance(e.arg, sp.MatrixSymbol):
            inner = rf"\left({inner}\right)"
        return rf"{inner}^\top"

    def _print_Inverse(self, e: sp.Inverse) -> str:
        inner = self._print(e.arg)
        if not isinstance(e.arg, sp.MatrixSymbol):
            inner = rf"\left({inner}\right)"
        return rf"{inner}^{{-1}}"

    def _print_HadamardProduct(self, e: sp.HadamardProduct) -> str:
        return r" \odot ".join(self._wrapped(a) for a in e.args)

    def _print_HadamardPower(self, e: sp.HadamardPower) -> str:
        return rf"{self._wrapped(e.base)}^{{\circ {self._print(e.exp)}}}"

    def _print_MatMul(self, e: sp.MatMul) -> str:
        scalars = [a for a in e.args if not is_array(a)]
        mats = [a for a in e.args if is_array(a)]
        coeff = sp.Mul(*scalars)
        body = " ".join(self._wrapped(m) for m in mats)
        if coeff == 1:
            return body
        if coeff == -1:
            return f"-{body}"
        head = self._print(coeff)
        if isinstance(coeff, sp.Add):
            head = rf"\left({head}\right)"
        return f"{head} {body}"

    def _print_MatAdd(self, e: sp.MatAdd) -> str:
        if log_softmax_argument(e) is not None:
            return (
                rf"\operatorname{{log\_softmax}}\left({self._print(log_softmax_argument(e))}\right)"
            )
        along = axis_log_softmax_argument(e)
        if along is not None:
            return _along(r"log\_softmax", self._print(along[0]), along[1])
        text = ""
        for i, t in enumerate(sorted(e.args, key=_is_negative)):
            piece = self._print(t)
            if i and piece.startswith("-"):
                text += " - " + piece[1:]
            else:
                text += (" + " if i else "") + piece
        return text

    def _print_OneMatrix(self, e: sp.OneMatrix) -> str:
        # a row of ones is the transpose of the all-ones column, 𝟏ᵀ (as in (M𝟏)𝟏ᵀ)
        return r"\mathbf{1}^\top" if e.shape[0] == 1 and e.shape[1] != 1 else r"\mathbf{1}"

    def _print_Identity(self, e: sp.Identity) -> str:
        return r"\mathbf{I}"

    def _print_EntrySum(self, e: EntrySum) -> str:
        return rf"\mathbf{{1}}^\top {self._wrapped(e.arg)} \mathbf{{1}}"

    def _print_LogSumExp(self, e: LogSumExp) -> str:
        return rf"\operatorname{{logsumexp}}\left({self._print(e.arg)}\right)"

    def _print_Pow(self, e: sp.Pow, *args: object) -> str:
        inner = norm_argument(e)
        if inner is not None:
            return rf"\left\lVert {self._print(inner)} \right\rVert_F"
        return super()._print_Pow(e, *args)  # type: ignore[no-any-return]

    def _print_log(self, e: sp.log, *args: object) -> str:
        inner = logdet_argument(e)
        if inner is not None:
            return rf"\log\det {self._wrapped(inner)}"
        return super()._print_Function(e, *args)  # type: ignore[no-any-return]

    def _print_ElementwiseApplyFunction(self, e: ElementwiseApplyFunction) -> str:
        if is_softmax(e):
            return (
                rf"\operatorname{{softmax}}\left({self._print(log_softmax_argument(e.expr))}\right)"
            )
        along = axis_softmax_argument(e)
        if along is not None:
            return _along("softmax", self._print(along[0]), along[1])
        (var,), body = e.function.variables, e.function.expr
        slot = sp.Symbol("SLOT")
        text = self._print(body.xreplace({var: slot}))
        if isinstance(body, sp.Add):
            text = rf"\left({text}\right)"
        # a function's own parentheses are enough: θ(Wx), not θ((Wx))
        plain = self._print(e.expr)
        for close in (r"\right)", r" \right)"):
            text = text.replace(rf"\left(SLOT{close}", rf"\left({plain}{close}")
        return text.replace("SLOT", self._wrapped(e.expr, atoms_only=True))

    def _wrapped(self, e: sp.Basic, atoms_only: bool = False) -> str:
        text = self._print(e)
        simple = isinstance(e, (sp.MatrixSymbol, sp.Symbol, sp.Transpose, sp.Inverse))
        if not atoms_only:
            simple = simple or isinstance(e, (ElementwiseApplyFunction, sp.OneMatrix))
        return text if simple else rf"\left({text}\right)"
