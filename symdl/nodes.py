"""SymPy node classes symdl adds: the logistic sigmoid, softplus, and reductions of a matrix.

``sigmoid`` and ``softplus`` are functions with their textbook derivatives
(``σ' = σ(1 − σ)``, ``softplus' = σ``) so that derivatives come out in the form people
recognise; ``rewrite(exp)`` turns them into elementary functions for simplification.
``Entrywise`` applies a scalar function to every entry of a matrix expression, also of a
``1×1`` one. ``EntrySum`` and ``LogSumExp`` are scalar reductions over every entry of a matrix
expression; they stay unevaluated for symbolic dimensions and evaluate with ``doit`` on an
explicit matrix. ``AxisLogSumExp`` is log-sum-exp along one axis, the building block of
``softmax(A, axis=1)`` and its relatives.
"""

from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.matrices.expressions.matexpr import MatrixExpr

__all__ = [
    "AxisLogSumExp",
    "CatalogFunction",
    "EntrySum",
    "Entrywise",
    "FilledLike",
    "LogSumExp",
    "axis_log_softmax_argument",
    "catalog_function",
    "expand_catalog",
    "log_softmax_argument",
    "ndtr",
    "sigmoid",
    "softplus",
]


class sigmoid(sp.Function):
    r"""The logistic sigmoid :math:`\sigma(x) = 1/(1 + e^{-x})`."""

    nargs = 1

    @classmethod
    def eval(cls, arg):  # type: ignore[no-untyped-def]
        if arg.is_zero:
            return sp.S.Half
        if arg is sp.S.Infinity:
            return sp.S.One
        if arg is sp.S.NegativeInfinity:
            return sp.S.Zero
        return None

    def fdiff(self, argindex=1):  # type: ignore[no-untyped-def]
        s = sigmoid(self.args[0])
        return s * (1 - s)

    def _eval_rewrite_as_exp(self, arg, **kwargs):  # type: ignore[no-untyped-def]
        return 1 / (1 + sp.exp(-arg))

    def _eval_is_real(self):  # type: ignore[no-untyped-def]
        return self.args[0].is_real

    def _eval_is_positive(self):  # type: ignore[no-untyped-def]
        return self.args[0].is_real

    def _eval_evalf(self, prec):  # type: ignore[no-untyped-def]
        # the formula on the argument as it is: rewriting the whole tree to exp would turn
        # sin(2) into complex exponentials and leave a 1e-43 imaginary part
        return (1 / (1 + sp.exp(-self.args[0])))._eval_evalf(prec)

    def _latex(self, printer):  # type: ignore[no-untyped-def]
        return rf"\sigma\left({printer._print(self.args[0])}\right)"


class ndtr(sp.Function):
    r"""The standard normal CDF :math:`\Phi(x) = (1 + \operatorname{erf}(x/\sqrt2))/2`.

    Unlike ``erfc``, SymPy does not rewrite ``ndtr(−x)``, so the stable form survives.
    """

    nargs = 1

    @classmethod
    def eval(cls, arg):  # type: ignore[no-untyped-def]
        if arg.is_zero:
            return sp.S.Half
        if arg is sp.S.Infinity:
            return sp.S.One
        if arg is sp.S.NegativeInfinity:
            return sp.S.Zero
        return None

    def fdiff(self, argindex=1):  # type: ignore[no-untyped-def]
        u = self.args[0]
        return sp.exp(-(u**2) / 2) / sp.sqrt(2 * sp.pi)

    def _eval_rewrite_as_erf(self, arg, **kwargs):  # type: ignore[no-untyped-def]
        return (1 + sp.erf(arg / sp.sqrt(2))) / 2

    def _eval_is_real(self):  # type: ignore[no-untyped-def]
        return self.args[0].is_real

    def _eval_is_positive(self):  # type: ignore[no-untyped-def]
        return self.args[0].is_real

    def _eval_evalf(self, prec):  # type: ignore[no-untyped-def]
        return self.rewrite(sp.erf)._eval_evalf(prec)

    def _latex(self, printer):  # type: ignore[no-untyped-def]
        return rf"\Phi\left({printer._print(self.args[0])}\right)"


class softplus(sp.Function):
    r"""Softplus :math:`\log(1 + e^{x})`, whose derivative is the sigmoid."""

    nargs = 1

    @classmethod
    def eval(cls, arg):  # type: ignore[no-untyped-def]
        if arg.is_zero:
            return sp.log(2)
        return None

    def fdiff(self, argindex=1):  # type: ignore[no-untyped-def]
        return sigmoid(self.args[0])

    def _eval_rewrite_as_exp(self, arg, **kwargs):  # type: ignore[no-untyped-def]
        return sp.log(1 + sp.exp(arg))

    def _eval_is_real(self):  # type: ignore[no-untyped-def]
        return self.args[0].is_real

    def _eval_is_positive(self):  # type: ignore[no-untyped-def]
        return self.args[0].is_real

    def _eval_evalf(self, prec):  # type: ignore[no-untyped-def]
        return sp.log(1 + sp.exp(self.args[0]))._eval_evalf(prec)

    def _latex(self, printer):  # type: ignore[no-untyped-def]
        return rf"\operatorname{{softplus}}\left({printer._print(self.args[0])}\right)"


class Entrywise(ElementwiseApplyFunction):  # type: ignore[misc]
    r"""The scalar function ``function`` (a ``Lambda``) applied to every entry of ``expr``.

    SymPy's ``ElementwiseApplyFunction`` applies the function to a ``1×1`` matrix as a
    whole: :math:`\sigma(d)(1 - \sigma(d))` at :math:`d = W^\top u` becomes
    ``1 − matrix`` (an error), ``max(0, d)`` compares a matrix, and :math:`d^2` becomes a
    matrix power. This node never does that: :math:`f\circ(A)` has entries
    :math:`f(A_{ij})` for every shape, ``1×1`` included, and rebuilds (``xreplace``,
    ``subs``) keep it so.
    """

    def __new__(cls, function, expr):  # type: ignore[no-untyped-def]
        if not isinstance(expr, sp.Basic) or not getattr(expr, "is_Matrix", False):
            raise ValueError(f"Entrywise: {expr} must be a matrix expression")
        if not isinstance(function, sp.Lambda):
            d = sp.Dummy("d")
            function = sp.Lambda(d, function(d))
        if len(function.variables) != 1:
            raise ValueError(f"Entrywise: {function} must take one argument")
        return MatrixExpr.__new__(cls, function, expr)


class _Reduction(sp.Expr):
    """A scalar computed from every entry of one matrix expression."""

    is_commutative = True
    symbol = ""
    latex_name = ""

    def __new__(cls, arg: sp.Basic):  # type: ignore[no-untyped-def]
        if isinstance(arg, sp.Mul) and any(isinstance(a, MatrixExpr) for a in arg.args):
            arg = sp.MatMul(*arg.args)  # SymPy's factor_terms rebuilds c·A as a plain Mul
        if not isinstance(arg, (MatrixExpr, sp.MatrixBase)):
            raise TypeError(f"{cls.__name__} takes a matrix expression, got {arg!r}")
        if isinstance(arg, sp.MatrixBase):
            arg = sp.ImmutableMatrix(arg)
        return sp.Expr.__new__(cls, arg)

    @property
    def arg(self) -> sp.Basic:
        return self.args[0]

    def _eval_is_real(self):  # type: ignore[no-untyped-def]
        return True

    def _sympystr(self, printer):  # type: ignore[no-untyped-def]
        return f"{self.symbol}({printer._print(self.arg)})"

    def _latex(self, printer):  # type: ignore[no-untyped-def]
        return rf"\operatorname{{{self.latex_name}}}\left({printer._print(self.arg)}\right)"


class EntrySum(_Reduction):
    r"""The sum of all entries, :math:`\sum_{ij} X_{ij}`."""

    symbol = "sum"
    latex_name = "sum"

    def doit(self, **hints):  # type: ignore[no-untyped-def]
        arg = self.arg.doit(**hints) if hints.get("deep", True) else self.arg
        if isinstance(arg, sp.MatrixBase):
            return sp.Add(*arg)
        return self.func(arg)


class LogSumExp(_Reduction):
    r"""Log-sum-exp over all entries, :math:`\log \sum_{ij} e^{X_{ij}}`."""

    symbol = "logsumexp"
    latex_name = "logsumexp"

    def doit(self, **hints):  # type: ignore[no-untyped-def]
        arg = self.arg.doit(**hints) if hints.get("deep", True) else self.arg
        if isinstance(arg, sp.MatrixBase):
            return sp.log(sp.Add(*[sp.exp(v) for v in arg]))
        return self.func(arg)


class FilledLike(MatrixExpr):  # type: ignore[misc]
    """An array of one constant with the shape of another: ``ones_like(a)``, ``zeros_like(a)``.

    It keeps its argument so that it prints back as written and carries its shape even
    when the dimensions are symbolic.
    """

    def __new__(cls, arg: sp.Basic, value: sp.Basic):  # type: ignore[no-untyped-def]
        return MatrixExpr.__new__(cls, arg, sp.Integer(value) if isinstance(value, int) else value)

    @property
    def arg(self) -> sp.Basic:
        return self.args[0]

    @property
    def value(self) -> sp.Basic:
        return self.args[1]

    @property
    def shape(self):  # type: ignore[no-untyped-def]
        return self.arg.shape

    def _entry(self, i, j, **kwargs):  # type: ignore[no-untyped-def]
        return self.value

    def _eval_transpose(self):  # type: ignore[no-untyped-def]
        return sp.OneMatrix(*self.shape[::-1]) * self.value

    def _sympystr(self, printer):  # type: ignore[no-untyped-def]
        name = "ones_like" if self.value == 1 else "zeros_like" if self.value == 0 else "full_like"
        return f"{name}({printer._print(self.arg)})"


class AxisLogSumExp(MatrixExpr):  # type: ignore[misc]
    r"""Log-sum-exp along one axis, keeping that axis (NumPy's ``keepdims=True``).

    For an :math:`n \times m` matrix :math:`A`, ``axis=1`` gives the :math:`n \times 1`
    column :math:`(\log \sum_j e^{A_{ij}})_i` (one entry per row) and ``axis=0`` the
    :math:`1 \times m` row :math:`(\log \sum_i e^{A_{ij}})_j`. Row-wise softmax is
    :math:`\exp\circ(A - \operatorname{lse}_1(A)\,\mathbf 1^\top)` (Vaswani et al.,
    *Attention is all you need*, 2017, §3.2.1).
    """

    def __new__(cls, arg: sp.Basic, axis: int | sp.Integer):  # type: ignore[no-untyped-def]
        if not isinstance(arg, (MatrixExpr, sp.MatrixBase)):
            raise TypeError(f"AxisLogSumExp takes a matrix expression, got {arg!r}")
        if isinstance(arg, sp.MatrixBase):
            arg = sp.ImmutableMatrix(arg)
        if int(axis) not in (0, 1):
            raise ValueError(f"AxisLogSumExp: axis must be 0 or 1, got {axis}")
        return MatrixExpr.__new__(cls, arg, sp.Integer(int(axis)))

    @property
    def arg(self) -> sp.Basic:
        return self.args[0]

    @property
    def axis(self) -> int:
        return int(self.args[1])

    @property
    def shape(self):  # type: ignore[no-untyped-def]
        rows, cols = self.arg.shape
        return (rows, 1) if self.axis == 1 else (1, cols)

    def _entry(self, i, j, **kwargs):  # type: ignore[no-untyped-def]
        k = sp.Dummy("k", integer=True)
        rows, cols = self.arg.shape
        if self.axis == 1:
            return sp.log(sp.Sum(sp.exp(self.arg[i, k]), (k, 0, cols - 1)))
        return sp.log(sp.Sum(sp.exp(self.arg[k, j]), (k, 0, rows - 1)))

    def doit(self, **hints):  # type: ignore[no-untyped-def]
        arg = self.arg.doit(**hints) if hints.get("deep", True) else self.arg
        if isinstance(arg, sp.MatrixBase):
            lines = [arg.row(i) for i in range(arg.rows)] if self.axis == 1 else None
            if lines is None:
                lines = [arg.col(j) for j in range(arg.cols)]
            values = [sp.log(sp.Add(*[sp.exp(v) for v in line])) for line in lines]
            shape = (len(values), 1) if self.axis == 1 else (1, len(values))
            return sp.ImmutableMatrix(*shape, values)
        return self.func(arg, self.axis)

    def _sympystr(self, printer):  # type: ignore[no-untyped-def]
        return f"logsumexp({printer._print(self.arg)}, axis={self.axis})"

    def _latex(self, printer):  # type: ignore[no-untyped-def]
        return _axis_latex("logsumexp", printer._print(self.arg), self.axis)


def _axis_latex(name: str, arg: str, axis: int) -> str:
    """``\\operatorname{softmax}_{\\mathrm{row}}(…)`` for axis 1, ``_{\\mathrm{col}}`` for 0."""
    along = "row" if axis == 1 else "col"
    return rf"\operatorname{{{name}}}_{{\mathrm{{{along}}}}}\left({arg}\right)"


def axis_log_softmax_argument(e: sp.Basic) -> tuple[sp.Basic, int] | None:
    """``(a, axis)`` when ``e`` is ``log_softmax(a, axis=…)`` as the parser builds it.

    That is ``a − lse₁(a)·𝟏ᵀ`` for ``axis=1`` and ``a − 𝟏·lse₀(a)`` for ``axis=0``, with
    ``lse`` an :class:`AxisLogSumExp`; anything else gives None.
    """
    if not isinstance(e, sp.MatAdd) or len(e.args) != 2:
        return None
    for a, shift in (e.args, e.args[::-1]):
        if not isinstance(shift, sp.MatMul) or len(shift.args) != 3 or shift.args[0] != -1:
            continue
        first, second = shift.args[1:]
        for lse, ones in ((first, second), (second, first)):
            if (
                isinstance(lse, AxisLogSumExp)
                and isinstance(ones, sp.OneMatrix)
                and lse.arg == a
                and (lse is first) == (lse.axis == 1)
            ):
                return a, lse.axis
    return None


def log_softmax_argument(e: sp.Basic) -> sp.Basic | None:
    """``a`` when ``e`` is ``a − logsumexp(a)·𝟙`` (what ``log_softmax(a)`` parses to), else None.

    A transposed form ``aᵀ − logsumexp(a)·𝟙`` gives ``Transpose(a)``.
    """
    if not isinstance(e, sp.MatAdd) or len(e.args) != 2:
        return None
    shifts = [t for t in e.args if t.has(LogSumExp)]
    rest = [t for t in e.args if not t.has(LogSumExp)]
    if len(shifts) != 1 or len(rest) != 1:
        return None
    found = shifts[0].atoms(LogSumExp)
    if len(found) != 1:
        return None
    (lse,) = found
    if shifts[0] != sp.MatMul(-lse, sp.OneMatrix(*rest[0].shape)).doit() and not (
        isinstance(shifts[0], sp.MatMul)
        and sp.Mul(*[a for a in shifts[0].args if not isinstance(a, sp.MatrixExpr)]) == -lse
        and all(isinstance(a, sp.OneMatrix) for a in shifts[0].args if isinstance(a, sp.MatrixExpr))
    ):
        return None
    if rest[0] == lse.arg:
        return rest[0]
    if rest[0] == sp.Transpose(lse.arg).doit():
        return sp.Transpose(lse.arg)
    return None


class CatalogFunction(sp.Function):
    """A catalogue activation applied in the input language, e.g. ``gelu(x)``.

    A named node, so expressions print, read and differentiate as people write them: its
    derivative is the catalogue's canonical derivative, and :func:`expand_catalog` writes it
    out (evaluation, code generation and the symbolic checks all see the formula). Concrete
    classes are made by :func:`catalog_function`.
    """

    nargs = 1
    variable: sp.Symbol
    body: sp.Expr
    derivative_body: sp.Expr
    latex_name: str = ""

    def expansion(self) -> sp.Expr:
        return self.body.xreplace({self.variable: self.args[0]})

    def fdiff(self, argindex=1):  # type: ignore[no-untyped-def]
        return self.derivative_body.xreplace({self.variable: self.args[0]})

    def _eval_is_real(self):  # type: ignore[no-untyped-def]
        return self.args[0].is_real

    def _eval_evalf(self, prec):  # type: ignore[no-untyped-def]
        return self.expansion()._eval_evalf(prec)

    def _latex(self, printer):  # type: ignore[no-untyped-def]
        return rf"{self.latex_name}\left({printer._print(self.args[0])}\right)"


def catalog_function(
    name: str, variable: sp.Symbol, body: sp.Expr, derivative: sp.Expr, latex_name: str
) -> type[CatalogFunction]:
    """A :class:`CatalogFunction` subclass ``name`` for ``body``, a formula in ``variable``."""
    attrs = {
        "variable": variable,
        "body": body,
        "derivative_body": derivative,
        "latex_name": latex_name,
        "__module__": __name__,
    }
    return type(name, (CatalogFunction,), attrs)


def expand_catalog(expr: sp.Basic) -> sp.Basic:
    """``expr`` with every catalogue function written out as its formula."""
    if not expr.has(CatalogFunction):
        return expr
    return expr.replace(lambda n: isinstance(n, CatalogFunction), lambda n: n.expansion())
