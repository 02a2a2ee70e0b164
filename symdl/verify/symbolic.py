"""Decide symbolically that differences are identically zero, within a time budget.

Cheap canonical forms come first (structural zero, ``expand``, ``powsimp`` then ``expand``
— :math:`u^{a-1}` against :math:`u^a/u` — and ``cancel``), then
``simplify`` on the expression with symdl's own functions written out in exponentials,
then a split into sign cases for ``|a|``, ``sign(a)``, ``max``, ``min`` and ``heaviside``
(:mod:`symdl.verify.sign_cases`). A difference that does not reduce to zero is *not* a
refutation: only a confirmed numerical counterexample refutes a claim.

Speed without weaker verdicts: the ``expand`` forms (and, where a ``SIGALRM`` deadline can
stop it, ``cancel``) are first tried in this process, on a difference whose expansion is bounded
in advance (:func:`expansion_bound`), so nothing can blow up; only an exact ``0`` is
concluded there; a rational function of one variable too big to expand is tried there by
its exact values at more points than its numerator's degree
(:mod:`symdl.verify.rational_identity`), which the child then tries first, with more time.
Anything else goes to a budgeted child process as before. Outcomes
that finished (zero or not) are remembered for the life of the process, keyed by the
differences themselves and the budget's power of two: the same difference with about
the same budget always reduces the same way, and a budget twice as long tries again.
"""

from __future__ import annotations

import math
import pickle
import signal
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sympy as sp

from symdl.budget import deadline, run_with_budget
from symdl.errors import BudgetExceeded, SymdlError
from symdl.nodes import expand_catalog, sigmoid, softplus
from symdl.verify.rational_identity import zero_by_degree
from symdl.verify.sign_cases import zero_by_cases
from symdl.verify.sign_region import KINKS, real_parts

__all__ = ["SymbolicOutcome", "decide_zero", "elementary", "expansion_bound", "split_powers"]

#: A difference is expanded in this process only if its expansion has at most this many
#: terms in all (counted over every sub-expression, by :func:`expansion_bound`).
IN_PROCESS_TERMS = 4000
#: Seconds the in-process attempt may take (where a ``SIGALRM`` deadline can enforce it).
IN_PROCESS_SECONDS = 0.5
_CACHE_SIZE = 512
_cache: OrderedDict[tuple[sp.Basic, ...], SymbolicOutcome] = OrderedDict()


@dataclass(frozen=True)
class SymbolicOutcome:
    """``zero`` is True if every difference is identically zero, False if some did not
    reduce to zero, None if the budget ran out (then ``reason`` says so). ``residuals``
    holds every difference in its simplified form, in order."""

    zero: bool | None
    residuals: tuple[sp.Basic, ...]
    method: str
    reason: str = ""

    @property
    def away_from_kinks(self) -> bool:
        """The zero was shown only where no kink argument is 0 (``decide_zero(kinks=False)``)."""
        return "away from kinks" in self.method


def elementary(e: sp.Basic) -> sp.Basic:
    """``e`` with catalogue functions written out, and sigmoid, softplus and the hyperbolic
    functions in exponentials."""
    return (
        expand_catalog(e)
        .replace(sigmoid, lambda a: 1 / (1 + sp.exp(-a)))
        .replace(softplus, lambda a: sp.log(1 + sp.exp(a)))
        .replace(sp.tanh, lambda a: (sp.exp(2 * a) - 1) / (sp.exp(2 * a) + 1))
        .replace(sp.sinh, lambda a: (sp.exp(a) - sp.exp(-a)) / 2)
        .replace(sp.cosh, lambda a: (sp.exp(a) + sp.exp(-a)) / 2)
    )


def split_powers(e: sp.Basic) -> sp.Basic:
    r"""``e`` with every power of a non-integer exponent split into powers of the terms of
    its exponent: :math:`u^{a - 1} = u^{a} \cdot u^{-1}`, :math:`u^{-2a} = (u^{a})^{-2}`.

    With principal branches :math:`u^{p + q} = e^{(p + q)\log u} = u^p u^q` for every
    :math:`u \ne 0`, so this changes no value. It makes :math:`u^a` one generator for
    ``cancel`` wherever it occurs, where ``expand`` would multiply out every rational
    function around it first.
    """

    def split(n: sp.Pow) -> sp.Basic:
        base, exponent = n.args
        if exponent.is_Integer:
            return n
        out = sp.S.One
        for term in sp.Add.make_args(exponent):
            c, m = term.as_coeff_Mul()
            if m == 1:  # a rational exponent: its integer part and the rest
                whole = sp.floor(c)
                out *= base**whole * (sp.Pow(base, c - whole) if c != whole else 1)
            elif c.is_Integer:
                out *= sp.Pow(base, m) ** c
            else:
                out *= sp.Pow(base, term)
        return out

    return e.replace(lambda n: isinstance(n, sp.Pow) and not n.exp.is_Integer, split)


def _split_cancel(e: sp.Basic) -> sp.Basic:
    return sp.cancel(sp.together(split_powers(e)))


def expansion_bound(e: sp.Basic, *, cap: int = IN_PROCESS_TERMS) -> int:
    """An upper bound on the terms ``sp.expand(e)`` builds, summed over every
    sub-expression (an argument of a function is expanded too), or ``cap + 1``.

    A sum has at most the sum of its terms' counts, a product at most their product, a
    power :math:`u^n` with integer :math:`n` at most :math:`t(u)^{|n|}` (a negative power
    expands its denominator); anything else is one term, after its arguments.
    """
    total = 0

    def terms(n: sp.Basic) -> int:
        nonlocal total
        if total > cap:
            return cap + 1
        if n.is_Atom:
            out = 1
        elif isinstance(n, sp.Add):
            out = sum(terms(a) for a in n.args)
        elif isinstance(n, sp.Mul):
            out = 1
            for a in n.args:
                out = min(out * terms(a), cap + 1)
        elif isinstance(n, sp.Pow) and n.exp.is_Integer:
            base = terms(n.base)
            k = abs(int(n.exp))
            out = cap + 1 if base > 1 and k > 64 else min(base**k, cap + 1)
        else:
            for a in n.args:
                terms(a)
            out = 1
        total += out
        return out

    terms(e)
    return min(total, cap + 1)


def _can_interrupt() -> bool:
    return threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer")


def _in_process(d: sp.Basic) -> tuple[str | None, tuple[str, ...]]:
    """The method that reduced ``d`` to an exact 0 in this process (or None), and the
    methods that ran to the end here."""
    if d == 0:
        return "structural", ()
    if expansion_bound(d) > IN_PROCESS_TERMS:  # a rational function of one variable may
        # still have quick exact values (where the deadline can stop them)
        return (zero_by_degree(d, seconds=IN_PROCESS_SECONDS) if _can_interrupt() else None), ()
    tried: tuple[str, ...] = ()
    try:
        with deadline(IN_PROCESS_SECONDS):
            expanded = sp.expand(d)
            if expanded == 0:
                return "expand", ()
            if sp.expand(sp.powsimp(d)) == 0:  # u**(a - 1) against u**a/u
                return "powsimp and expand", ()
            tried = ("expand", "powsimp and expand")
            if _can_interrupt():  # cancel only where the deadline can stop it
                if sp.cancel(sp.together(d)) == 0:
                    return "cancel", ()
                tried = ("expand", "powsimp and expand", "cancel")
                if _split_cancel(d) == 0:
                    return "powers split and cancel", ()
                tried = (*tried, "powers split and cancel")
    except BudgetExceeded:
        pass
    return None, tried


def _reduce(
    d: sp.Basic, tried: tuple[str, ...] = (), *, seconds: float = 5.0, kinks: bool = True
) -> tuple[bool, sp.Basic, str]:
    if d == 0:
        return True, sp.S.Zero, "structural"
    start = time.monotonic()
    d = real_parts(d)  # re u = u where u is real (SymPy's derivative of |u| has them)
    if d == 0:
        return True, sp.S.Zero, "real parts"
    rational = zero_by_degree(d, seconds=seconds / 2)  # None unless rational in one variable
    if rational is not None:
        return True, sp.S.Zero, rational
    canonical: list[tuple[str, Callable[[sp.Basic], sp.Basic]]] = [
        ("expand", sp.expand),
        ("powsimp and expand", lambda e: sp.expand(sp.powsimp(e))),
        ("cancel", lambda e: sp.cancel(sp.together(e))),
        ("powers split and cancel", _split_cancel),
    ]
    if expansion_bound(d) > IN_PROCESS_TERMS:  # too big to expand first: cancel first
        canonical.reverse()
    # last of the quick forms in either order: written in exponentials, a large
    # difference can take all the time
    canonical.append(("exponentials and cancel", lambda e: _split_cancel(elementary(e))))
    cased = d.has(*KINKS)
    if cased:
        # sign cases first: each case is reduced by the canonical forms, and those forms
        # (and simplify) on the whole difference seldom settle what the cases do not,
        # while they can take all the time
        cases = zero_by_cases(d, seconds=0.75 * seconds, kinks=kinks)
        if cases is not None:
            return True, sp.S.Zero, cases
    for name, step in (*canonical, ("simplify", sp.simplify)):
        if name == "simplify" and not cased:  # cheap cases for a Piecewise's conditions
            cases = zero_by_cases(d, seconds=min(seconds / 4, 2.0), thorough=False, kinks=kinks)
            if cases is not None:
                return True, sp.S.Zero, cases
        if name in tried:
            continue
        r = _attempt(step, d)
        if r == 0:
            return True, r, name
    r = _attempt(lambda e: sp.simplify(elementary(e)), d)
    if r == 0:
        return True, r, "simplify in exponentials"
    if not cased:
        cases = zero_by_cases(d, seconds=seconds - (time.monotonic() - start), kinks=kinks)
        if cases is not None:
            return True, sp.S.Zero, cases
    return False, r, "simplify"


def _attempt(step: Callable[[sp.Basic], sp.Basic], d: sp.Basic) -> sp.Basic:
    """``step(d)``, or ``d`` unchanged where SymPy fails on it (``simplify`` of a
    ``Piecewise`` with ``Max`` may raise "nan is not comparable"): a method that fails
    decides nothing, and the next one is tried."""
    try:
        return step(d)
    except (ValueError, TypeError, ArithmeticError, NotImplementedError, sp.PolynomialError):
        return d


def _sendable(r: sp.Basic) -> sp.Basic | None:
    """``r`` if it survives the pipe back to the parent (catalogue functions may not)."""
    try:
        pickle.dumps(r)
    except (pickle.PicklingError, TypeError, AttributeError):
        return None
    return r


def _reduce_all(
    diffs: Sequence[sp.Basic], tried: Sequence[tuple[str, ...]], timeout: float, kinks: bool
) -> list[tuple[bool, sp.Basic | None, str]]:
    end = time.monotonic() + 0.9 * timeout  # the sign cases stop before the budget does
    out = []
    for d, t in zip(diffs, tried):
        zero, r, method = _reduce(d, t, seconds=end - time.monotonic(), kinks=kinks)
        out.append((zero, _sendable(r), method))
    return out


def decide_zero(
    diffs: Sequence[sp.Basic], *, timeout: float, kinks: bool = True
) -> SymbolicOutcome:
    """Try to show every expression in ``diffs`` is identically zero; with ``kinks=False``,
    zero wherever no argument of ``|·|``, ``sign``, ``max``, ``min`` or ``heaviside`` is
    (:func:`~symdl.verify.sign_cases.zero_by_cases`; the method then says so)."""
    diffs = list(diffs)
    if all(d == 0 for d in diffs):
        return SymbolicOutcome(True, (), "structural")
    # keyed by the budget's power of two too: sign cases that ran out of their share of
    # a short budget end as "did not reduce", which a longer budget may still change
    budget = sp.Integer(math.ceil(math.log2(max(timeout, 1e-3))))
    key = (*diffs, sp.true if kinks else sp.false, budget)
    if key in _cache:
        _cache.move_to_end(key)
        return _cache[key]
    attempts = [_in_process(d) for d in diffs]
    quick = [q for q, _ in attempts]
    if all(quick):
        outcome = SymbolicOutcome(
            True,
            tuple(sp.S.Zero for _ in diffs),
            ", ".join(sorted(set(quick))),  # type: ignore[arg-type]
        )
        return _remember(key, outcome)
    # the child does not repeat what ran to the end here
    todo = [i for i, q in enumerate(quick) if not q]
    try:
        results = run_with_budget(
            _reduce_all,
            [diffs[i] for i in todo],
            [attempts[i][1] for i in todo],
            timeout,
            kinks,
            timeout=timeout,
        )
    except BudgetExceeded as err:
        return SymbolicOutcome(None, (), "simplify", reason=str(err))
    except SymdlError as err:
        return SymbolicOutcome(None, (), "simplify", reason=str(err).splitlines()[0])
    merged: list[tuple[bool, sp.Basic, str]] = [(True, sp.S.Zero, q) for q in quick if q]
    residuals: list[sp.Basic] = [sp.S.Zero] * len(diffs)
    for i, (z, r, m) in zip(todo, results):
        residuals[i] = r if r is not None else diffs[i]
        merged.append((z, residuals[i], m))
    zero = all(z for z, _, _ in merged)
    methods = sorted({m for _, _, m in merged})
    return _remember(key, SymbolicOutcome(zero, tuple(residuals), ", ".join(methods)))


def _remember(key: tuple[sp.Basic, ...], outcome: SymbolicOutcome) -> SymbolicOutcome:
    _cache[key] = outcome
    if len(_cache) > _CACHE_SIZE:
        _cache.popitem(last=False)
    return outcome
