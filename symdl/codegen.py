"""Stable NumPy source and callables from SymPy scalar and matrix expressions.

:func:`numpy_function` compiles an expression into a :class:`NumpyFunction`: readable NumPy
source (``np.sum((W @ x - y)**2)``) and a callable built from closures that mirror that
source line for line — no ``exec`` or ``eval`` is involved. Functions that overflow when
written naively are emitted in their stable form: ``expit`` for the sigmoid,
``logaddexp(0, x)`` for softplus, a shifted log-sum-exp, and ``slogdet`` for ``log det``.

With ``complex_safe=True`` the same expression is compiled for complex arguments (for the
complex-step derivative): the stable real-only forms are replaced by their analytic
continuations, which are accurate at the moderate points where derivatives are checked.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp
from scipy import special
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.matrices.expressions.diagonal import DiagMatrix

from symdl.errors import UnsupportedError
from symdl.kernels import log_softmax, softmax
from symdl.nodes import (
    AxisLogSumExp,
    CatalogFunction,
    EntrySum,
    FilledLike,
    LogSumExp,
    axis_log_softmax_argument,
    log_softmax_argument,
)
from symdl.numpy_spelling import (
    COMPLEX_OVERRIDES,
    REAL_FUNCTIONS,
    constant,
    fold_add,
    fold_mul,
    limit_value,
    logdet,
    logsumexp_complex,
)
from symdl.stable import stabilize

__all__ = [
    "NON_ANALYTIC",
    "NumpyFunction",
    "elementwise_function",
    "numpy_function",
]

Env = Mapping[str, Any]
Code = tuple[str, Callable[[Env], Any]]

#: Node kinds whose presence rules out the complex-step derivative.
NON_ANALYTIC = (
    sp.Max,
    sp.Min,
    sp.Abs,
    sp.sign,
    sp.Heaviside,
    sp.Piecewise,
    sp.DiracDelta,
    sp.re,
    sp.im,
    sp.arg,
)


@dataclass(frozen=True)
class NumpyFunction:
    """A compiled expression: ``source`` to read, and the callable it describes."""

    names: tuple[str, ...]
    source: str
    fn: Callable[[Env], Any]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        env = dict(zip(self.names, args))
        env.update(kwargs)
        missing = [n for n in self.names if n not in env]
        if missing:
            raise TypeError(f"missing values for {', '.join(missing)}")
        return self.fn(env)


def numpy_function(
    expr: sp.Basic,
    names: Sequence[str],
    *,
    sizes: Mapping[sp.Symbol, int] | None = None,
    complex_safe: bool = False,
    stable: bool = True,
    name: str = "f",
) -> NumpyFunction:
    """Compile ``expr`` into NumPy code taking the arrays ``names`` (in that order).

    With ``stable`` (the default) the expression is first rewritten by
    :func:`symdl.stable.stabilize` (``1 − σ(x)`` → ``σ(−x)``, ``exp(x) − 1`` → ``expm1(x)``,
    …), so the code is accurate over the whole float64 range. Branches of a ``Piecewise``
    are computed for every entry and selected, with floating-point warnings from the
    branches that are not selected suppressed; a nan in a condition gives a nan result.

    >>> from symdl.parse import parse
    >>> f = numpy_function(parse("sum((W @ x - y)**2)", {"W": "2x2", "x": "2", "y": "2"}),
    ...                    ["W", "x", "y"])
    >>> print(f.source)
    def f(W, x, y):
        return np.sum(((W @ x) - y)**2)
    >>> float(f(np.eye(2), np.ones((2, 1)), np.zeros((2, 1))))
    2.0
    """
    if stable:
        expr = stabilize(expr)
    source, fn = _Compiler(dict(sizes or {}), complex_safe).code(expr)
    text = f"def {name}({', '.join(names)}):\n    return {source}"
    return NumpyFunction(tuple(names), text, fn)


def elementwise_function(
    expr: sp.Expr,
    var: sp.Symbol,
    *,
    limits: tuple[sp.Expr, sp.Expr] | None = None,
    name: str = "f",
) -> NumpyFunction:
    """Stable NumPy code for a scalar function of ``var``, applied to every entry of an array.

    The formula runs on the finite entries only; ``±inf`` entries get the ``limits`` of the
    function at ``∓∞``/``+∞`` (nan where a limit is not given or not a real number), and
    nan entries stay nan — so no input raises a floating-point warning.

    >>> from symdl.nodes import sigmoid
    >>> x = sp.Symbol("x", real=True)
    >>> f = elementwise_function(x * sigmoid(x), x, limits=(sp.Integer(0), sp.oo))
    >>> print(f.source)
    def f(x):
        x = np.asarray(x, dtype=float)
        out = np.full(x.shape, np.nan)
        finite = np.isfinite(x)
        out[finite] = (lambda x: x*special.expit(x))(x[finite])
        out[x == -np.inf] = 0.0
        out[x == np.inf] = np.inf
        return out
    >>> f(np.array([-np.inf, -1000.0, 0.0, np.inf, np.nan])).tolist()
    [0.0, -0.0, 0.0, inf, nan]
    """
    core = numpy_function(expr, [var.name])
    body = core.source.split("return ", 1)[1]
    low, high = (limit_value(v) for v in (limits or (sp.nan, sp.nan)))
    lines = [
        f"def {name}({var.name}):",
        f"    {var.name} = np.asarray({var.name}, dtype=float)",
        f"    out = np.full({var.name}.shape, np.nan)",
        f"    finite = np.isfinite({var.name})",
        f"    out[finite] = (lambda {var.name}: {body})({var.name}[finite])",
    ]
    for sign, value in (("-", low), ("", high)):
        if not np.isnan(value):
            shown = "np.inf" if value == np.inf else "-np.inf" if value == -np.inf else repr(value)
            lines.append(f"    out[{var.name} == {sign}np.inf] = {shown}")
    lines.append("    return out")

    def run(env: Env) -> Any:
        v = np.asarray(env[var.name], dtype=float)
        out = np.full(v.shape, np.nan)
        finite = np.isfinite(v)
        out[finite] = core(v[finite])
        out[v == -np.inf] = low
        out[v == np.inf] = high
        return out

    return NumpyFunction((var.name,), "\n".join(lines), run)


class _Compiler:
    def __init__(self, sizes: dict[sp.Symbol, int], complex_safe: bool) -> None:
        self.sizes = sizes
        self.complex_safe = complex_safe
        self.bound: dict[sp.Basic, Code] = {}

    def dim(self, d: Any) -> int:
        # sizes may map a symbolic dimension to a plain int, which xreplace returns as is
        value = d if isinstance(d, int) else d.xreplace(self.sizes)
        value = sp.Integer(value) if isinstance(value, int) else value
        if not value.is_Integer:
            raise UnsupportedError(f"dimension {d} has no concrete size")
        return int(value)

    def code(self, e: sp.Basic) -> Code:
        if e in self.bound:
            return self.bound[e]
        if isinstance(e, (sp.Symbol, sp.MatrixSymbol)):
            name = e.name
            return name, lambda env: env[name]
        if isinstance(e, sp.Integer):
            return str(int(e)), constant(int(e))
        if isinstance(e, (sp.Rational, sp.Float)) or e in (sp.pi, sp.E):
            v = float(e)
            return repr(v), constant(v)
        if isinstance(e, sp.Expr) and not isinstance(e, sp.MatrixExpr) and e.is_number:
            return self._number(e)
        if isinstance(e, sp.MatAdd):
            inner = log_softmax_argument(e)
            if inner is not None and not self.complex_safe:
                return self._call("log_softmax", log_softmax, inner)
            along = axis_log_softmax_argument(e)
            if along is not None and not self.complex_safe:
                k = along[1]
                return self._along(
                    "special.log_softmax", lambda z: special.log_softmax(z, axis=k), along[0], k
                )
            return self._sum([self._broadcastable(a) for a in e.args])
        if isinstance(e, sp.MatMul):
            return self._matmul(e.args)
        if isinstance(e, sp.Add):
            return self._sum([self.code(a) for a in e.args])
        if isinstance(e, sp.Mul):
            return self._product(self._factors(e))
        if isinstance(e, sp.HadamardProduct):
            return self._product([self.code(a) for a in e.args])
        if isinstance(e, (sp.Pow, sp.HadamardPower)):
            return self._pow(e.args[0], e.args[1])
        if isinstance(e, sp.Transpose):
            s, f = self.code(e.arg)
            return f"({s}).T", lambda env: f(env).T
        if isinstance(e, sp.Inverse):
            return self._call("np.linalg.inv", np.linalg.inv, e.arg)
        if isinstance(e, sp.Determinant):
            return self._call("np.linalg.det", np.linalg.det, e.arg)
        if isinstance(e, FilledLike):
            fill = float(e.value)
            s, f = self.code(e.arg)
            return f"np.full_like({s}, {fill!r})", lambda env: np.full_like(
                f(env), fill, dtype=float
            )
        if isinstance(e, DiagMatrix):
            return self._call("np.diagflat", np.diagflat, e.args[0])
        if isinstance(e, sp.Trace):
            return self._call("np.trace", np.trace, e.arg)
        if isinstance(e, EntrySum):
            return self._call("np.sum", np.sum, e.arg)
        if isinstance(e, LogSumExp):
            if self.complex_safe:
                return self._call("logsumexp", logsumexp_complex, e.arg)
            return self._call("special.logsumexp", special.logsumexp, e.arg)
        if isinstance(e, AxisLogSumExp):
            k = e.axis
            if self.complex_safe:
                return self._along("logsumexp", lambda z: logsumexp_complex(z, k), e.arg, k)
            return self._along(
                "special.logsumexp",
                lambda z: special.logsumexp(z, axis=k, keepdims=True),
                e.arg,
                k,
            )
        if isinstance(e, sp.log) and isinstance(e.args[0], sp.Determinant):
            if self.complex_safe:
                s, f = self.code(e.args[0].arg)
                return f"np.log(np.linalg.det({s}))", lambda env: np.log(np.linalg.det(f(env)))
            return self._call("np.linalg.slogdet", logdet, e.args[0].arg, suffix="[1]")
        if isinstance(e, (sp.OneMatrix, sp.ZeroMatrix, sp.Identity)):
            return self._constant_matrix(e)
        if isinstance(e, sp.ImmutableMatrix):
            return self._explicit_matrix(e)
        if isinstance(e, ElementwiseApplyFunction):
            (var,), body = e.function.variables, e.function.expr
            inner = log_softmax_argument(e.expr)
            if inner is not None and body == sp.exp(var) and not self.complex_safe:
                return self._call("softmax", softmax, inner)
            along = axis_log_softmax_argument(e.expr)
            if along is not None and body == sp.exp(var) and not self.complex_safe:
                k = along[1]
                return self._along(
                    "special.softmax", lambda z: special.softmax(z, axis=k), along[0], k
                )
            inner = _Compiler(self.sizes, self.complex_safe)
            inner.bound = {**self.bound, var: self.code(e.expr)}
            return inner.code(body)
        if isinstance(e, CatalogFunction):
            return self.code(stabilize(e.expansion()))
        if isinstance(e, (sp.Max, sp.Min)):
            return self._extremum(e)
        if isinstance(e, sp.Piecewise):
            return self._piecewise(e)
        if isinstance(e, sp.Heaviside):  # NumPy's second argument is the value at 0
            (s, f), (h, g) = self.code(e.args[0]), self.code(e.args[1])
            return f"np.heaviside({s}, {h})", lambda env: np.heaviside(f(env), g(env))
        table = dict(REAL_FUNCTIONS)
        if self.complex_safe:
            table.update(COMPLEX_OVERRIDES)
        for cls, (template, np_fn) in table.items():
            if isinstance(e, cls):
                s, f = self.code(e.args[0])  # type: ignore[attr-defined]
                text = template.format(s) if "{}" in template else f"{template}({s})"
                return text, (lambda g, fn=np_fn: lambda env: fn(g(env)))(f)
        raise UnsupportedError(f"no NumPy code for {type(e).__name__}: {e}")

    def _factors(self, e: sp.Mul) -> list[Code]:
        """The factors of a product, its number factors folded into one constant first."""
        numbers = [a for a in e.args if a.is_number]
        others = [self.code(a) for a in e.args if not a.is_number]
        if not numbers:
            return others
        coefficient = sp.Mul(*numbers)
        if coefficient == 1 and others:
            return others
        folded = self.code(coefficient) if coefficient.is_Integer else self._number(coefficient)
        return [folded, *others]

    def _number(self, e: sp.Expr) -> Code:
        """A constant expression (``sqrt(2/pi)``, SELU's λ) folded to the nearest float."""
        # chop: SymPy evaluates sigmoid(sin(1)) through complex exponentials, leaving an
        # imaginary part of 1e-43 that is rounding, not a value
        value = sp.N(e, 30, chop=True)
        if not value.is_real:
            raise UnsupportedError(f"the constant {e} is not real")
        v = float(value)
        return repr(v), constant(v)

    def _extremum(self, e: sp.Basic) -> Code:
        name = "np.maximum" if isinstance(e, sp.Max) else "np.minimum"
        np_fn: Callable[..., Any] = np.maximum if isinstance(e, sp.Max) else np.minimum
        codes = [self.code(a) for a in e.args]
        s, f = codes[0]
        for s2, f2 in codes[1:]:
            s, f = f"{name}({s}, {s2})", (lambda a, b: lambda env: np_fn(a(env), b(env)))(f, f2)
        return s, f

    def _broadcastable(self, e: sp.Basic) -> Code:
        # s·1 (a scalar broadcast to an array's shape) is just s under NumPy broadcasting
        if isinstance(e, sp.OneMatrix):
            return "1", constant(1)
        if (
            isinstance(e, sp.MatMul)
            and isinstance(e.args[-1], sp.OneMatrix)
            and not any(isinstance(a, (sp.MatrixExpr, sp.MatrixBase)) for a in e.args[:-1])
        ):  # (not M·𝟏 with a matrix M: that is a product, the row sums of M)
            return self._product([self.code(a) for a in e.args[:-1]])
        return self.code(e)

    def _sum(self, codes: list[Code]) -> Code:
        text = codes[0][0]
        for s, _ in codes[1:]:
            text += f" - {s[1:]}" if s.startswith("-") else f" + {s}"
        fns = [f for _, f in codes]
        return f"({text})", lambda env: fold_add(fns, env)

    def _product(self, codes: list[Code]) -> Code:
        if len(codes) == 1:  # -1·1: a broadcast −1 has one factor left
            return codes[0]
        if codes[0][0] == "-1" and len(codes) == 2:
            s, f = codes[1]
            return f"-{s}", lambda env: -f(env)
        if codes[0][0] == "-1":
            text, run = self._product(codes[1:])
            return f"-{text}", lambda env: -run(env)
        fns = [f for _, f in codes]
        texts = [
            s if i == 0 or not s.startswith("-") else f"({s})" for i, (s, _) in enumerate(codes)
        ]
        return "*".join(texts), lambda env: fold_mul(fns, env)

    def _matmul(self, args: tuple[sp.Basic, ...]) -> Code:
        codes = [self.code(a) for a in args]
        is_mat = [isinstance(a, (sp.MatrixExpr, sp.MatrixBase)) for a in args]
        text = codes[0][0]
        for (s, _), mat, prev in zip(codes[1:], is_mat[1:], is_mat):
            # A @ (B*C) is not A @ B*C, which Python reads as (A @ B)*C
            text += f" @ {_operand(s)}" if mat and prev else f"*{s}"
        fns = [f for _, f in codes]

        def run(env: Env) -> Any:
            out = fns[0](env)
            for f, mat, prev in zip(fns[1:], is_mat[1:], is_mat):
                out = out @ f(env) if mat and prev else out * f(env)
            return out

        if codes[0][0] == "-1" and len(codes) == 2:
            return f"-{codes[1][0]}", run
        return f"({text})", run

    def _pow(self, base: sp.Basic, exp: sp.Basic) -> Code:
        b, fb = self.code(base)
        b = _operand(b)  # (a*b)**2, 1/(m*n): a bare product would bind only its last factor
        if exp == sp.S.Half:
            return f"np.sqrt({b})", lambda env: np.sqrt(fb(env))
        if exp == -1:
            return f"1/{b}", lambda env: 1 / fb(env)
        e, fe = self.code(exp)
        if isinstance(exp, sp.Integer):
            k = int(exp)
            return f"{b}**{e}", lambda env: fb(env) ** k
        return f"{b}**({e})", lambda env: fb(env) ** fe(env)

    def _along(self, name: str, np_fn: Callable[[Any], Any], arg: sp.Basic, axis: int) -> Code:
        # SciPy's reductions along an axis shift by the maximum, so no exp overflows
        s, f = self.code(arg)
        keep = ", keepdims=True" if name.endswith("logsumexp") else ""
        return f"{name}({s}, axis={axis}{keep})", lambda env: np_fn(f(env))

    def _call(self, name: str, np_fn: Callable[..., Any], arg: sp.Basic, suffix: str = "") -> Code:
        s, f = self.code(arg)
        return f"{name}({s}){suffix}", lambda env: np_fn(f(env))

    def _constant_matrix(self, e: sp.MatrixExpr) -> Code:
        rows, cols = self.dim(e.rows), self.dim(e.cols)
        if isinstance(e, sp.OneMatrix):
            value = np.ones((rows, cols))
            return f"np.ones(({rows}, {cols}))", lambda env: value
        if isinstance(e, sp.ZeroMatrix):
            value = np.zeros((rows, cols))
            return f"np.zeros(({rows}, {cols}))", lambda env: value
        value = np.eye(rows)
        return f"np.eye({rows})", lambda env: value

    def _explicit_matrix(self, e: sp.ImmutableMatrix) -> Code:
        cells = [[self.code(e[i, j]) for j in range(e.cols)] for i in range(e.rows)]
        text = (
            "np.array(["
            + ", ".join("[" + ", ".join(s for s, _ in row) + "]" for row in cells)
            + "])"
        )
        fns = [[f for _, f in row] for row in cells]
        return text, lambda env: np.array([[f(env) for f in row] for row in fns])

    def _piecewise(self, e: sp.Piecewise) -> Code:
        values = [self.code(v) for v, _ in e.args]
        conds = [self._condition(c) for _, c in e.args]
        operands = [self.code(a) for _, c in e.args if c is not sp.true for a in c.args]
        text = "np.select([{}], [{}])".format(
            ", ".join(s for s, _ in conds), ", ".join(s for s, _ in values)
        )

        def run(env: Env) -> Any:
            with np.errstate(all="ignore"):  # branches that are not selected may overflow
                picked = np.select([c(env) for _, c in conds], [v(env) for _, v in values])
            unknown = np.zeros(np.shape(picked), dtype=bool)
            for _, f in operands:
                unknown = unknown | np.isnan(f(env))
            return np.where(unknown, np.nan, picked) if unknown.any() else picked

        return text, run

    def _condition(self, c: sp.Basic) -> Code:
        if c is sp.true:
            return "True", constant(True)
        ops = {
            sp.StrictLessThan: "<",
            sp.LessThan: "<=",
            sp.StrictGreaterThan: ">",
            sp.GreaterThan: ">=",
            sp.Equality: "==",
            sp.Unequality: "!=",
        }
        op = ops.get(type(c))
        if op is None:
            raise UnsupportedError(f"no NumPy code for the condition {c}")
        (ls, lf), (rs, rf) = self.code(c.lhs), self.code(c.rhs)
        compare = {
            "<": np.less,
            "<=": np.less_equal,
            ">": np.greater,
            ">=": np.greater_equal,
            "==": np.equal,
            "!=": np.not_equal,
        }[op]
        return f"{ls} {op} {rs}", lambda env: compare(lf(env), rf(env))


def _operand(text: str) -> str:
    """``text`` ready to be an operand of ``@`` or ``**``: parenthesized unless it is a
    name, a number, a call, an attribute or already one parenthesized group."""
    plain = re.sub(r"(\d)e[-+](\d)", r"\1e\2", text)  # 1e-05 is one number
    depth = 0
    for ch in plain:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif depth == 0 and ch in "+-*/@ ":
            return f"({text})"
    return text
