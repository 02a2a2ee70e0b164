"""SymPy → input-language text: the inverse of :func:`symdl.parse.parse`.

``parse(to_text(e))`` gives back ``e`` for every expression the parser builds, which is
what lets reports show formulas the user can paste back into ``symdl check``.
"""

from __future__ import annotations

from itertools import pairwise

import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.matrices.expressions.diagonal import DiagMatrix

from symdl.nodes import (
    AxisLogSumExp,
    CatalogFunction,
    EntrySum,
    FilledLike,
    LogSumExp,
    axis_log_softmax_argument,
    sigmoid,
    softplus,
)
from symdl.ops import is_array
from symdl.parse import LIMITS

__all__ = ["piecewise_as_steps", "to_text"]

_ADD, _MUL, _NEG, _POW, _ATOM = 10, 20, 25, 30, 40

_CALLS: dict[type, str] = {
    sp.exp: "exp",
    sp.log: "log",
    sp.Abs: "abs",
    sp.sign: "sign",
    sp.sin: "sin",
    sp.cos: "cos",
    sp.tan: "tan",
    sp.sinh: "sinh",
    sp.cosh: "cosh",
    sp.tanh: "tanh",
    sp.erf: "erf",
    sp.erfc: "erfc",
    sp.Heaviside: "heaviside",
    sigmoid: "sigmoid",
    softplus: "softplus",
    sp.Trace: "tr",
    sp.Determinant: "det",
    sp.Inverse: "inv",
    DiagMatrix: "diag",
    EntrySum: "sum",
    LogSumExp: "logsumexp",
}


_LESS = (sp.StrictLessThan, sp.LessThan)
_GREATER = (sp.StrictGreaterThan, sp.GreaterThan)


def piecewise_as_steps(e: sp.Piecewise) -> sp.Expr | None:
    r"""``e`` as a sum of unit steps, equal to it everywhere — the kinks included — or None.

    That needs thresholds of one expression :math:`u` met in order: ``(v₁, u < c₁), (v₂,
    u < c₂), …, (vₙ, True)`` with :math:`c_1 < c_2 < \dots` is :math:`v_1 + \sum_i
    (v_{i+1} - v_i)\,H(u - c_i)`, where :math:`H(0) = 1` after ``<`` (the next piece holds
    at :math:`c_i`) and 0 after ``≤``; ``u > c`` with falling thresholds likewise, from the
    last piece. The derivatives of ReLU6, leaky ReLU, ELU and hard tanh are such chains.

    >>> d = sp.Symbol("d", real=True)
    >>> piecewise_as_steps(sp.Piecewise((1, d > 0), (sp.Rational(1, 100), True)))
    99*Heaviside(d, 0)/100 + 1/100
    """
    pieces = list(e.args)
    if len(pieces) < 2 or pieces[-1][1] is not sp.true:
        return None
    conditions = [c for _, c in pieces[:-1]]
    if all(isinstance(c, _LESS) for c in conditions):
        falling = False
    elif all(isinstance(c, _GREATER) for c in conditions):
        falling = True
    else:
        return None
    u = conditions[0].lhs
    if any(c.lhs != u or not (c.rhs.is_number and c.rhs.is_extended_real) for c in conditions):
        return None
    thresholds = [c.rhs for c in conditions]
    order = [b - a for a, b in pairwise(thresholds)]
    if not all((d < 0) if falling else (d > 0) for d in order):
        return None
    values = [v for v, _ in pieces]
    strict = [isinstance(c, (sp.StrictLessThan, sp.StrictGreaterThan)) for c in conditions]
    if falling:  # u > c₁ > c₂ …: the last value, raised at each threshold from below
        total = values[-1]
        for i, c in enumerate(thresholds):
            at_c = 0 if strict[i] else 1  # u > c fails at c: the lower piece holds there
            total += (values[i] - values[i + 1]) * sp.Heaviside(u - c, at_c)
        return total
    total = values[0]
    for i, c in enumerate(thresholds):
        at_c = 1 if strict[i] else 0  # u < c fails at c: the next piece holds there
        total += (values[i + 1] - values[i]) * sp.Heaviside(u - c, at_c)
    return total


def to_text(expr: sp.Basic) -> str:
    """Input-language text for ``expr``.

    >>> from symdl.parse import parse
    >>> to_text(parse("2*(W @ x - y) @ x.T", {"W": "3x3", "x": "3", "y": "3"}))
    '2*(W @ x - y) @ x.T'
    """
    return _Printer().text(expr)[0]


class _Printer:
    def __init__(self) -> None:
        self.bound: dict[sp.Basic, tuple[str, int]] = {}

    def wrap(self, expr: sp.Basic, above: int) -> str:
        text, prec = self.text(expr)
        return f"({text})" if prec <= above else text

    def text(self, e: sp.Basic) -> tuple[str, int]:
        if e in self.bound:
            return self.bound[e]
        if isinstance(e, (sp.Symbol, sp.MatrixSymbol)):
            return e.name, _ATOM
        if e is sp.pi:
            return "pi", _ATOM
        if isinstance(e, sp.Integer):
            if len(str(abs(e.p))) > LIMITS["digits"]:
                return _long_integer(e.p), _ADD
            return (str(e), _ATOM) if e >= 0 else (str(e), _NEG)
        if isinstance(e, sp.Rational):
            sign = "-" if e < 0 else ""
            p, q = (self.wrap(sp.Integer(n), _MUL) for n in (abs(e.p), e.q))
            return f"{sign}{p}/{q}", _MUL
        if isinstance(e, sp.Float):
            return repr(float(e)), (_ATOM if e >= 0 else _NEG)
        # matrix classes first: MatAdd and MatMul subclass Add and Mul
        if isinstance(e, sp.MatAdd):
            inner = _log_softmax_of(e)
            if inner is not None:
                return f"log_softmax({self.text(inner)[0]})", _ATOM
            along = axis_log_softmax_argument(e)
            if along is not None:
                return f"log_softmax({self.text(along[0])[0]}, axis={along[1]})", _ATOM
            return self._add(list(e.args)), _ADD
        if isinstance(e, sp.MatMul):
            return self._matmul(e)
        if isinstance(e, sp.Add):
            return self._add(e.as_ordered_terms()), _ADD
        if isinstance(e, sp.Mul):
            return self._mul(e)
        if isinstance(e, sp.HadamardProduct):
            return " * ".join(self._chain(e.args, _MUL)), _MUL
        if isinstance(e, (sp.Pow, sp.HadamardPower)):
            return self._pow(*e.args)
        if isinstance(e, sp.Transpose):
            return f"{self.wrap(e.arg, _POW)}.T", _ATOM
        if isinstance(e, sp.OneMatrix):
            return "1", _ATOM
        if isinstance(e, AxisLogSumExp):
            return f"logsumexp({self.text(e.arg)[0]}, axis={e.axis})", _ATOM
        if isinstance(e, FilledLike):
            name = "ones_like" if e.value == 1 else "zeros_like"
            return f"{name}({self.text(e.arg)[0]})", _ATOM
        if isinstance(e, ElementwiseApplyFunction):
            return self._elementwise(e)
        if isinstance(e, CatalogFunction):
            return f"{type(e).__name__}({self.text(e.args[0])[0]})", _ATOM
        if isinstance(e, sp.Max) and len(e.args) == 2 and sp.S.Zero in e.args:
            other = e.args[1] if e.args[0] == 0 else e.args[0]
            return f"relu({self.text(other)[0]})", _ATOM
        if isinstance(e, (sp.Max, sp.Min)):
            name = "maximum" if isinstance(e, sp.Max) else "minimum"
            text = self.text(e.args[0])[0]
            for arg in e.args[1:]:  # Max(a, b, c) = maximum(maximum(a, b), c)
                text = f"{name}({text}, {self.text(arg)[0]})"
            return text, _ATOM
        if isinstance(e, sp.log) and isinstance(e.args[0], sp.Determinant):
            return f"logdet({self.text(e.args[0].arg)[0]})", _ATOM
        if isinstance(e, sp.Heaviside):
            at_0 = e.args[1] if len(e.args) > 1 else sp.S.Half
            value = "" if at_0 == sp.S.Half else f", {self.text(at_0)[0]}"
            return f"heaviside({self.text(e.args[0])[0]}{value})", _ATOM
        if isinstance(e, sp.Piecewise):
            steps = piecewise_as_steps(e)
            if steps is not None:
                return self.text(steps)
        for cls, name in _CALLS.items():
            if isinstance(e, cls):
                return f"{name}({self.text(e.args[0])[0]})", _ATOM  # type: ignore[attr-defined]
        raise ValueError(f"no input-language form for {type(e).__name__}: {e}")

    def _chain(self, args: tuple[sp.Basic, ...], prec: int) -> list[str]:
        # left-associative: the first operand may sit at the same level, the others may not
        return [self.wrap(a, prec - 1 if i == 0 else prec) for i, a in enumerate(args)]

    def _add(self, terms: list[sp.Basic]) -> str:
        out = self.text(terms[0])[0] if terms else "0"
        for term in terms[1:]:
            negated = _negated(term)
            if negated is not None:
                out += f" - {self.wrap(negated, _ADD)}"
            else:
                out += f" + {self.wrap(term, _ADD - 1)}"
        return out

    def _mul(self, e: sp.Mul) -> tuple[str, int]:
        coeff, factors = e.as_coeff_mul()
        if coeff.is_negative:
            rest = sp.Mul(-coeff, *factors)
            return f"-{self.wrap(rest, _NEG)}", _NEG
        num, den = [], []
        for f in factors:
            if isinstance(f, sp.Pow) and f.exp.is_negative and f.exp.is_Rational:
                den.append(f.base if f.exp == -1 else sp.Pow(f.base, -f.exp))
            else:
                num.append(f)
        head = []
        if coeff != 1:
            if isinstance(coeff, sp.Rational) and coeff.q != 1:
                num_c, den_c = coeff.p, coeff.q
                if num_c != 1 or not num:
                    head.append(str(num_c))
                den.insert(0, sp.Integer(den_c))
            else:
                head.append(self.wrap(coeff, _MUL - 1))
        text = "*".join(head + [self.wrap(f, _MUL) for f in num]) or "1"
        for d in den:
            text += f"/{self.wrap(d, _MUL)}"
        if text.startswith("-") and head and head[0].startswith("-"):
            return text, _NEG
        return text, _MUL

    def _matmul(self, e: sp.MatMul) -> tuple[str, int]:
        args = list(e.args)
        along = _axis_sum_of(e)
        if along is not None:
            return f"sum({self.text(along[0])[0]}, axis={along[1]})", _ATOM
        along = _axis_mean_of(e)
        if along is not None:
            return f"mean({self.text(along[0])[0]}, axis={along[1]})", _ATOM
        if len(args) == 2 and isinstance(args[1], sp.OneMatrix) and not is_array(args[0]):
            return self.text(args[0])  # a scalar broadcast against an array
        mats = [a for a in args if is_array(a)]
        if len(mats) > 1 and any(isinstance(a, sp.OneMatrix) for a in mats):
            # M @ 𝟏 with 𝟏 not a column (a column is sum(M, axis=1), above): the input
            # language has no spelling of an all-ones matrix of its own
            raise ValueError(f"no input-language form for a product with ones: {e}")
        if args[0] == -1 and len(args) == 2:
            return f"-{self.wrap(args[1], _NEG)}", _NEG
        out = self.wrap(args[0], _MUL - 1)
        for prev, a in pairwise(args):
            op = "@" if is_array(prev) and is_array(a) else "*"
            out += f" {op} {self.wrap(a, _MUL)}" if op == "@" else f"*{self.wrap(a, _MUL)}"
        return out, _MUL

    def _pow(self, base: sp.Basic, exp: sp.Basic) -> tuple[str, int]:
        if exp == sp.S.Half and not is_array(base):
            return f"sqrt({self.text(base)[0]})", _ATOM
        return f"{self.wrap(base, _POW)}**{self.wrap(exp, _POW - 1)}", _POW

    def _elementwise(self, e: ElementwiseApplyFunction) -> tuple[str, int]:
        (var,), body = e.function.variables, e.function.expr
        if body == sp.exp(var) and isinstance(e.expr, sp.MatAdd):
            inner = _log_softmax_of(e.expr)
            if inner is not None:
                return f"softmax({self.text(inner)[0]})", _ATOM
            along = axis_log_softmax_argument(e.expr)
            if along is not None:
                return f"softmax({self.text(along[0])[0]}, axis={along[1]})", _ATOM
        arg_text, arg_prec = self.text(e.expr)
        inner = _Printer()
        inner.bound = {**self.bound, var: (arg_text, arg_prec)}
        return inner.text(body)


def _long_integer(n: int) -> str:
    """``n`` as literals the parser takes (at most 50 digits each, powers of 10 ≤ 10**1000).

    ``n = m·10^k`` prints as ``m*10**k``, and a long ``m`` as a sum of 50-digit chunks
    times powers of ten. Sums and products are grouped as balanced trees, so the nesting
    stays within the parser's depth limit however long the number is.

    >>> _long_integer(3 * 10**100 + 2 * 10**50 + 1)
    '3*10**100 + (2*10**50 + 1)'
    >>> _long_integer(-7 * 10**2500)
    '-(7*10**1000*(10**1000*10**500))'
    """
    sign, n = ("-", -n) if n < 0 else ("", n)
    zeros = len(str(n)) - len(str(n).rstrip("0"))
    m = n // 10**zeros
    terms = []
    position = 0
    while m:
        m, chunk = divmod(m, _CHUNK)
        if chunk:
            terms.append(str(chunk) if position == 0 else f"{chunk}*{_power_of_ten(position)}")
        position += _CHUNK_DIGITS
    text = _balanced(terms[::-1], " + ")
    if zeros and terms == ["1"]:
        text = _power_of_ten(zeros)
    elif zeros:
        text = f"{f'({text})' if len(terms) > 1 else text}*{_power_of_ten(zeros)}"
    return f"{sign}({text})" if sign else text


def _power_of_ten(k: int) -> str:
    """``10**k`` as factors the parser takes (its exponent limit is 1000)."""
    top = LIMITS["exponent"]
    factors = [f"10**{top}"] * (k // top) + ([f"10**{k % top}"] if k % top else [])
    return _balanced(factors, "*")


def _balanced(items: list[str], op: str) -> str:
    """``items`` joined by ``op`` as a balanced tree (depth log₂ of the count)."""
    if len(items) == 1:
        return items[0]
    half = len(items) // 2
    left, right = _balanced(items[:half], op), _balanced(items[half:], op)
    left = left if half == 1 else f"({left})"
    right = right if len(items) - half == 1 else f"({right})"
    return f"{left}{op}{right}"


_CHUNK_DIGITS = 50
_CHUNK = 10**_CHUNK_DIGITS


def _log_softmax_of(e: sp.MatAdd) -> sp.Basic | None:
    """``z`` if ``e`` is ``z − logsumexp(z)`` as the parser builds it, else ``None``."""
    if len(e.args) != 2:
        return None
    z, shift = e.args
    if (
        isinstance(shift, sp.MatMul)
        and len(shift.args) == 2
        and isinstance(shift.args[1], sp.OneMatrix)
        and shift.args[0] == -LogSumExp(z)
    ):
        return z
    return None


def _axis_sum_of(e: sp.MatMul) -> tuple[sp.Basic, int] | None:
    """``(A, 1)`` for ``A𝟏`` and ``(A, 0)`` for ``𝟏ᵀA`` (``sum(A, axis=…)``), else None."""
    if len(e.args) != 2 or not all(is_array(a) for a in e.args):
        return None
    a, b = e.args
    if isinstance(b, sp.OneMatrix) and b.shape[1] == 1 and not isinstance(a, sp.OneMatrix):
        return a, 1
    if isinstance(a, sp.OneMatrix) and a.shape[0] == 1 and not isinstance(b, sp.OneMatrix):
        return b, 0
    return None


def _axis_mean_of(e: sp.MatMul) -> tuple[sp.Basic, int] | None:
    """``(A, k)`` when ``e`` is ``sum(A, axis=k)`` divided by the length of axis ``k``."""
    if len(e.args) != 2 or is_array(e.args[0]) or not isinstance(e.args[1], sp.MatMul):
        return None
    along = _axis_sum_of(e.args[1])
    if along is None or e.args[0] != 1 / along[0].shape[along[1]]:
        return None
    return along


def _negated(term: sp.Basic) -> sp.Basic | None:
    """``t`` if ``term`` is ``−t`` (so it prints as a subtraction), else ``None``."""
    if isinstance(term, sp.Mul) and term.args[0].is_Number and term.args[0].is_negative:
        return sp.Mul(-term.args[0], *term.args[1:])
    if isinstance(term, sp.MatMul) and term.args[0] == -1 and len(term.args) == 2:
        return term.args[1]
    if (
        isinstance(term, sp.MatMul)
        and len(term.args) == 2
        and isinstance(term.args[1], sp.OneMatrix)
        and term.args[0].could_extract_minus_sign()
    ):
        return sp.MatMul(-term.args[0], term.args[1])
    if isinstance(term, sp.Number) and term < 0:
        return -term
    return None
