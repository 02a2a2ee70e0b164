"""Establish the properties of an activation — never typed in, always with evidence.

Each property is an :class:`Established` value: the value, how it was established
(``sympy``, ``limits and critical points``, ``interval arithmetic``, ``counterexample``,
``one-sided derivatives``) and a sentence of evidence. SymPy is tried first, under a time
budget; where it cannot decide, a rigorous interval-arithmetic enclosure on a bounded
interval is used together with the limits at ±∞, and the evidence says exactly that.
A property that is false is shown false by a counterexample point, evaluated in high
precision. Properties are established at the entry's default parameters.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import cache
from typing import Any

import mpmath
import sympy as sp

from symdl.budget import run_with_budget
from symdl.catalog.activations import ACTIVATIONS
from symdl.catalog.entry import Activation, X
from symdl.errors import SymdlError
from symdl.verify.admissible import conditions
from symdl.verify.precise import Evaluator
from symdl.verify.symbolic import elementary

__all__ = ["Established", "Properties", "establish"]

#: Seconds SymPy may spend on one property before the fallback argument is used.
SYMPY_BUDGET = 10.0
#: The bounded interval on which interval arithmetic runs when SymPy cannot decide.
SPAN = 50
_GRID = [k / 8 for k in range(-8 * 12, 8 * 12 + 1)] + [-40.0, -25.0, 25.0, 40.0]


@dataclass(frozen=True)
class Established:
    value: Any
    method: str
    evidence: str

    def __str__(self) -> str:
        return f"{_show(self.value)}  [{self.method}: {self.evidence}]"


@dataclass(frozen=True)
class Properties:
    name: str
    kinks: Established
    domain: Established
    range: Established
    bounded: Established
    monotone: Established
    smoothness: Established
    lipschitz: Established
    zero_centred: Established

    def items(self) -> list[tuple[str, Established]]:
        return [
            ("kinks", self.kinks),
            ("domain", self.domain),
            ("range", self.range),
            ("bounded", self.bounded),
            ("monotone", self.monotone),
            ("smoothness", self.smoothness),
            ("lipschitz", self.lipschitz),
            ("zero-centred", self.zero_centred),
        ]


def _show(value: Any) -> str:
    if isinstance(value, sp.Interval):
        left = "(" if value.left_open or not value.inf.is_finite else "["
        right = ")" if value.right_open or not value.sup.is_finite else "]"
        return f"{left}{_num(value.inf)}, {_num(value.sup)}{right}"
    if isinstance(value, tuple) and len(value) == 2 and not isinstance(value[0], str):
        return f"[{_num(value[0])}, {_num(value[1])}]"
    if isinstance(value, tuple):
        return "{" + ", ".join(_num(v) for v in value) + "}" if value else "none"
    return _num(value) if isinstance(value, sp.Basic) else str(value)


def _num(v: Any) -> str:
    if isinstance(v, sp.Basic) and v.is_number and not v.is_Rational and v.is_finite:
        return f"{sp.N(v, 12)} (= {v})" if len(str(v)) < 40 else str(sp.N(v, 12))
    return str(v)


def _value(expr: sp.Expr, at: object, dps: int = 30) -> mpmath.mpf:
    return Evaluator({X: at}, dps=dps)(expr)


def _budget(fn: Any, *args: Any) -> Any:
    try:
        return run_with_budget(fn, *args, timeout=SYMPY_BUDGET)
    except SymdlError:
        return None


def _limits(expr: sp.Expr) -> tuple[sp.Expr, sp.Expr] | None:
    from symdl.catalog.code import limits_at_infinity

    return limits_at_infinity(expr)


def _roots_work(expr: sp.Expr) -> tuple[sp.Expr, ...] | None:
    roots = sp.solveset(expr, X, domain=sp.S.Reals)
    if isinstance(roots, sp.FiniteSet):
        return tuple(sorted(roots, key=lambda r: float(r)))
    if roots is sp.S.EmptySet:
        return ()
    return None


def _kink_candidates(f: sp.Expr) -> tuple[sp.Expr, ...]:
    exprs = [c.expr for c in conditions([f]) if c.kind == "kink"]
    found: list[sp.Expr] = []
    for e in exprs:
        roots = _budget(_roots_work, e) or ()
        found.extend(r for r in roots if r not in found)
    return tuple(sorted(found, key=lambda r: float(r)))


def _one_sided(g: sp.Expr, r: sp.Expr) -> tuple[mpmath.mpf, mpmath.mpf]:
    """Left and right limits of ``g`` at ``r``, approached to 1e-25 in 50 digits."""
    with mpmath.workdps(50):
        at = _value(r, 0, 50)
        h = mpmath.mpf(10) ** -25
        return _value(g, at - h, 50), _value(g, at + h, 50)


def _derivative_jumps(f: sp.Expr, r: sp.Expr, order: int) -> bool:
    g = sp.diff(f, X, order)
    left, right = _one_sided(g, r)
    return abs(left - right) > mpmath.mpf(10) ** -15 * (1 + abs(left) + abs(right))


def establish_kinks(f: sp.Expr) -> Established:
    candidates = _kink_candidates(f)
    kinks = tuple(r for r in candidates if _derivative_jumps(f, r, 1))
    detail = ", ".join(
        f"at {r}: f'(−) = {mpmath.nstr(a, 8)}, f'(+) = {mpmath.nstr(b, 8)}"
        for r in kinks
        for a, b in [_one_sided(sp.diff(f, X), r)]
    )
    return Established(
        kinks,
        "one-sided derivatives",
        (
            f"candidates {list(candidates)} from Max/Min/Abs/Heaviside/Piecewise; " + detail
            if kinks
            else "no point where the one-sided derivatives differ"
            + (f" (candidates {list(candidates)} are smooth)" if candidates else "")
        ),
    )


def establish_domain(f: sp.Expr) -> Established:
    needs = [c for c in conditions([f]) if c.kind != "kink"]
    if not needs:
        return Established("ℝ", "sympy", "no logarithm, fractional power or division by x")
    text = "; ".join(f"{c.expr} {'> 0' if c.kind == 'positive' else '≠ 0'}" for c in needs)
    return Established(f"{{x : {text}}}", "sympy", "conditions read off the expression")


def _pieces(f: sp.Expr) -> list[tuple[sp.Expr, sp.Set]]:
    """``f`` as (formula, set) pairs covering ℝ: Max, Min and Abs written as Piecewise."""
    g = elementary(f)
    if g.has(sp.Max, sp.Min, sp.Abs, sp.Piecewise):
        g = sp.piecewise_fold(g.rewrite(sp.Piecewise))
    if isinstance(g, sp.Piecewise):
        return [(e, s) for e, s in g.as_expr_set_pairs(sp.S.Reals) if s is not sp.S.EmptySet]
    return [(g, sp.S.Reals)]


def _piecewise_range(f: sp.Expr) -> sp.Set:
    from sympy.calculus.util import function_range

    return sp.Union(*(function_range(e, X, s) for e, s in _pieces(f)))


def establish_range(f: sp.Expr, kinks: tuple[sp.Expr, ...]) -> Established:
    """The range as a SymPy ``Interval`` (open where a bound is only approached)."""
    g = elementary(f)
    rng = _budget(_piecewise_range, f)
    if isinstance(rng, sp.Interval):
        pieces = len(_pieces(f))
        how = (
            "function_range over ℝ"
            if pieces == 1
            else f"function_range on each of its {pieces} pieces, united"
        )
        return Established(rng, "sympy", how)
    limits = _limits(g)
    critical = _budget(_roots_work, sp.diff(g, X))
    if limits is not None and critical is not None:
        attained = [(f.subs(X, p), p) for p in (*critical, *kinks)]
        values = [(v, None) for v in limits] + attained
        lo = min(values, key=lambda v: float(v[0]))
        hi = max(values, key=lambda v: float(v[0]))
        rng = sp.Interval(lo[0], hi[0], left_open=lo[1] is None, right_open=hi[1] is None)
        return Established(
            rng,
            "limits and critical points",
            f"f is continuous; its limits at ∓∞ are {limits[0]}, {limits[1]}; critical "
            f"points {list(critical)}; kinks {list(kinks)}",
        )
    from symdl.verify.interval import bounds

    b = _whole_line(bounds, f)
    lo_v, hi_v = sp.Float(b.lower, 15), sp.Float(b.upper, 15)
    tails = " (no limits at ±∞ found)"
    if limits is not None:
        lo_v = sp.Min(lo_v, *limits) if not limits[0].is_finite else lo_v
        hi_v = sp.Max(hi_v, *limits) if not limits[1].is_finite else hi_v
        tails = f"; the limits at ∓∞ are {limits[0]} and {limits[1]}"
    return Established(
        sp.Interval(lo_v, hi_v),
        "interval arithmetic",
        f"f takes values in this interval for every finite float64 input, {b.evidence}{tails}",
    )


def _function_range(f: sp.Expr) -> sp.Set:
    from sympy.calculus.util import function_range

    return function_range(f, X, sp.S.Reals)


def establish_bounded(rng: Established) -> Established:
    lo, hi = rng.value.inf, rng.value.sup
    below, above = bool(lo.is_finite), bool(hi.is_finite)
    word = {
        (True, True): "above and below",
        (True, False): "below only",
        (False, True): "above only",
        (False, False): "no",
    }[(below, above)]
    return Established(word, rng.method, f"from the range {_show(rng.value)}")


def _float(v: sp.Expr) -> float:
    return float(v) if v.is_finite else (float("inf") if v.is_extended_positive else float("-inf"))


def establish_monotone(f: sp.Expr, d: sp.Expr) -> Established:
    for p in _GRID:
        if _value(d, p) < 0:
            return Established(
                "no",
                "counterexample",
                f"f'({p}) = {mpmath.nstr(_value(d, p), 10)} < 0 (30-digit evaluation)",
            )
    found = _budget(_monotone_pieces, f)
    if found is not None:
        word, how = found
        return Established(word, "sympy", how)
    from symdl.verify.interval import bounds

    b = _whole_line(bounds, d)
    if b.lower >= 0:
        flat = any(_value(d, p) == 0 for p in _GRID)
        word = "non-decreasing" if flat or b.lower == 0 else "increasing"
        return Established(word, "interval arithmetic", f"f' ≥ {b.lower:.3g} {b.evidence}")
    return Established("undecided", "interval arithmetic", f"f' ≥ {b.lower:.3g} only")


def _monotone_pieces(f: sp.Expr) -> tuple[str, str] | None:
    """Strictly or weakly increasing on every piece, and continuous where pieces meet."""
    pieces = _pieces(f)
    strict = True
    for e, s in pieces:
        if sp.is_strictly_increasing(e, s, X):
            continue
        if not sp.is_increasing(e, s, X):
            return None
        strict = False
    ordered = sorted(pieces, key=lambda p: float(p[1].inf))
    for (e1, s1), (e2, _) in itertools.pairwise(ordered):
        at = s1.sup
        if sp.simplify(sp.limit(e1, X, at, "-") - sp.limit(e2, X, at, "+")) != 0:
            return None
    where = "on ℝ" if len(pieces) == 1 else f"on each of its {len(pieces)} pieces, continuous"
    return ("increasing" if strict else "non-decreasing"), f"is_increasing {where}"


def establish_lipschitz(f: sp.Expr, d: sp.Expr, kinks: tuple[sp.Expr, ...]) -> Established:
    found = _budget(_slope_range, f)
    if isinstance(found, sp.Interval) and found.inf.is_finite and found.sup.is_finite:
        best = sp.Max(abs(found.inf), abs(found.sup))
        return Established(
            best,
            "sympy",
            f"the slopes f' take the values {_show(found)} (function_range of f' on each "
            "piece); the supremum of |f'| is the Lipschitz constant",
        )
    from symdl.verify.interval import bounds

    b = _whole_line(bounds, d)
    bound = max(abs(b.lower), abs(b.upper))
    return Established(
        sp.Float(bound, 15), "interval arithmetic", f"|f'| ≤ {bound:.6g} {b.evidence}"
    )


def _slope_range(f: sp.Expr) -> sp.Set:
    from sympy.calculus.util import function_range

    ranges = [function_range(sp.diff(e, X), X, s) for e, s in _pieces(f)]
    return sp.Union(*ranges)


@dataclass(frozen=True)
class _Line:
    lower: float
    upper: float
    evidence: str


def _whole_line(bounds: Any, g: sp.Expr) -> _Line:
    """Rigorous bounds of ``g`` for every finite float64 input.

    Interval arithmetic on [−SPAN, SPAN] in fine cells, and beyond it on geometric cells
    [SPAN·2ᵏ, SPAN·2ᵏ⁺¹] out to 2¹⁰²⁴ (past the largest float) on both sides. ``g`` is
    first put in its stable form (``1 − σ(x)`` → ``σ(−x)``, an identity), so the
    enclosures do not lose everything to cancellation far out.
    """
    from symdl.stable import stabilize

    g = stabilize(g)
    core = bounds(g, X, -SPAN, SPAN, cells=2000, refine=8)
    lo, hi = core.lower, core.upper
    edge = sp.Integer(SPAN)
    tails = 0
    while edge < sp.Integer(2) ** 1024:
        try:
            cells = [
                bounds(g, X, a, b, cells=1, refine=0)
                for a, b in ((edge, 2 * edge), (-2 * edge, -edge))
            ]
        except (ArithmeticError, ValueError, SymdlError):  # mpmath gives up far out
            break
        lo = min(lo, *(c.lower for c in cells))
        hi = max(hi, *(c.upper for c in cells))
        tails += 2
        edge *= 2
    reach = "2^1024 (every finite float64 input)" if edge >= 2**1024 else f"{float(edge):.3g}"
    return _Line(lo, hi, f"by {core.evidence}, and on {tails} geometric cells out to ±{reach}")


def establish_smoothness(f: sp.Expr, kinks: tuple[sp.Expr, ...]) -> Established:
    if kinks:
        return Established("C⁰", "one-sided derivatives", f"f' jumps at {list(kinks)}")
    candidates = _kink_candidates(f)
    for order in (2, 3):
        jumps = [r for r in candidates if _derivative_jumps(f, r, order)]
        if jumps:
            klass = {2: "C¹", 3: "C²"}[order]
            return Established(
                klass, "one-sided derivatives", f"f^({order}) jumps at {jumps}, lower ones don't"
            )
    if candidates:
        return Established(
            "C³ at least", "one-sided derivatives", f"no jump up to f''' at {list(candidates)}"
        )
    return Established("C^∞", "sympy", "a composition of analytic functions (no Max/Abs/Piecewise)")


def establish_zero_centred(f: sp.Expr, rng: Established) -> Established:
    at0 = sp.simplify(f.subs(X, 0))
    lo, hi = rng.value.inf, rng.value.sup
    signs = _float(lo) < 0 < _float(hi)
    value = bool(at0 == 0 and signs)
    return Established(
        value,
        "sympy",
        f"f(0) = {at0}; the range {'contains' if signs else 'does not contain'} both signs "
        "(zero-centred means f(0) = 0 and f takes both signs)",
    )


@cache
def establish(name: str) -> Properties:
    """The properties of the scalar activation ``name`` at its default parameters."""
    entry: Activation = ACTIVATIONS.get(name)
    if entry.vector:
        raise SymdlError(f"{name} is vector-valued; its properties are stated in its doc")
    f, d = entry.at()
    kinks = establish_kinks(f)
    rng = establish_range(f, kinks.value)
    return Properties(
        name=name,
        kinks=kinks,
        domain=establish_domain(f),
        range=rng,
        bounded=establish_bounded(rng),
        monotone=establish_monotone(f, d),
        smoothness=establish_smoothness(f, kinks.value),
        lipschitz=establish_lipschitz(f, d, kinks.value),
        zero_centred=establish_zero_centred(f, rng),
    )
