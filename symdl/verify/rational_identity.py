r"""Prove a rational function of one variable identically zero from exact values at enough
points, with a degree bound read off the expression as it is written.

Write every node :math:`v` of an expression built from rational numbers, one variable
:math:`x`, sums, products and integer powers as :math:`N_v / Q_v`, where
:math:`N_v \in \mathbb{Q}[x]` and :math:`Q_v = \prod_u N_u^{e_{v,u}}` is a product of powers
of the numerators of the bases :math:`u` of the negative powers in the expression, combined
without any cancellation:

* a number :math:`c`: :math:`N = c`, :math:`Q = 1`; the variable: :math:`N = x`, :math:`Q = 1`;
* a sum :math:`\sum_i v_i`: each base at its highest power among the terms,
  :math:`e_{v,u} = \max_i e_{i,u}`, and :math:`N = \sum_i N_i \, Q_v / Q_i`;
* a product :math:`\prod_i v_i`: :math:`N = \prod_i N_i`, the exponents add;
* a power :math:`u^k` with :math:`k \ge 0`: :math:`N = N_u^k`, the exponents times :math:`k`;
  with :math:`k < 0`: :math:`N = Q_u^{|k|}` and :math:`Q = N_u^{|k|}`.

For :math:`a/b + c/e` with different bases this is the textbook :math:`(a e + c b)/(b e)`; a
base met in several terms counts once, at its highest power. The same rules bound the
degrees, :math:`n_v \ge \deg N_v`: for a sum
:math:`n_v \le \max_i \bigl(n_i + \sum_u (e_{v,u} - e_{i,u})\, n_u\bigr)`, for a product
:math:`\sum_i n_i`, for :math:`u^k` :math:`k n_u`, for :math:`u^{-k}`
:math:`k \sum_w e_{u,w} n_w`; and :math:`\deg Q_v \le \sum_u e_{v,u} n_u`.

Call a point :math:`p` *admissible* if the exact evaluation of the expression at :math:`p`
divides by no zero: every base of a negative power evaluates to a non-zero number. By
induction over the nodes, arguments first, at an admissible point :math:`Q_v(p) \ne 0` and
:math:`v(p) = N_v(p) / Q_v(p)` for every node: every base :math:`u` below :math:`v` has
:math:`u(p) \ne 0`, so :math:`N_u(p) = u(p)\, Q_u(p) \ne 0` and :math:`Q_v(p) \ne 0`, and a
sum, product or power of the fractions :math:`N_i(p)/Q_i(p)` is the fraction the rules
build. Hence :math:`d(p) = 0` at an admissible point gives :math:`N_d(p) = 0`. If that
holds at :math:`D + 1` distinct admissible points with :math:`D \ge n_d \ge \deg N_d`, then
:math:`N_d` is the zero polynomial, since a non-zero polynomial of degree at most
:math:`D` has at most :math:`D` roots. So :math:`d = N_d / Q_d = 0` at every admissible
point, real or complex: *identically zero* here means zero wherever :math:`d` is defined
(``(x**2 - 1)/(x - 1) - (x + 1)`` is, although undefined at 1), which is the same as zero
in the field :math:`\mathbb{Q}(x)`.

An inadmissible point is a root of :math:`N_u` for the base :math:`u` of some negative
power. When every such :math:`N_u` is non-zero there are at most :math:`\sum_u n_u` of
them; more inadmissible points than that mean some :math:`N_u` is the zero polynomial and
:math:`d` is defined nowhere, and nothing is proved. Exact arithmetic is
:class:`fractions.Fraction` (SymPy's ``Rational`` was about four times slower here).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from math import gcd
from typing import NamedTuple

import sympy as sp

from symdl.budget import deadline
from symdl.errors import BudgetExceeded

__all__ = ["DEGREE_CAP", "degree_bound", "rational_points", "zero_by_degree"]

#: No proof is attempted for a numerator degree bound above this (the exact values grow
#: with the degree, and so does their number).
DEGREE_CAP = 5000


class _Op(NamedTuple):
    """One node of the expression: ``kind`` is "number", "x", "+", "*" or "^"; ``args``
    index earlier nodes; ``number`` is the value of a number, ``power`` the exponent."""

    kind: str
    args: tuple[int, ...] = ()
    number: Fraction = Fraction(0)
    power: int = 0


@dataclass(frozen=True)
class _Program:
    """The expression's distinct nodes in an order where arguments come first (the last is
    the whole), the degree bounds of the whole, and the bound on inadmissible
    points (the sum of the numerator bounds of the bases of negative powers)."""

    ops: tuple[_Op, ...]
    numerator: int
    denominator: int
    poles: int


def _compile(e: sp.Basic) -> _Program | None:
    """``e`` as a program, or None unless it is a rational function of one symbol."""
    free = e.free_symbols
    if len(free) != 1:
        return None
    (x,) = free
    if not (isinstance(x, sp.Symbol) and x.is_commutative):
        return None
    index: dict[sp.Basic, int] = {}
    ops: list[_Op] = []
    numerators: list[int] = []  # n_v, a bound on deg N_v
    powers: list[dict[int, int]] = []  # e_{v,u}, by the index of the base u
    bases: set[int] = set()

    def below(exponents: dict[int, int]) -> int:  # a degree bound of prod_u N_u**e_u
        return sum(k * numerators[u] for u, k in exponents.items())

    def visit(n: sp.Basic) -> int | None:
        if n in index:
            return index[n]
        exps: dict[int, int] = {}
        if isinstance(n, sp.Rational):
            op, top = _Op("number", number=Fraction(int(n.p), int(n.q))), 0
        elif n == x:
            op, top = _Op("x"), 1
        elif isinstance(n, (sp.Add, sp.Mul)):
            args = []
            for a in n.args:
                i = visit(a)
                if i is None:
                    return None
                args.append(i)
            if isinstance(n, sp.Add):
                for i in args:
                    for u, k in powers[i].items():
                        exps[u] = max(exps.get(u, 0), k)
                whole = below(exps)
                op, top = (
                    _Op("+", tuple(args)),
                    max(numerators[i] + whole - below(powers[i]) for i in args),
                )
            else:
                for i in args:
                    for u, k in powers[i].items():
                        exps[u] = exps.get(u, 0) + k
                op, top = _Op("*", tuple(args)), sum(numerators[i] for i in args)
        elif isinstance(n, sp.Pow) and isinstance(n.exp, sp.Integer):
            i = visit(n.base)
            if i is None:
                return None
            k = int(n.exp)
            op = _Op("^", (i,), power=k)
            if k >= 0:
                top = k * numerators[i]
                exps = {u: k * j for u, j in powers[i].items()} if k else {}
            else:
                top, exps = -k * below(powers[i]), {i: -k}
                bases.add(i)
        else:
            return None
        index[n] = len(ops)
        ops.append(op)
        numerators.append(top)
        powers.append(exps)
        return index[n]

    try:
        if visit(e) is None:
            return None
    except RecursionError:
        return None
    return _Program(
        tuple(ops), numerators[-1], below(powers[-1]), sum(numerators[i] for i in bases)
    )


def degree_bound(e: sp.Basic) -> tuple[int, int] | None:
    """Upper bounds on the degrees of the numerator and denominator of ``e`` combined by
    the module's rules (no cancellation), or None unless ``e`` is built from rational numbers,
    one symbol, sums, products and integer powers.

    >>> x = sp.Symbol("x")
    >>> degree_bound((x**2 - 1) / (x - 1) - (x + 1))
    (2, 1)
    """
    program = _compile(e)
    return None if program is None else (program.numerator, program.denominator)


def rational_points() -> Iterator[Fraction]:
    """0, then every other rational once, by height: ``max(|a|, b)`` of ``a/b`` in lowest
    terms, then ``b``, then ``a`` (positive first): 0, 1, -1, 2, -2, 1/2, -1/2, 3, ...

    Low heights keep the exact values short: about :math:`1.2 h^2` rationals have height at
    most :math:`h`, against :math:`2h` integers."""
    yield Fraction(0)
    h = 1
    while True:
        for b in range(1, h + 1):
            for a in (h,) if b < h else range(1, h + 1):
                if gcd(a, b) == 1:
                    yield Fraction(a, b)
                    yield Fraction(-a, b)
        h += 1


def _value(program: _Program, p: Fraction) -> Fraction:
    """The exact value at ``p`` (ZeroDivisionError where ``p`` is not admissible)."""
    values: list[Fraction] = []
    for op in program.ops:
        if op.kind == "number":
            v = op.number
        elif op.kind == "x":
            v = p
        elif op.kind == "+":
            v = sum((values[i] for i in op.args), Fraction(0))
        elif op.kind == "*":
            v = Fraction(1)
            for i in op.args:
                v *= values[i]
        else:
            v = values[op.args[0]] ** op.power
        values.append(v)
    return values[-1]


def zero_by_degree(d: sp.Basic, *, seconds: float = 5.0) -> str | None:
    """The method that proves the rational function ``d`` of one variable identically
    zero (wherever it is defined), or None.

    ``d`` must be built from Integers and Rationals, one symbol, ``Add``, ``Mul`` and
    ``Pow`` with an Integer exponent; anything else (a Float, ``pi``, ``sqrt(2)``, a
    function, a symbolic exponent, a second symbol) gives None. With :math:`D` the naive
    numerator degree bound (see the module), ``d`` is evaluated exactly at the first
    :math:`D + 1` admissible points of :func:`rational_points`; all zero proves ``d``
    identically zero, for a non-zero polynomial of degree at most :math:`D` has at most
    :math:`D` roots. The first non-zero value gives None: this only proves, it never
    refutes. None also when :math:`D >` :data:`DEGREE_CAP`, when ``d`` is defined nowhere,
    or when the work takes more than ``seconds`` (a :func:`symdl.budget.deadline`: in the
    main thread of a POSIX process; elsewhere only the cap bounds the work).

    >>> x = sp.Symbol("x")
    >>> zero_by_degree((x**2 - 1) / (x - 1) - (x + 1))
    'exact values at 3 points (numerator degree ≤ 2)'
    """
    try:
        with deadline(seconds):
            program = _compile(d)
            if program is None or program.numerator > DEGREE_CAP:
                return None
            needed, skipped = program.numerator + 1, 0
            points = rational_points()
            zeros = 0
            while zeros < needed:
                try:
                    value = _value(program, next(points))
                except ZeroDivisionError:
                    skipped += 1
                    if skipped > program.poles:  # a base of a negative power is 0
                        return None
                    continue
                if value != 0:
                    return None
                zeros += 1
    except BudgetExceeded:
        return None
    return f"exact values at {needed} points (numerator degree ≤ {program.numerator})"
