"""High-precision evaluation of SymPy scalar expressions with mpmath.

A small tree walker over the node kinds symdl produces — no code generation, no ``eval`` —
memoised per point, so that the entries of a gradient that share sub-expressions are
evaluated once. Each call sets its own working precision.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import mpmath
import sympy as sp
from sympy.codegen.cfunctions import expm1, log1p

from symdl.errors import UnsupportedError
from symdl.nodes import CatalogFunction, ndtr, sigmoid, softplus

__all__ = ["Evaluator", "NotAdmissible"]


class NotAdmissible(ArithmeticError):
    """The expression is undefined at this point (log of a negative number, 1/0, …)."""


def _log(v: mpmath.mpf) -> mpmath.mpf:
    if v <= 0:
        raise NotAdmissible(f"log of {mpmath.nstr(v, 5)}")
    return mpmath.log(v)


def _log1p(v: mpmath.mpf) -> mpmath.mpf:
    if v <= -1:
        raise NotAdmissible(f"log1p of {mpmath.nstr(v, 5)}")
    return mpmath.log1p(v)


def _heaviside(v: mpmath.mpf, h0: mpmath.mpf | None = None) -> mpmath.mpf:
    if v > 0:
        return mpmath.mpf(1)
    if v < 0:
        return mpmath.mpf(0)
    return mpmath.mpf(0.5) if h0 is None else h0


def _sign(v: mpmath.mpf) -> mpmath.mpf:
    return mpmath.mpf(mpmath.sign(v))


def _sigmoid(v: mpmath.mpf) -> mpmath.mpf:
    return 1 / (1 + mpmath.exp(-v)) if v >= 0 else mpmath.exp(v) / (1 + mpmath.exp(v))


def _softplus(v: mpmath.mpf) -> mpmath.mpf:
    return v + mpmath.log1p(mpmath.exp(-v)) if v > 0 else mpmath.log1p(mpmath.exp(v))


def _dirac(v: mpmath.mpf, *k: mpmath.mpf) -> mpmath.mpf:
    if v == 0:
        raise NotAdmissible("DiracDelta at 0")
    return mpmath.mpf(0)


_FUNCTIONS: dict[type, Callable[..., mpmath.mpf]] = {
    sp.exp: mpmath.exp,
    sp.log: _log,
    sp.sin: mpmath.sin,
    sp.cos: mpmath.cos,
    sp.tan: mpmath.tan,
    sp.sinh: mpmath.sinh,
    sp.cosh: mpmath.cosh,
    sp.tanh: mpmath.tanh,
    sp.erf: mpmath.erf,
    sp.erfc: mpmath.erfc,
    sp.Abs: abs,
    # sympy.diff writes |u|' with re(u), im(u) (and sign(u) with arg) where it cannot show u
    # real: (2 + sin x)**y
    sp.re: mpmath.re,
    sp.im: mpmath.im,
    sp.arg: mpmath.arg,
    sp.sign: _sign,
    sp.Heaviside: _heaviside,
    sp.DiracDelta: _dirac,
    sigmoid: _sigmoid,
    softplus: _softplus,
    ndtr: mpmath.ncdf,
    expm1: mpmath.expm1,
    log1p: _log1p,
    sp.Max: max,
    sp.Min: min,
}

_RELATIONS: dict[type, Callable[[mpmath.mpf, mpmath.mpf], bool]] = {
    sp.StrictLessThan: lambda a, b: a < b,
    sp.LessThan: lambda a, b: a <= b,
    sp.StrictGreaterThan: lambda a, b: a > b,
    sp.GreaterThan: lambda a, b: a >= b,
    sp.Equality: lambda a, b: a == b,
    sp.Unequality: lambda a, b: a != b,
}


class Evaluator:
    """Evaluate expressions at one point, at ``dps`` significant digits.

    >>> x = sp.Symbol("x", real=True)
    >>> mpmath.nstr(Evaluator({x: mpmath.mpf(1)}, dps=30)(sigmoid(x)), 30)
    '0.731058578630004879251159241822'
    """

    def __init__(self, values: Mapping[sp.Symbol, object], *, dps: int) -> None:
        self.dps = dps
        self.values = values
        self.memo: dict[sp.Basic, mpmath.mpf] = {}

    def __call__(self, expr: sp.Basic) -> mpmath.mpf:
        with mpmath.workdps(self.dps + 10):  # guard digits for the intermediate steps
            try:
                value = self.visit(expr)
            except (OverflowError, MemoryError) as err:  # exp(exp(exp(exp(40))))
                raise NotAdmissible(f"a value too large to evaluate ({err})") from None
            except TypeError as err:  # a comparison of a complex value
                raise UnsupportedError(f"a complex value in {expr} ({err})") from None
        if isinstance(value, mpmath.mpc):
            raise UnsupportedError(f"the value of {expr} is not real")
        with mpmath.workdps(self.dps):
            return +value

    def visit(self, e: sp.Basic) -> mpmath.mpf:
        hit = self.memo.get(e)
        if hit is None:
            hit = self._visit(e)
            if isinstance(hit, mpmath.mpc) and hit.imag == 0:
                hit = hit.real  # I*im(u) with u real is an exact complex 0
            self.memo[e] = hit
        return hit

    def _visit(self, e: sp.Basic) -> mpmath.mpf:
        if isinstance(e, sp.Symbol):
            try:
                return mpmath.mpf(self.values[e])
            except KeyError:
                raise UnsupportedError(f"no value for {e}") from None
        if isinstance(e, sp.Integer):
            return mpmath.mpf(int(e))
        if isinstance(e, sp.Rational):
            return mpmath.mpf(int(e.p)) / int(e.q)
        if isinstance(e, sp.Float):
            return mpmath.mpf(e._mpf_)
        if e is sp.pi:
            return +mpmath.pi
        if e is sp.E:
            return +mpmath.e
        if e is sp.I:
            # sympy.diff writes |u|' with re(u) + I*im(u) where it cannot show u real; with
            # u real, im(u) is an exact 0 and so is I*im(u). Only a real result is returned.
            return mpmath.mpc(0, 1)
        if isinstance(e, sp.Add):
            return mpmath.fsum(self.visit(a) for a in e.args)
        if isinstance(e, sp.Mul):
            out = mpmath.mpf(1)
            for a in e.args:
                out *= self.visit(a)
            return out
        if isinstance(e, sp.Pow):
            return self._pow(e)
        if isinstance(e, CatalogFunction):
            return self.visit(e.expansion())
        if isinstance(e, sp.Piecewise):
            for value, cond in e.args:
                if self._truth(cond):
                    return self.visit(value)
            raise NotAdmissible("no Piecewise branch applies")
        fn = _FUNCTIONS.get(type(e))
        if fn is None:
            for cls, f in _FUNCTIONS.items():
                if isinstance(e, cls):
                    fn = f
                    break
        if fn is not None:
            return fn(*[self.visit(a) for a in e.args])
        raise UnsupportedError(f"cannot evaluate {type(e).__name__} in high precision: {e}")

    def _pow(self, e: sp.Pow) -> mpmath.mpf:
        base = self.visit(e.base)
        exp = e.exp
        if isinstance(exp, sp.Integer):
            if base == 0 and exp < 0:
                raise NotAdmissible("division by zero")
            return base ** int(exp)
        if base < 0:
            raise NotAdmissible(f"fractional power of the negative number {mpmath.nstr(base, 5)}")
        if base == 0 and self.visit(exp) <= 0:
            raise NotAdmissible("0 to a non-positive power")
        if exp == sp.S.Half:
            return mpmath.sqrt(base)
        return mpmath.power(base, self.visit(exp))

    def _truth(self, cond: sp.Basic) -> bool:
        if cond is sp.true:
            return True
        if cond is sp.false:
            return False
        rel = _RELATIONS.get(type(cond))
        if rel is not None:
            return rel(self.visit(cond.lhs), self.visit(cond.rhs))
        if isinstance(cond, sp.And):
            return all(self._truth(c) for c in cond.args)
        if isinstance(cond, sp.Or):
            return any(self._truth(c) for c in cond.args)
        if isinstance(cond, sp.Not):
            return not self._truth(cond.args[0])
        raise UnsupportedError(f"cannot evaluate the condition {cond}")
