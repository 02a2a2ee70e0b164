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
to an exact symbolic 0 (``expand``, ``cancel``, ``simplify``) or be empty — its signs
cannot occur together (:mod:`symdl.verify.sign_empty`): nothing is sampled, except that
a case found non-zero at one random point is known not to reduce and is then either
shown empty or ends the attempt. The zero cases cover the kink set, so a success proves the identity
everywhere, at the kinks included — e.g. ``softsign'`` written
:math:`(1 - x\operatorname{sign}x + |x|)/(1 + |x|)^2` equals :math:`1/(1 + |x|)^2`.

Away from the kinks (``kinks=False``) the case :math:`a = 0` is left out, so a success
proves :math:`d = 0` wherever no argument met on the way is zero. That is the claim to
make about two derivatives of a kinked function, which exist only there and whose values
*at* a kink are conventions (SymPy's ``Heaviside(0) = 1/2`` against a one-sided rule's
``0``). The left-out set is small, not everything: an argument is left out only if it is
clearly non-zero at a random point, and then, as a real-analytic function on a
connected domain (every atom below it has been replaced by its value in the case), it is
zero only on a set of measure zero. An argument that is zero at the random point keeps
its zero case.
"""

from __future__ import annotations

import random

import sympy as sp

from symdl.budget import deadline
from symdl.errors import BudgetExceeded
from symdl.nodes import expand_catalog
from symdl.verify.sign_empty import region_empty
from symdl.verify.sign_region import (
    Known,
    completed_square,
    linear_in,
    real_parts,
    sign_on_region,
)

__all__ = ["MAX_CASES", "zero_by_cases"]

#: Most leaf cases (three per distinct argument) one attempt may examine.
MAX_CASES = 81
_ATOMS = (sp.Abs, sp.sign, sp.Heaviside)
_RELATIONS = (sp.StrictLessThan, sp.StrictGreaterThan, sp.LessThan, sp.GreaterThan)
_KINKY = _ATOMS + _RELATIONS


def _argument(n: sp.Basic) -> sp.Expr:
    """What decides ``n``: the argument of an atom, ``lhs - rhs`` of a relation."""
    return n.lhs - n.rhs if isinstance(n, _RELATIONS) else n.args[0]


def zero_by_cases(
    d: sp.Basic, *, seconds: float = 5.0, thorough: bool = True, kinks: bool = True
) -> str | None:
    """``"sign cases (n)"`` if ``d`` reduces to 0 in each of its ``n`` sign cases, else None.

    A condition ``p < q`` (``>``, ``≤``, ``≥``) of a ``Piecewise`` is decided by the
    sign of :math:`p - q` the same way, so a case of a rule (``min(1/2, x) = x`` where
    :math:`x < 1/2`, held by ``Piecewise``) is proved in the one case where it holds.
    ``thorough=False`` reduces each case by ``expand``, ``powsimp`` and ``cancel`` only
    (no ``simplify``). None also when ``d`` has no such atoms, has a ``DiracDelta``,
    needs more than :data:`MAX_CASES` cases, or the attempt takes longer than ``seconds``.
    ``kinks=False`` leaves out the zero case of every argument that is not identically
    zero; the answer is then ``"sign cases away from kinks (n; k left out)"`` with the
    number ``k`` of zero cases left out, or the plain answer if none was. A case that
    does not reduce is shown empty where it can be
    (:func:`~symdl.verify.sign_empty.region_empty`), and the count says how many were:
    ``"sign cases (n, m empty)"``.
    """
    e = real_parts(expand_catalog(d))
    if e.has(sp.Max, sp.Min):
        e = e.replace(lambda n: isinstance(n, (sp.Max, sp.Min)), lambda n: n.rewrite(sp.Abs))
    if e.has(sp.DiracDelta) or seconds <= 0:
        return None
    if not e.has(*_KINKY):  # nothing to split, or max and min written with |·| cancel
        return "max and min in |·|" if e != d and sp.expand(e) == 0 else None
    counter = _Counter(kinks=kinks)
    try:
        with deadline(seconds):
            ok = _split(e, counter, random.Random(0), thorough)
    except (BudgetExceeded, ValueError, TypeError, ArithmeticError, NotImplementedError):
        return None  # out of time, or SymPy failed on a case: no proof either way
    if not ok:
        return None
    empty = f", {counter.empty} empty" if counter.empty else ""
    if counter.left_out:
        return f"sign cases away from kinks ({counter.cases}{empty}; {counter.left_out} left out)"
    return f"sign cases ({counter.cases}{empty})"


class _Counter:
    """Leaf cases examined, and zero cases left out (only where ``kinks`` is False)."""

    def __init__(self, *, kinks: bool):
        self.kinks = kinks
        self.cases = 0
        self.left_out = 0
        self.empty = 0


def _innermost(e: sp.Basic) -> tuple[sp.Expr, sp.Expr] | None:
    """``(a, written)``: the argument of an innermost atom in its normal form
    (:func:`_normal`) with a leading minus sign taken out, and as written, the same way
    round."""
    for n in sp.preorder_traversal(e):
        if isinstance(n, _KINKY) and not _argument(n).has(*_KINKY):
            written = _argument(n)
            a = _normal(written)
            return (-a, -written) if a.could_extract_minus_sign() else (a, written)
    return None


def _normal(arg: sp.Expr) -> sp.Expr:
    r"""An argument expanded at the top (where that stays small), so that one argument
    written two ways — ``(x - 9/2)**2 - 1/2`` and ``(9/2 - x)**2/2 + (x - 9/2)**2/2 - 1/2``
    — is split once, and its sign known the second time. The expression keeps the form
    as written, whose enclosure can be the tighter: :math:`(u + L)^2 + 1 \ge 1`, where
    :math:`u^2 + 2uL + L^2 + 1` has none."""
    from symdl.verify.symbolic import expansion_bound

    if expansion_bound(arg, cap=200) > 200:
        return arg
    return sp.expand(arg, deep=False)


def _case(
    e: sp.Basic, a: sp.Expr, written: sp.Expr, s: int
) -> tuple[sp.Basic, dict[sp.Basic, sp.Basic]]:
    """``e`` where ``a`` (in its normal form; ``written`` as written) has sign ``s`` (1,
    -1, or 0), and the substitution of a variable that writes the case (empty if none
    does)."""

    normals: dict[sp.Basic, sp.Expr] = {}

    def normal(arg: sp.Expr) -> sp.Expr:  # each argument expanded once per case
        if arg not in normals:
            normals[arg] = _normal(arg)
        return normals[arg]

    def value(n: sp.Basic) -> sp.Basic:
        arg = _argument(n)
        o = s if normal(arg) == a else -s  # arg is a or -a, written some way
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

    out = e.replace(lambda n: isinstance(n, _KINKY) and normal(_argument(n)) in (a, -a), value)
    line = _linear(a)
    if line is None:
        return (out, {}) if s != 0 else (out.xreplace({a: sp.S.Zero, written: sp.S.Zero}), {})
    v, k, c = line
    if s == 0:
        return out.xreplace({v: -c / k}), {v: -c / k}
    # a = k·v + c has sign s: v = (s·t − c)/k with t > 0, so SymPy itself settles the
    # sign of other arguments such as 2x or x + 1 where x > 0, or x − y + 1 where x > y:
    # a combination that cannot occur is never examined
    t = sp.Dummy(str(v), positive=True)
    return out.xreplace({v: (s * t - c) / k}), {v: (s * t - c) / k}


def _linear(a: sp.Expr) -> tuple[sp.Symbol, sp.Expr, sp.Expr] | None:
    """``(v, k, c)`` if ``a = k·v + c`` for a variable ``v``, a number ``k ≠ 0`` and ``c``
    free of ``v`` (``x - y``, ``x - sin(y)``, ``2x + 1``): then each sign case of ``a`` is
    all of its region, written with ``v = (s·t − c)/k``. A variable of known sign (an
    earlier case's) is never chosen: writing it away would forget its sign."""
    for v in sorted(a.free_symbols, key=str):
        if v.is_positive is not None or v.is_negative is not None:
            continue
        line = linear_in(a, v)
        if line is not None:
            return v, *line  # type: ignore[return-value]
    return None


def _split(
    e: sp.Basic, counter: _Counter, rng: random.Random, thorough: bool, known: Known = ()
) -> bool:
    atom = _innermost(e)
    if atom is None:
        counter.cases += 1
        if counter.cases > MAX_CASES:
            return False
        if _leaf_zero(e, rng, thorough):
            return True
        if known and region_empty(known):  # signs that cannot occur together
            counter.empty += 1
            return True
        return False
    a, written = atom
    signs: tuple[int, ...] = (0, 1, -1)
    settled = sign_on_region(a, known)
    if settled is None and written != a:
        settled = sign_on_region(written, known)
    if settled is None:
        square = completed_square(a)
        settled = None if square is None else sign_on_region(square, known)
    if settled is not None:
        signs = (settled,)
    elif not counter.kinks and _nonzero_somewhere(a, rng, real=True):
        signs = (1, -1)
        counter.left_out += 1
    for s in signs:
        out, substitution = _case(e, a, written, s)
        inner = tuple((b.xreplace(substitution), o) for b, o in known)
        if not substitution:  # a case of a non-linear argument: remember its sign
            inner += ((a, s),)
        if not _split(out, counter, rng, thorough, inner):
            return False
    return True


def _leaf_zero(e: sp.Basic, rng: random.Random, thorough: bool) -> bool:
    from symdl.verify.symbolic import IN_PROCESS_TERMS, elementary, expansion_bound, split_powers

    if e == 0:
        return True
    if _nonzero_somewhere(e, rng):
        return False
    steps = [
        sp.expand,
        lambda u: sp.expand(sp.powsimp(u)),
        lambda u: sp.cancel(sp.together(u)),
        lambda u: sp.cancel(sp.together(split_powers(u))),
        lambda u: sp.cancel(sp.together(split_powers(elementary(u)))),  # cosh² = 1 + sinh²
    ]
    if expansion_bound(e) > IN_PROCESS_TERMS:  # too big to expand first: cancel first
        steps.reverse()
    if thorough:
        steps += [sp.simplify, lambda u: sp.simplify(elementary(u))]
    return any(step(e) == 0 for step in steps)


def _sample(s: sp.Symbol, rng: random.Random) -> sp.Rational:
    """A random rational of the sign ``s`` is assumed to have (a case's variable)."""
    r = sp.Rational(rng.randint(1, 2000), 997)
    if s.is_positive:
        return r
    if s.is_negative:
        return -r
    return r if rng.random() < 0.5 else -r


def _nonzero_somewhere(e: sp.Basic, rng: random.Random, *, real: bool = False) -> bool:
    """True if ``e`` is clearly non-zero at one random point (then no rewriting makes it 0);
    with ``real``, only where its value there is real (the point is inside its domain)."""
    free = sorted(e.free_symbols, key=str)
    point = {s: _sample(s, rng) for s in free}
    try:
        v = sp.N(expand_catalog(e).xreplace(point), 30)
    except (TypeError, ValueError, ArithmeticError, RecursionError):
        return False
    if not v.is_number or v.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
        return False
    re, im = v.as_real_imag()
    if real:
        return bool(abs(re) > 1e-10 and abs(im) < 1e-25)
    return bool(abs(re) > 1e-10 or abs(im) > 1e-10)
