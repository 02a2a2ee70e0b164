r"""Readable forms of matrix expressions: the rewriting that keeps gradients textbook-shaped.

Every rule is an identity that holds for all sizes, so a tidied expression is the same
function as the original:

* transposes move inward through products, :math:`(AB)^\top = B^\top A^\top`,
  :math:`(A^\top)^\top = A`, and a matrix assumed symmetric is its own transpose; the
  transpose of a sum or of an entrywise function stays outside (:math:`\mathbf a_1^\top`,
  not :math:`\tanh(\mathbf x^\top W_1^\top + \mathbf b_1^\top)`), so the forward
  quantities keep their names; :math:`(X^{-1})^\top` stays as the Matrix Cookbook writes it;
* identity matrices and ``1×1`` all-ones factors drop out of products, scalar factors
  leave Hadamard products (:math:`(cA) \odot B = c\,(A \odot B)`), an all-ones factor of a
  Hadamard product drops out;
* sums of entries fold: :math:`\mathbf 1^\top (cA)\mathbf 1 = c\,\mathbf 1^\top A \mathbf
  1`, :math:`\operatorname{sum}(\mathbf 1_{r\times c}) = rc`, and the entries of a
  probability vector sum to 1;
* like terms of a sum collect (SymPy's canonical ``MatAdd``).
"""

from __future__ import annotations

from collections.abc import Mapping

import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.matrices.expressions.diagonal import DiagMatrix
from sympy.matrices.expressions.matexpr import MatrixExpr

from symdl.nodes import EntrySum, Entrywise, axis_log_softmax_argument, log_softmax_argument
from symdl.ops import is_array
from symdl.shapes import shape_of

__all__ = ["Tidy", "axis_softmax_argument", "diff_off_jumps", "factor_common", "is_softmax"]

_SELF_TRANSPOSED = ("symmetric", "spd", "diagonal")


def is_softmax(e: sp.Basic) -> bool:
    """``e`` is ``exp∘(z − logsumexp(z)·𝟙)``, the form ``softmax(z)`` parses to."""
    if not isinstance(e, ElementwiseApplyFunction):
        return False
    (var,), body = e.function.variables, e.function.expr
    return body == sp.exp(var) and log_softmax_argument(e.expr) is not None


def axis_softmax_argument(e: sp.Basic) -> tuple[sp.Basic, int] | None:
    """``(z, axis)`` when ``e`` is ``softmax(z, axis=…)`` as the parser builds it, else None."""
    if not isinstance(e, ElementwiseApplyFunction):
        return None
    (var,), body = e.function.variables, e.function.expr
    return axis_log_softmax_argument(e.expr) if body == sp.exp(var) else None


def factor_common(e: sp.Basic) -> sp.Basic:
    r"""Sums of products sharing their last (or first) factor, factored:
    :math:`A\mathbf x + A^\top \mathbf x = (A + A^\top)\mathbf x`."""
    if isinstance(e, (sp.MatrixSymbol, sp.Symbol)) or not e.args:
        return e
    if isinstance(e, ElementwiseApplyFunction):
        return Entrywise(e.function, factor_common(e.expr))
    if not isinstance(e, sp.MatAdd):
        if isinstance(e, (MatrixExpr, EntrySum, sp.Expr)) and not isinstance(e, sp.Lambda):
            return e.func(*[factor_common(a) for a in e.args])
        return e
    terms = [factor_common(t) for t in e.args]
    for side in (-1, 0):
        groups: dict[sp.Basic, list[sp.Basic]] = {}
        for t in terms:
            if isinstance(t, sp.MatMul) and is_array(t.args[side]) and len(t.args) > 1:
                groups.setdefault(t.args[side], []).append(t)
        common = next((k for k, v in groups.items() if len(v) == len(terms)), None)
        if common is not None:
            rest = [sp.MatMul(*(t.args[:-1] if side == -1 else t.args[1:])) for t in terms]
            rest = [r.args[0] if isinstance(r, sp.MatMul) and len(r.args) == 1 else r for r in rest]
            inner = sp.MatAdd(*sorted(rest, key=sp.default_sort_key))
            return sp.MatMul(inner, common) if side == -1 else sp.MatMul(common, inner)
    return sp.MatAdd(*terms)


class Tidy:
    """Rewrites expressions bottom-up into the readable forms listed in the module doc."""

    def __init__(self, assume: Mapping[str, str] | None = None) -> None:
        self.assume = dict(assume or {})
        self.cache: dict[sp.Basic, sp.Basic] = {}

    def __call__(self, e: sp.Basic) -> sp.Basic:
        hit = self.cache.get(e)
        if hit is None:
            hit = self._tidy(e)
            self.cache[e] = hit
        return hit

    # -- constructors that keep the forms tidy ------------------------------------------

    def matmul(self, *args: sp.Basic) -> sp.Basic:
        coeff: sp.Expr = sp.S.One
        mats: list[sp.Basic] = []
        for a in args:
            if isinstance(a, sp.MatMul):
                for b in a.args:
                    if is_array(b):
                        mats.append(b)
                    else:
                        coeff = coeff * b
            elif is_array(a):
                mats.append(a)
            else:
                coeff = coeff * a
        if not mats:
            return coeff
        shape = (mats[0].shape[0], mats[-1].shape[1])
        if coeff == 0 or any(isinstance(m, sp.ZeroMatrix) for m in mats):
            return sp.ZeroMatrix(*shape)
        kept = [m for m in self._fold_ones(mats) if not _is_unit(m)]
        if not kept:
            kept = [mats[0] if len(mats) == 1 else sp.Identity(shape[0])]
        if len(kept) == 2 and all(isinstance(m, sp.OneMatrix) for m in kept):
            inner = kept[0].shape[1]
            coeff, kept = coeff * inner, [sp.OneMatrix(*shape)]
        body = kept[0] if len(kept) == 1 else sp.MatMul(*kept)
        if coeff == 1:
            return body
        if isinstance(body, sp.MatMul):
            return sp.MatMul(coeff, *body.args)
        return sp.MatMul(coeff, body)

    def _fold_ones(self, mats: list[sp.Basic]) -> list[sp.Basic]:
        """Sums with 𝟏 that have a name: ``𝟏ᵀp = 1`` for a probability vector ``p`` (its
        entries sum to 1), ``𝟏ᵀ diag(v) = vᵀ`` and ``diag(v) 𝟏 = v``."""
        out: list[sp.Basic] = []
        for m in mats:
            last = out[-1] if out else None
            row_of_ones = isinstance(last, sp.OneMatrix) and last.shape[0] == 1
            if row_of_ones and self.assume.get(getattr(m, "name", "")) == "probability":
                out[-1] = sp.OneMatrix(1, 1)
                continue
            if row_of_ones and _diagonal_of_column(m) is not None:
                out[-1] = self.transpose(_diagonal_of_column(m))
                continue
            if (
                isinstance(m, sp.OneMatrix)
                and m.shape[1] == 1
                and last is not None
                and _diagonal_of_column(last) is not None
            ):
                out[-1] = _diagonal_of_column(last)
                continue
            out.append(m)
        return out

    def matadd(self, *args: sp.Basic) -> sp.Basic:
        # like terms collect by their matrix part: 2A + 3A = 5A, A − A = 0
        groups: dict[sp.Basic, sp.Expr] = {}
        for a in args:
            for t in a.args if isinstance(a, sp.MatAdd) else (a,):
                if isinstance(t, sp.ZeroMatrix):
                    continue
                c, m = _split_coefficient(t)
                groups[m] = groups.get(m, sp.S.Zero) + c
        terms = [self.matmul(c, m) for m, c in groups.items() if c != 0]
        if not terms:
            return sp.ZeroMatrix(*shape_of(args[0]))
        if len(terms) == 1:
            return terms[0]
        return sp.MatAdd(*terms)

    def hadamard(self, *args: sp.Basic) -> sp.Basic:
        coeff: sp.Expr = sp.S.One
        factors: list[sp.Basic] = []
        for a in args:
            parts = a.args if isinstance(a, sp.HadamardProduct) else (a,)
            for p in parts:
                c, m = _split_coefficient(p)
                coeff = coeff * c
                factors.append(m)
        shape = shape_of(factors[0])
        if coeff == 0 or any(isinstance(f, sp.ZeroMatrix) for f in factors):
            return sp.ZeroMatrix(*shape)
        kept = [f for f in factors if not isinstance(f, sp.OneMatrix)]
        if not kept:
            body: sp.Basic = sp.OneMatrix(*shape)
        elif len(kept) == 1:
            body = kept[0]
        else:
            body = sp.HadamardProduct(*kept)
        return self.matmul(coeff, body)

    def transpose(self, e: sp.Basic) -> sp.Basic:
        if not is_array(e) or e.shape == (1, 1):
            return e  # a 1×1 matrix is its own transpose
        if isinstance(e, sp.MatrixSymbol):
            if self.assume.get(e.name) in _SELF_TRANSPOSED:
                return e
            return sp.Transpose(e)
        if isinstance(e, sp.Transpose):
            return e.arg
        if isinstance(e, (sp.Identity, DiagMatrix)):
            return e
        if isinstance(e, (sp.OneMatrix, sp.ZeroMatrix)):
            return e.func(e.shape[1], e.shape[0])
        if isinstance(e, sp.MatMul):
            return self.matmul(*[self.transpose(a) for a in reversed(e.args)])
        return sp.Transpose(e)

    def entry_sum(self, e: sp.Basic) -> sp.Basic:
        coeff, m = _split_coefficient(e)
        if isinstance(m, sp.ZeroMatrix) or coeff == 0:
            return sp.S.Zero
        if isinstance(m, sp.OneMatrix):
            return coeff * m.shape[0] * m.shape[1]
        if isinstance(m, sp.MatrixSymbol) and self.assume.get(m.name) == "probability":
            return coeff
        if is_softmax(m):
            return coeff
        if isinstance(m, sp.MatAdd):
            return coeff * sp.Add(*[self.entry_sum(t) for t in m.args])
        return coeff * EntrySum(m)

    def elementwise(self, fn: sp.Lambda, arg: sp.Basic) -> sp.Basic:
        (var,), body = fn.variables, fn.expr
        if body == var:
            return arg
        if not body.has(var):
            return self.matmul(body, sp.OneMatrix(*shape_of(arg)))
        return Entrywise(fn, arg)

    def power(self, base: sp.Basic, exp: sp.Basic) -> sp.Basic:
        if exp == 1:
            return base
        if exp == 0:
            return sp.OneMatrix(*shape_of(base))
        return sp.HadamardPower(base, exp)

    # -- the bottom-up pass -------------------------------------------------------------

    def _tidy(self, e: sp.Basic) -> sp.Basic:
        if not e.args or isinstance(e, (sp.MatrixSymbol, sp.Symbol)):
            return e
        if isinstance(e, (sp.OneMatrix, sp.ZeroMatrix, sp.Identity)):
            return e
        if is_softmax(e) or log_softmax_argument(e) is not None:
            return e  # the parser's own forms of softmax and log_softmax
        if axis_softmax_argument(e) is not None or axis_log_softmax_argument(e) is not None:
            return e  # and of the same along an axis
        if isinstance(e, ElementwiseApplyFunction):
            return self.elementwise(e.function, self(e.expr))
        if not isinstance(e, (MatrixExpr, EntrySum, sp.Add, sp.Mul, sp.Pow, sp.Function)):
            return e
        args = [self(a) for a in e.args]
        if isinstance(e, sp.MatMul):
            return self.matmul(*args)
        if isinstance(e, sp.MatAdd):
            return self.matadd(*args)
        if isinstance(e, sp.HadamardProduct):
            return self.hadamard(*args)
        if isinstance(e, sp.HadamardPower):
            return self.power(*args)
        if isinstance(e, sp.Transpose):
            return self.transpose(args[0])
        if isinstance(e, EntrySum):
            return self.entry_sum(args[0])
        return e.func(*args)


def _diagonal_of_column(m: sp.Basic) -> sp.Basic | None:
    """``v`` when ``m`` is ``diag(v)`` of a column vector ``v``, else None."""
    if isinstance(m, DiagMatrix) and m.args[0].shape[1] == 1:
        return m.args[0]
    return None


def _is_unit(m: sp.Basic) -> bool:
    if isinstance(m, sp.Identity):
        return True
    return isinstance(m, sp.OneMatrix) and m.shape == (1, 1)


def _split_coefficient(e: sp.Basic) -> tuple[sp.Expr, sp.Basic]:
    """``(c, M)`` with ``e = c·M`` and ``M`` free of scalar factors."""
    if isinstance(e, sp.MatMul):
        scalars = [a for a in e.args if not is_array(a)]
        mats = [a for a in e.args if is_array(a)]
        if scalars:
            body = mats[0] if len(mats) == 1 else sp.MatMul(*mats)
            return sp.Mul(*scalars), body
    return sp.S.One, e


def diff_off_jumps(f: sp.Expr, var: sp.Symbol) -> sp.Expr:
    """SymPy's derivative, with the Dirac delta of a step's derivative (``heaviside``,
    ``sign``) written as 0: its value away from the jump, where the derivative exists and
    where every check samples — and what a framework's backward pass computes."""
    out = sp.diff(f, var)
    if out.has(sp.DiracDelta):
        out = out.replace(lambda n: isinstance(n, sp.DiracDelta), lambda n: sp.S.Zero)
    return out
