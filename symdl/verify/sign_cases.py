r"""Identities with ``|a|``, ``sign(a)``, ``max``, ``min`` and ``heaviside``, proved case by case.

For real :math:`a`: where :math:`a > 0`, :math:`|a| = a`, :math:`\operatorname{sign} a = 1`,
:math:`H(a) = 1`; where :math:`a < 0`, :math:`|a| = -a`, :math:`\operatorname{sign} a = -1`,
:math:`H(a) = 0`; where :math:`a = 0`, :math:`|a| = \operatorname{sign} a = 0` and
:math:`H(a) = H_0` (SymPy's ``Heaviside(a, H0)``, :math:`\tfrac12` unless given). And
:math:`\max(a, b) = (a + b + |a - b|)/2`, :math:`\min(a, b) = (a + b - |a - b|)/2`
everywhere. So a difference :math:`d` is identically 0 if, for each of the three cases of
an innermost argument :math:`a`, :math:`d` with those atoms replaced by their values in
that case is identically 0, recursively for the remaining arguments; in the case
:math:`a = 0` every occurrence of :math:`a` itself is replaced by 0 too (its value
there), and a variable :math:`v` with :math:`a` linear in :math:`v` by the root. Distinct
arguments get their cases independently (a combination that is empty only asks for
more), and nested ones after their inner arguments are replaced. Every case must reduce
to an exact symbolic 0 (``expand``, ``cancel``, ``simplify``): nothing is sampled, except
that a case found non-zero at one random point is known not to reduce and ends the
attempt early. The zero cases cover the kink set, so a success proves the identity
everywhere, at the kinks included — e.g. ``softsign'`` written
:math:`(1 - x\operatorname{sign}x + |x|)/(1 + |x|)^2` equals :math:`1/(1 + |x|)^2`.
"""

from __future__ import annotations

import random

import sympy as sp

from symdl.budget import deadline
from symdl.errors import BudgetExceeded
from symdl.nodes import expand_catalog

__all__ = ["MAX_CASES", "zero_by_cases"]

#: Most leaf cases (three per distinct argument) one attempt may examine.
MAX_CASES = 81
_ATOMS = (sp.Abs, sp.sign, sp.Heaviside)
_RELATIONS = (sp.StrictLessThan, sp.StrictGreaterThan, sp.LessThan, sp.GreaterThan)
_KINKY = _ATOMS + _RELATIONS


def _argument(n: sp.Basic) -> sp.Expr:
    """What decides ``n``: the argument of an atom, ``lhs - rhs`` of a relation."""
    return n.lhs - n.rhs if isinstance(n, _RELATIONS) else n.args[0]


def zero_by_cases(d: sp.Basic, *, seconds: float = 5.0, thorough: bool = True) -> str | None:
    """``"sign cases (n)"`` if ``d`` reduces to 0 in each of its ``n`` sign cases, else None.

    A condition ``p < q`` (``>``, ``≤``, ``≥``) of a ``Piecewise`` is decided by the
    sign of :math:`p - q` the same way, so a case of a rule (``min(1/2, x) = x`` where
    :math:`x < 1/2`, held by ``Piecewise``) is proved in the one case where it holds.
    ``thorough=False`` reduces each case by ``expand``, ``powsimp`` and ``cancel`` only
    (no ``simplify``). None also when ``d`` has no such atoms, has a ``DiracDelta``,
    needs more than :data:`MAX_CASES` cases, or the attempt takes longer than ``seconds``.
    """
    e = expand_catalog(d)
    if e.has(sp.Max, sp.Min):
        e = e.replace(lambda n: isinstance(n, (sp.Max, sp.Min)), lambda n: n.rewrite(sp.Abs))
    if e.has(sp.DiracDelta) or seconds <= 0:
        return None
    if not e.has(*_KINKY):  # nothing to split, or max and min written with |·| cancel
        return "max and min in |·|" if e != d and sp.expand(e) == 0 else None
    counter = [0]
    try:
        with deadline(seconds):
            ok = _split(e, counter, random.Random(0), thorough)
    except (BudgetExceeded, ValueError, TypeError, ArithmeticError, NotImplementedError):
        return None  # out of time, or SymPy failed on a case: no proof either way
    return f"sign cases ({counter[0]})" if ok else None


def _innermost(e: sp.Basic) -> sp.Expr | None:
    """An argument of an innermost atom, with a leading minus sign taken out."""
    for n in sp.preorder_traversal(e):
        if isinstance(n, _KINKY) and not _argument(n).has(*_KINKY):
            a = _argument(n)
            return -a if a.could_extract_minus_sign() else a
    return None


def _case(e: sp.Basic, a: sp.Expr, s: int) -> sp.Basic:
    """``e`` where ``a`` has sign ``s`` (1, -1, or 0)."""

    def value(n: sp.Basic) -> sp.Basic:
        arg = _argument(n)
        o = s if arg == a else -s  # arg is a or -a
        if isinstance(n, _RELATIONS):
            holds = {
                sp.StrictLessThan: o < 0,
                sp.StrictGreaterThan: o > 0,
                sp.LessThan: o <= 0,
                sp.GreaterThan: o >= 0,
            }[type(n)]
            return sp.true if holds else sp.false
        if isinstance(n, sp.Abs):
            return o * arg
        if isinstance(n, sp.sign):
            return sp.Integer(o)
        if o == 0:
            return n.args[1] if len(n.args) > 1 else sp.S.Half
        return sp.Integer(1 if o > 0 else 0)

    out = e.replace(lambda n: isinstance(n, _KINKY) and _argument(n) in (a, -a), value)
    if s != 0:
        return out
    free = a.free_symbols
    if len(free) == 1:
        (v,) = free
        p = a.as_poly(v)
        if p is not None and p.degree() == 1 and all(c.is_number for c in p.all_coeffs()):
            return out.xreplace({v: sp.solve(a, v)[0]})
    return out.xreplace({a: sp.S.Zero})


def _split(e: sp.Basic, counter: list[int], rng: random.Random, thorough: bool) -> bool:
    a = _innermost(e)
    if a is None:
        counter[0] += 1
        if counter[0] > MAX_CASES:
            return False
        return _leaf_zero(e, rng, thorough)
    return all(_split(_case(e, a, s), counter, rng, thorough) for s in (0, 1, -1))


def _leaf_zero(e: sp.Basic, rng: random.Random, thorough: bool) -> bool:
    from symdl.verify.symbolic import elementary

    if e == 0:
        return True
    if _nonzero_somewhere(e, rng):
        return False
    steps = [
        sp.expand,
        lambda u: sp.expand(sp.powsimp(u)),
        lambda u: sp.cancel(sp.together(u)),
    ]
    if thorough:
        steps += [sp.simplify, lambda u: sp.simplify(elementary(u))]
    return any(step(e) == 0 for step in steps)


def _nonzero_somewhere(e: sp.Basic, rng: random.Random) -> bool:
    """True if ``e`` is clearly non-zero at one random point (then no rewriting makes it 0)."""
    free = sorted(e.free_symbols, key=str)
    point = {s: sp.Rational(rng.randint(-2000, 2000), 997) for s in free}
    try:
        v = sp.N(expand_catalog(e).xreplace(point), 30)
    except (TypeError, ValueError, ArithmeticError, RecursionError):
        return False
    if not v.is_number or v.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
        return False
    re, im = v.as_real_imag()
    return bool(abs(re) > 1e-10 or abs(im) > 1e-10)
