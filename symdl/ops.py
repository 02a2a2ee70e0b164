"""NumPy semantics on SymPy expressions: the operators and functions of the input language.

Scalars are SymPy ``Expr``; arrays are SymPy matrix expressions. ``*``, ``/`` and ``**`` act
elementwise (Hadamard product and power), ``@`` is the matrix product, a scalar broadcasts
against an array, and scalar functions apply entry by entry. Shapes are checked before any
expression is built, so ``W @ x`` with mismatched dimensions is a ``ShapeError`` that names
both shapes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sympy as sp
from sympy.matrices.expressions.diagonal import DiagMatrix
from sympy.matrices.expressions.matexpr import MatrixExpr

from symdl.errors import ShapeError
from symdl.nodes import (
    AxisLogSumExp,
    EntrySum,
    Entrywise,
    FilledLike,
    LogSumExp,
    sigmoid,
    softplus,
)
from symdl.registry import Registry
from symdl.shapes import format_shape, shape_of

__all__ = [
    "ENTRY",
    "FUNCTIONS",
    "InputFunction",
    "add",
    "along_axis",
    "elementwise",
    "is_array",
    "matmul",
    "mul",
    "neg",
    "power",
    "sub",
    "transpose",
    "truediv",
]

#: The bound variable of every elementwise function, so that parsing the same text twice
#: gives equal expressions.
ENTRY = sp.Dummy("d", real=True)


def is_array(e: sp.Basic) -> bool:
    return isinstance(e, (MatrixExpr, sp.MatrixBase))


def _same_shape(op: str, a: sp.Basic, b: sp.Basic) -> None:
    if shape_of(a) != shape_of(b):
        raise ShapeError(
            f"{op}: shapes {format_shape(shape_of(a))} and {format_shape(shape_of(b))} differ "
            "(only a scalar broadcasts against an array)"
        )


def _broadcast(s: sp.Expr, like: sp.Basic) -> MatrixExpr:
    rows, cols = shape_of(like)
    return sp.MatMul(s, sp.OneMatrix(rows, cols)) if s != 1 else sp.OneMatrix(rows, cols)


def add(a: sp.Basic, b: sp.Basic) -> sp.Basic:
    if is_array(a) and is_array(b):
        _same_shape("+", a, b)
        return sp.MatAdd(a, b)
    if is_array(a):
        return a if b == 0 else sp.MatAdd(a, _broadcast(b, a))
    if is_array(b):
        return b if a == 0 else sp.MatAdd(_broadcast(a, b), b)
    return a + b


def neg(a: sp.Basic) -> sp.Basic:
    return sp.MatMul(-1, a) if is_array(a) else -a


def sub(a: sp.Basic, b: sp.Basic) -> sp.Basic:
    if is_array(a) or is_array(b):
        _same_or_scalar("-", a, b)
    return add(a, neg(b))


def _same_or_scalar(op: str, a: sp.Basic, b: sp.Basic) -> None:
    if is_array(a) and is_array(b):
        _same_shape(op, a, b)


def mul(a: sp.Basic, b: sp.Basic) -> sp.Basic:
    """Elementwise product; a scalar scales an array."""
    if is_array(a) and is_array(b):
        _same_shape("*", a, b)
        return sp.HadamardProduct(a, b)
    if is_array(a) or is_array(b):
        return sp.MatMul(a, b) if not is_array(a) else sp.MatMul(b, a)
    return a * b


def power(a: sp.Basic, b: sp.Basic) -> sp.Basic:
    """Elementwise power."""
    if is_array(b):
        if is_array(a):
            raise ShapeError("**: an array exponent needs a scalar base (array ** array)")
        return _entrywise(a**ENTRY, b)
    if is_array(a):
        return sp.HadamardPower(a, b)
    return a**b


def truediv(a: sp.Basic, b: sp.Basic) -> sp.Basic:
    """Elementwise quotient."""
    if is_array(b):
        return mul(a, sp.HadamardPower(b, -1))
    if is_array(a):
        return sp.MatMul(1 / b, a)
    return a / b


def matmul(a: sp.Basic, b: sp.Basic) -> sp.Basic:
    if not (is_array(a) and is_array(b)):
        which = "left" if not is_array(a) else "right"
        raise ShapeError(f"@: the {which} operand is a scalar; use * to scale")
    (_, inner_a), (inner_b, _) = shape_of(a), shape_of(b)
    if inner_a != inner_b:
        raise ShapeError(
            f"@: shapes {format_shape(shape_of(a))} and {format_shape(shape_of(b))} do not "
            f"fit (inner dimensions {inner_a} and {inner_b} differ)"
        )
    return sp.MatMul(a, b)


def transpose(a: sp.Basic) -> sp.Basic:
    return sp.Transpose(a) if is_array(a) else a


def elementwise(f: Callable[[sp.Expr], sp.Expr], a: sp.Basic) -> sp.Basic:
    """Apply the scalar function ``f`` to every entry of ``a`` (or to a scalar)."""
    if not is_array(a):
        return f(a)
    return _entrywise(f(ENTRY), a)


def _entrywise(body: sp.Expr, a: sp.Basic) -> sp.Basic:
    """``body`` (in ``ENTRY``) applied to each entry of the array ``a``.

    A body SymPy has already reduced to a constant (``1**v`` is ``1``) becomes that constant
    times ``ones_like(a)``, so the result keeps the shape of ``a`` and prints back as such.
    """
    if ENTRY not in body.free_symbols:
        return FilledLike(a, body) if body in (0, 1) else sp.MatMul(body, FilledLike(a, 1))
    return Entrywise(sp.Lambda(ENTRY, body), a)


def _square(name: str, a: sp.Basic) -> None:
    shape = shape_of(a)
    if len(shape) != 2 or shape[0] != shape[1]:
        raise ShapeError(f"{name}() needs a square matrix, got shape {format_shape(shape)}")


def _tr(a: sp.Basic) -> sp.Basic:
    if not is_array(a):
        return a
    _square("tr", a)
    return sp.Trace(a)


def _det(a: sp.Basic) -> sp.Basic:
    if not is_array(a):
        return a
    _square("det", a)
    return sp.Determinant(a)


def _inv(a: sp.Basic) -> sp.Basic:
    if not is_array(a):
        return 1 / a
    _square("inv", a)
    return sp.Inverse(a)


def _diag(a: sp.Basic) -> sp.Basic:
    if not is_array(a):
        return a
    if 1 not in shape_of(a):
        raise ShapeError(
            f"diag() takes a vector and builds a diagonal matrix, got shape "
            f"{format_shape(shape_of(a))}"
        )
    return DiagMatrix(a)


def _ones_like(a: sp.Basic) -> sp.Basic:
    return FilledLike(a, 1) if is_array(a) else sp.S.One


def _zeros_like(a: sp.Basic) -> sp.Basic:
    return FilledLike(a, 0) if is_array(a) else sp.S.Zero


def _sum(a: sp.Basic) -> sp.Basic:
    return EntrySum(a) if is_array(a) else a


def _mean(a: sp.Basic) -> sp.Basic:
    if not is_array(a):
        return a
    rows, cols = shape_of(a)
    return EntrySum(a) / (rows * cols)


def _norm(a: sp.Basic) -> sp.Basic:
    if not is_array(a):
        return sp.Abs(a)
    return sp.sqrt(EntrySum(sp.HadamardPower(a, 2)))


def _logsumexp(a: sp.Basic) -> sp.Basic:
    return LogSumExp(a) if is_array(a) else a


def _softmax(a: sp.Basic) -> sp.Basic:
    # exp(a − logsumexp(a)) is the same function as exp(a)/sum(exp(a)) and is the form whose
    # generated code never overflows.
    if not is_array(a):
        return sp.S.One
    return elementwise(sp.exp, sub(a, LogSumExp(a)))


def _log_softmax(a: sp.Basic) -> sp.Basic:
    if not is_array(a):
        return sp.S.Zero
    return sub(a, LogSumExp(a))


def along_axis(name: str, a: sp.Basic, axis: int) -> int:
    """``axis`` of the 2-D array ``a`` as 0 or 1 (−1 is the last, −2 the first).

    Arrays are 2-D (vectors are columns), so ``axis=1`` reduces each row and ``axis=0``
    each column; the result keeps the reduced axis (NumPy's ``keepdims=True``). Reducing
    an axis of length 1 is refused: for a column vector ``x`` (``n×1``),
    ``softmax(x, axis=1)`` would be all ones, which is never what a NumPy user writing
    ``axis=-1`` for a 1-D array means.
    """
    if not is_array(a):
        raise ShapeError(f"{name}(): axis={axis} needs an array, got a scalar")
    if axis not in (0, 1, -1, -2):
        raise ShapeError(f"{name}(): axis {axis} is out of range for a 2-D array (0, 1, -1, -2)")
    k = axis % 2
    if shape_of(a)[k] == 1:
        raise ShapeError(
            f"{name}(): axis={axis} reduces an axis of length 1 (the argument has shape "
            f"{format_shape(shape_of(a))}; vectors are columns, so reduce a vector with axis=0)"
        )
    return k


def _ones_along(a: sp.Basic, k: int) -> MatrixExpr:
    """𝟏 (``m×1``) for a row reduction of an ``n×m`` array, 𝟏ᵀ (``1×n``) for a column one."""
    rows, cols = shape_of(a)
    return sp.OneMatrix(cols, 1) if k == 1 else sp.OneMatrix(1, rows)


def _sum_along(a: sp.Basic, axis: int) -> sp.Basic:
    """``sum(A, axis=1) = A𝟏`` (row sums, ``n×1``); ``sum(A, axis=0) = 𝟏ᵀA`` (``1×m``)."""
    k = along_axis("sum", a, axis)
    return sp.MatMul(a, _ones_along(a, k)) if k == 1 else sp.MatMul(_ones_along(a, k), a)


def _mean_along(a: sp.Basic, axis: int) -> sp.Basic:
    """``mean(A, axis=1) = A𝟏/m`` for an ``n×m`` array; ``axis=0`` gives ``𝟏ᵀA/n``."""
    k = along_axis("mean", a, axis)
    return truediv(_sum_along(a, axis), shape_of(a)[k])


def _logsumexp_along(a: sp.Basic, axis: int) -> sp.Basic:
    return AxisLogSumExp(a, along_axis("logsumexp", a, axis))


def _log_softmax_along(a: sp.Basic, axis: int, name: str = "log_softmax") -> sp.Basic:
    """``A − lse₁(A)𝟏ᵀ`` (``axis=1``) or ``A − 𝟏 lse₀(A)`` (``axis=0``)."""
    k = along_axis(name, a, axis)
    lse = AxisLogSumExp(a, k)
    rows, cols = shape_of(a)
    shift = (
        sp.MatMul(-1, lse, sp.OneMatrix(1, cols))
        if k == 1
        else sp.MatMul(-1, sp.OneMatrix(rows, 1), lse)
    )
    return sp.MatAdd(a, shift)


def _softmax_along(a: sp.Basic, axis: int) -> sp.Basic:
    # exp(A − lse(A)𝟏ᵀ): each row's exponentials divided by their sum, in the form whose
    # generated code never overflows (as for _softmax)
    return elementwise(sp.exp, _log_softmax_along(a, axis, "softmax"))


@dataclass(frozen=True)
class InputFunction:
    """A function of the input language: its name, arity, and how it builds SymPy.

    ``along`` builds the function along one axis (``sum(A, axis=1)``) for the functions
    that take NumPy's ``axis=`` keyword; it is None for the others. ``optional`` more
    arguments may follow the ``arity`` required ones, and each must be a real number
    (``heaviside(x, 0)``, NumPy's value at 0).
    """

    name: str
    arity: int
    build: Callable[..., sp.Basic]
    kind: str  # "elementwise" or "reduction"
    doc: str
    along: Callable[[sp.Basic, int], sp.Basic] | None = None
    optional: int = 0


FUNCTIONS = Registry[InputFunction]("function")


def _elementwise_entry(name: str, f: Callable[[sp.Expr], sp.Expr], doc: str) -> None:
    FUNCTIONS.add(InputFunction(name, 1, lambda a: elementwise(f, a), "elementwise", doc))


for _name, _f, _doc in [
    ("exp", sp.exp, "e^x"),
    ("log", sp.log, "natural logarithm"),
    ("sqrt", sp.sqrt, "square root"),
    ("abs", sp.Abs, "absolute value"),
    ("sign", sp.sign, "sign (−1, 0, 1)"),
    ("sin", sp.sin, "sine"),
    ("cos", sp.cos, "cosine"),
    ("tan", sp.tan, "tangent"),
    ("sinh", sp.sinh, "hyperbolic sine"),
    ("cosh", sp.cosh, "hyperbolic cosine"),
    ("tanh", sp.tanh, "hyperbolic tangent"),
    ("sigmoid", sigmoid, "logistic sigmoid 1/(1+e^−x)"),
    ("softplus", softplus, "log(1+e^x)"),
    ("relu", lambda v: sp.Max(0, v), "max(0, x)"),
    ("erf", sp.erf, "error function"),
    ("erfc", sp.erfc, "complementary error function 1 − erf(x)"),
]:
    _elementwise_entry(_name, _f, _doc)

_ALONG: dict[str, Callable[[sp.Basic, int], sp.Basic]] = {
    "sum": _sum_along,
    "mean": _mean_along,
    "logsumexp": _logsumexp_along,
    "softmax": _softmax_along,
    "log_softmax": _log_softmax_along,
}

for _name, _build, _doc in [
    ("sum", _sum, "sum of all entries"),
    ("mean", _mean, "mean of all entries"),
    ("tr", _tr, "trace"),
    ("det", _det, "determinant"),
    ("logdet", lambda a: sp.log(_det(a)), "log of the determinant (needs det > 0)"),
    ("inv", _inv, "matrix inverse"),
    ("diag", _diag, "diagonal matrix with a vector on its diagonal"),
    ("ones_like", _ones_like, "an array of ones of the argument's shape"),
    ("zeros_like", _zeros_like, "an array of zeros of the argument's shape"),
    ("norm", _norm, "Frobenius norm (2-norm of a vector)"),
    ("softmax", _softmax, "softmax over all entries"),
    ("log_softmax", _log_softmax, "log of softmax over all entries"),
    ("logsumexp", _logsumexp, "log of the sum of exp over all entries"),
]:
    FUNCTIONS.add(InputFunction(_name, 1, _build, "reduction", _doc, _ALONG.get(_name)))

FUNCTIONS.add(
    InputFunction(
        "maximum",
        2,
        lambda a, b: _binary_elementwise(sp.Max, a, b),
        "elementwise",
        "elementwise maximum",
    )
)
FUNCTIONS.add(
    InputFunction(
        "heaviside",
        1,
        lambda a, at_0=sp.S.Half: elementwise(lambda v: sp.Heaviside(v, at_0), a),
        "elementwise",
        "unit step: 0 below 0, 1 above, 1/2 at 0 (or heaviside(x, h0): h0 at 0, as NumPy)",
        optional=1,
    )
)
FUNCTIONS.add(
    InputFunction(
        "minimum",
        2,
        lambda a, b: _binary_elementwise(sp.Min, a, b),
        "elementwise",
        "elementwise minimum",
    )
)


def _binary_elementwise(f: Callable[..., sp.Expr], a: sp.Basic, b: sp.Basic) -> sp.Basic:
    if is_array(a) or is_array(b):
        # max(a, b) = (a + b + |a − b|)/2 and min(a, b) = (a + b − |a − b|)/2 keep it
        # expressible as elementwise operations
        spread = elementwise(sp.Abs, sub(a, b))
        both = add(a, b)
        total = add(both, spread) if f is sp.Max else sub(both, spread)
        return truediv(total, sp.Integer(2))
    return f(a, b)
