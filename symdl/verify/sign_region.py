r"""The sign of an expression throughout a region that sign cases describe.

A case of :mod:`symdl.verify.sign_cases` is a list of decided arguments and their signs,
written in the current variables, some of which carry a sign themselves (a linear
argument's case is written with a signed variable). :func:`sign_on_region` answers 1, −1
or 0 only when that sign holds at *every* point of the region — otherwise None — so a
case it rules out is empty and needs no proof. Each answer rests on one of:

- an argument decided before: :math:`a = \pm b`, or :math:`a = \pm b + r` with :math:`r`
  of the same sign as :math:`\pm b`;
- SymPy's assumptions, after each decided argument inside :math:`a` is written as a fresh
  variable of its sign (``x + cos y`` where ``cos y > 0`` becomes ``x + t``, ``t > 0``),
  which only enlarges the set of values :math:`a` may take;
- a polynomial in one variable with no real root on the variable's range (Sturm
  sequences, ``Poly.count_roots``);
- a rigorous interval enclosure (:func:`symdl.verify.interval.enclose`) over each
  variable's range: the real line, a sign, and any bounds that decided linear arguments
  in one variable give it (``x < 1/2`` with ``x > 0``).
"""

from __future__ import annotations

from typing import Any

import sympy as sp

from symdl.errors import SymdlError
from symdl.nodes import expand_catalog

__all__ = [
    "KINKS",
    "Known",
    "box_of",
    "completed_square",
    "linear_in",
    "rational_sign",
    "real_parts",
    "settled_kinks",
    "sign_on_region",
]

#: The functions with kinks (or jumps) that sign cases split on.
KINKS = (sp.Abs, sp.sign, sp.Heaviside, sp.Max, sp.Min)
#: Decided arguments, written in the current variables, and their signs (1, −1 or 0).
Known = tuple[tuple[sp.Expr, int], ...]

_INF = sp.oo


def sign_on_region(a: sp.Expr, known: Known) -> int | None:
    """1, −1 or 0 if ``a`` has that sign throughout the region ``known`` describes."""
    for b, o in known:
        if a == b:
            return o
        if a == -b:
            return -o
    stand_ins: dict[sp.Basic, sp.Basic] = {}
    for b, o in known:
        stand_ins[b] = sp.S.Zero if o == 0 else sp.Dummy(positive=o > 0, negative=o < 0)
    box = box_of(known)
    own = _sign(a, stand_ins, box)
    if own is not None:
        return own
    expanded = {sp.expand(b): o for b, o in known}  # r below is expanded
    for b, o in known:  # a = c + r with c = ±b of a known sign, r of that sign too
        if o == 0:
            continue
        for c, sign in ((b, o), (-b, -o)):
            r = sp.expand(a - c)
            of_r = 0 if r == 0 else expanded.get(r, -expanded.get(-r, 2))  # ±2: not known
            if of_r in (0, sign) or _sign(r, stand_ins, box) == sign:
                return sign
    return None


def _sign(
    a: sp.Expr, stand_ins: dict[sp.Basic, sp.Basic], box: dict[sp.Symbol, tuple]
) -> int | None:
    from symdl.verify.interval import enclose

    general = a.xreplace(stand_ins) if stand_ins else a
    if not _real_variables(general):
        return None  # the ranges below are real intervals
    if general.is_positive:
        return 1
    if general.is_negative:
        return -1
    rational = rational_sign(general, box)
    if rational is not None:
        return rational
    ranges = {v: box.get(v, _range(v)) for v in general.free_symbols}
    try:
        lo, hi = enclose(expand_catalog(general), {v: _ends(r) for v, r in ranges.items()})
    except (SymdlError, ValueError, TypeError, ArithmeticError, ZeroDivisionError):
        return None
    if lo > 0:
        return 1
    if hi < 0:
        return -1
    return None


def real_parts(e: sp.Basic) -> sp.Basic:
    r"""``e`` with :math:`\operatorname{re} a = a`, :math:`\operatorname{im} a = 0` and
    :math:`\arg a \in \{0, \pi\}` written out wherever :math:`a` is real on every
    variable's range — shown by SymPy's assumptions or by an interval enclosure, which
    exists only where :math:`a` is defined and real on the whole box.

    SymPy differentiates :math:`|u|` as :math:`(\operatorname{re} u\,(\operatorname{re}
    u)' + \operatorname{im} u\,(\operatorname{im} u)')/|u|` when it cannot tell that
    :math:`u = (2 + \sin x)^{\tanh x}` is real; this gives back :math:`u\,u'/|u|`.
    """
    from symdl.verify.interval import enclose

    def enclosure(a: sp.Expr) -> tuple[Any, Any] | None:
        if not _real_variables(a):
            return None  # a complex variable: no real enclosure says anything
        ranges = {v: _ends(_range(v)) for v in a.free_symbols}
        try:
            return enclose(expand_catalog(a), ranges)  # type: ignore[arg-type]
        except (SymdlError, ValueError, TypeError, ArithmeticError, ZeroDivisionError):
            return None

    def real(n: sp.Basic) -> sp.Basic:
        a = n.args[0]
        ends = enclosure(a)
        if a.is_extended_real is not True and ends is None:
            return n
        if isinstance(n, sp.re):
            return a
        if isinstance(n, sp.im):
            return sp.S.Zero
        if ends is not None and ends[0] > 0:  # arg: 0 where a > 0, π where a < 0
            return sp.S.Zero
        if ends is not None and ends[1] < 0:
            return sp.pi
        return n

    if not e.has(sp.re, sp.im, sp.arg):
        return e
    return e.replace(lambda n: isinstance(n, (sp.re, sp.im, sp.arg)), real)


def settled_kinks(e: sp.Basic) -> sp.Basic:
    r"""``e`` with every :math:`|u|`, :math:`\operatorname{sign} u`, :math:`H(u)`,
    :math:`\max` and :math:`\min` whose argument keeps one sign on every variable's range
    written as its value there: :math:`\min(0, (2 + \sin x)^{1/2}) = 0` and so
    :math:`|\min(0, (2 + \sin x)^{1/2})| = 0` for every real :math:`x`.

    The result equals ``e`` at every point, so it has the same derivative; SymPy's
    derivative of the original can be defined nowhere (:math:`u\,u'/|u|` with
    :math:`u \equiv 0`). Signs are settled as :func:`sign_on_region` settles them, with
    nothing decided: assumptions, Sturm sequences, interval enclosures.
    """
    if not e.has(*KINKS) or not _real_variables(e):
        return e

    def sign(a: sp.Expr) -> int | None:
        return 0 if a == 0 else _sign(a, {}, {})

    def settle(n: sp.Basic) -> sp.Basic:
        if isinstance(n, (sp.Max, sp.Min)):
            bigger = 1 if isinstance(n, sp.Max) else -1
            kept = list(n.args)  # drop each argument another one beats everywhere
            for a in n.args:
                if any(b != a and sign(bigger * (b - a)) in (0, 1) for b in kept):
                    kept.remove(a)
            return n.func(*kept) if len(kept) < len(n.args) else n
        s = sign(n.args[0])
        if s is None:
            return n
        if isinstance(n, sp.Abs):
            return s * n.args[0]
        if isinstance(n, sp.sign):
            return sp.Integer(s)
        if s == 0:
            return n.args[1] if len(n.args) > 1 else sp.S.Half
        return sp.Integer(1 if s > 0 else 0)

    return e.replace(lambda n: isinstance(n, KINKS), settle)


def completed_square(a: sp.Expr) -> sp.Expr | None:
    r"""``a`` as its non-constant part factored plus its constant term, where that is a
    different form: :math:`u^2 + 2uL + L^2 + 1 = (u + L)^2 + 1`, whose sign an enclosure
    or SymPy's assumptions see (SymPy writes the expanded form in its derivative of
    :math:`\log((u + L)^2 + 1)`). Only sums, products and integer powers are factored;
    every other sub-expression (:math:`L = \log(u^4 + 1)`) is one generator, kept as
    written. None where that changes nothing."""
    if not isinstance(a, sp.Add):
        return None
    constant, rest = a.as_independent(*a.free_symbols, as_Add=True)
    if rest == 0:
        return None
    pieces: dict[sp.Basic, sp.Dummy] = {}

    def generators(e: sp.Basic) -> sp.Basic:
        if isinstance(e, (sp.Add, sp.Mul)):
            return e.func(*(generators(t) for t in e.args))
        if isinstance(e, sp.Pow) and e.exp.is_Integer and abs(e.exp) <= 16:
            return generators(e.base) ** e.exp
        if isinstance(e, (sp.Symbol, sp.Rational)):
            return e
        return pieces.setdefault(e, sp.Dummy())

    try:
        factored = sp.factor(generators(rest))
    except (ValueError, TypeError, ArithmeticError, sp.PolynomialError):
        return None
    back = factored.xreplace({d: e for e, d in pieces.items()})
    return None if back == rest else back + constant


def _real_variables(a: sp.Basic) -> bool:
    return all(v.is_extended_real for v in a.free_symbols)


def linear_in(a: sp.Expr, v: sp.Symbol) -> tuple[sp.Expr, sp.Expr] | None:
    """``(k, c)`` if ``a = k·v + c`` with a number ``k ≠ 0`` and ``c`` free of ``v``."""
    k = sp.diff(a, v)
    if not (k.is_number and k != 0):
        return None
    c = sp.expand(a - k * v)
    return None if v in c.free_symbols else (k, c)


def _range(v: sp.Symbol) -> tuple[sp.Expr, sp.Expr]:
    if v.is_positive:
        return sp.S.Zero, _INF
    if v.is_negative:
        return -_INF, sp.S.Zero
    return -_INF, _INF


def _ends(r: tuple[sp.Expr, sp.Expr]) -> tuple[object, object]:
    return tuple("inf" if e == _INF else "-inf" if e == -_INF else e for e in r)  # type: ignore[return-value]


def box_of(
    known: Known, variables: list[sp.Symbol] | None = None
) -> dict[sp.Symbol, tuple[sp.Expr, sp.Expr]]:
    """Each variable's range: its sign's, narrowed by every decided argument ``k·v + c``
    (numbers ``k ≠ 0``, ``c``) of a non-zero sign; with ``variables``, those variables'
    ranges too (only the narrowed ones otherwise)."""
    box: dict[sp.Symbol, tuple[sp.Expr, sp.Expr]] = {v: _range(v) for v in variables or ()}
    for b, o in known:
        if o == 0 or len(b.free_symbols) != 1:
            continue
        (v,) = b.free_symbols
        line = linear_in(b, v)
        if line is None or not line[1].is_number:
            continue
        k, c = line
        lo, hi = box.get(v, _range(v))
        root = -c / k
        if (k > 0) == (o > 0):
            lo = sp.Max(lo, root)  # k·v + c > 0 with k > 0: v > root
        else:
            hi = sp.Min(hi, root)
        box[v] = (lo, hi)
    return box


def rational_sign(a: sp.Expr, box: dict[sp.Symbol, tuple[sp.Expr, sp.Expr]]) -> int | None:
    """The sign of a rational function of one variable with rational coefficients, if
    neither its numerator nor its denominator has a real root on the variable's (closed)
    range (Sturm sequences, ``count_roots``)."""
    if len(a.free_symbols) != 1:
        return None
    (v,) = a.free_symbols
    lo, hi = box.get(v, _range(v))
    if not (lo.is_Rational or lo == -_INF) or not (hi.is_Rational or hi == _INF) or lo >= hi:
        return None
    try:
        numerator, denominator = sp.fraction(sp.together(a))
        signs = [_polynomial_sign(sp.Poly(p, v), lo, hi) for p in (numerator, denominator)]
    except (sp.PolynomialError, sp.CoercionFailed):
        return None
    if None in signs:
        return None
    return signs[0] * signs[1]  # type: ignore[operator]


def _polynomial_sign(p: sp.Poly, lo: sp.Expr, hi: sp.Expr) -> int | None:
    if p.domain not in (sp.ZZ, sp.QQ):
        return None
    if p.degree() < 1:
        value = p.as_expr()
        return None if value == 0 else 1 if value > 0 else -1
    count = p.count_roots(None if lo == -_INF else lo, None if hi == _INF else hi)
    if count != 0:
        return None
    if lo == -_INF:
        inside = sp.S.Zero if hi == _INF else hi - 1
    else:
        inside = lo + 1 if hi == _INF else (lo + hi) / 2
    value = p.eval(inside)
    return 1 if value > 0 else -1
