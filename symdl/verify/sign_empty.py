r"""Whether a combination of sign cases can occur at all.

A leaf of :mod:`symdl.verify.sign_cases` that does not reduce to 0 ends a proof — unless
its case is empty: no point has every decided argument of the sign the case gives it.
:func:`region_empty` answers True only when it shows that, by one of

- one decided argument against the others (:func:`~symdl.verify.sign_region.sign_on_region`
  after every substitution the case made, and with differences cancelled, so that
  :math:`a` and :math:`a` written another way are one argument);
- a box cover: the variables' ranges are bisected (an unbounded range at 0, then by
  doubling towards infinity) until, on every box, some argument has a rigorous interval
  enclosure (:func:`symdl.verify.interval.enclose`) of the wrong sign. On a box reaching
  infinity an argument in one variable whose derivative keeps one sign there is bounded
  by its value at the finite end.

Every step is sound on its own: a box is dropped only where an enclosure, which contains
every value of the argument on the box, excludes the case's sign. What cannot be covered
within :data:`MAX_BOXES` boxes, or that needs the boxes' ends beyond :data:`FAR`, is not
shown empty.
"""

from __future__ import annotations

import math
from typing import Any

import sympy as sp

from symdl.errors import SymdlError
from symdl.nodes import expand_catalog
from symdl.verify.sign_region import Known, box_of, rational_sign, sign_on_region

__all__ = ["FAR", "MAX_BOXES", "region_empty"]

#: Most boxes one cover may examine.
MAX_BOXES = 600
#: Tails of the real line are bisected up to here; beyond it a tail must be excluded whole.
FAR = 2.0**40

Box = dict[sp.Symbol, tuple[float, float]]


def region_empty(known: Known) -> bool:
    """True only if no point gives every argument in ``known`` its sign."""
    for i, entry in enumerate(known):
        if _against(entry, known[:i] + known[i + 1 :]):
            return True
    if _cancelled_pair(known):
        return True
    factored = tuple((_factored(b), o) for b, o in known)
    for i, entry in enumerate(factored):
        if entry != known[i] and _against(entry, factored[:i] + factored[i + 1 :]):
            return True
    return _covered(known)


def _against(entry: tuple[sp.Expr, int], rest: Known) -> bool:
    b, o = entry
    settled = sign_on_region(b, rest)
    return settled is not None and settled != o


def _cancelled_pair(known: Known) -> bool:
    """Two arguments equal (or opposite) once their difference is cancelled, with signs
    that say otherwise."""
    for i, (b, o) in enumerate(known):
        for c, p in known[i + 1 :]:
            for s in (1, -1):
                if o != s * p and _cancels(b - s * c):
                    return True
    return False


def _factored(b: sp.Expr) -> sp.Expr:
    """``b`` over one denominator with numerator and denominator factored, where that
    is quick: SymPy's assumptions then see :math:`(y + 3x^2)/(x^2 + 1) > 0` for
    :math:`y > 0` in :math:`y/(x^2+1) + 3 - 3/(x^2+1)`."""
    from symdl.verify.symbolic import expansion_bound

    if expansion_bound(b, cap=200) > 200:
        return b
    try:
        return sp.factor(sp.together(b))
    except (ValueError, TypeError, ArithmeticError, sp.PolynomialError):
        return b


def _cancels(e: sp.Expr) -> bool:
    from symdl.verify.symbolic import expansion_bound

    if e == 0:
        return True
    if expansion_bound(e, cap=400) > 400:
        return False
    try:
        return sp.cancel(sp.together(expand_catalog(e))) == 0
    except (ValueError, TypeError, ArithmeticError, sp.PolynomialError):
        return False


def _covered(known: Known) -> bool:
    """Every box of a cover of the variables' ranges excludes some argument's sign."""
    variables = sorted(set().union(*(b.free_symbols for b, _ in known)), key=str)
    if not variables or not all(v.is_extended_real for v in variables):
        return False
    start: Box = {}
    for v, (lo, hi) in box_of(known, variables).items():
        start[v] = (_outward(lo, -math.inf), _outward(hi, math.inf))
    entries = [(expand_catalog(b), o) for b, o in known]
    slopes: dict[int, sp.Expr | None] = {}
    stack = [start]
    boxes = 0
    order = list(range(len(entries)))
    while stack:
        box = stack.pop()
        boxes += 1
        if boxes > MAX_BOXES:
            return False
        hit = next((i for i in order if _excludes(entries, i, box, slopes)), None)
        if hit is not None:
            order.remove(hit)
            order.insert(0, hit)  # a neighbouring box is likely excluded by the same one
            continue
        halves = _split(box)
        if halves is None:
            return False
        stack.extend(halves)
    return True


def _excludes(
    entries: list[tuple[sp.Expr, int]], i: int, box: Box, slopes: dict[int, sp.Expr | None]
) -> bool:
    b, o = entries[i]
    ends = _enclosure(b, box)
    if ends is None:
        return False
    lo, hi = ends
    if _wrong_sign(lo, hi, o):
        return True
    tail = _tail(b, box)
    if tail is None:
        return False
    v, finite, up = tail
    if i not in slopes:
        slopes[i] = sp.diff(b, v) if len(b.free_symbols) == 1 else None
    slope = slopes[i]
    if slope is None:
        return False
    # b is monotone on the tail if its slope keeps one sign there: then b lies between
    # its value at the finite end and its limit, on the side the slope says
    end = sp.Rational(finite)  # a float is an exact rational
    ray = (end, sp.oo) if up else (-sp.oo, end)
    rising = rational_sign(slope, {v: ray})
    if rising is None:
        slope_ends = _enclosure(slope, box)
        if slope_ends is None:
            return False
        rising = 1 if slope_ends[0] >= 0 else -1 if slope_ends[1] <= 0 else None
    if rising is None:
        return False
    at = _enclosure(b, {**box, v: (finite, finite)})
    if at is None:
        return False
    increasing_outward = (rising > 0) == up
    if increasing_outward:
        return _wrong_sign(at[0], math.inf, o)
    return _wrong_sign(-math.inf, at[1], o)


def _wrong_sign(lo: Any, hi: Any, o: int) -> bool:
    if o > 0:
        return hi <= 0
    if o < 0:
        return lo >= 0
    return lo > 0 or hi < 0


def _tail(b: sp.Expr, box: Box) -> tuple[sp.Symbol, float, bool] | None:
    """``(v, end, up)`` for the one variable of ``b`` whose range on the box is a ray."""
    if len(b.free_symbols) != 1:
        return None
    (v,) = b.free_symbols
    lo, hi = box[v]
    if math.isinf(hi) and not math.isinf(lo):
        return v, lo, True
    if math.isinf(lo) and not math.isinf(hi):
        return v, hi, False
    return None


def _enclosure(b: sp.Expr, box: Box) -> tuple[Any, Any] | None:
    """Rigorous ends (``mpf``, compared exactly with 0) of ``b`` on the box."""
    from symdl.verify.interval import enclose

    ranges = {v: tuple(_end(e) for e in box[v]) for v in b.free_symbols}
    try:
        return enclose(b, ranges, dps=20)  # type: ignore[arg-type]
    except (SymdlError, ValueError, TypeError, ArithmeticError, ZeroDivisionError):
        return None


def _end(e: float) -> object:
    return "inf" if e == math.inf else "-inf" if e == -math.inf else e


def _split(box: Box) -> list[Box] | None:
    """Two halves of the box along its widest range (an unbounded one first), or None if
    no range can be split: every ray starts beyond :data:`FAR` and every finite range is
    a few ulps wide."""
    best, best_width = None, 0.0
    for v, (lo, hi) in box.items():
        if math.isinf(lo) or math.isinf(hi):
            far = lo >= FAR or hi <= -FAR
            width = 0.0 if far else math.inf
        else:
            width = hi - lo if hi - lo > 1e-12 * max(1.0, abs(lo)) else 0.0
        if width > best_width:
            best, best_width = v, width
    if best is None:
        return None
    lo, hi = box[best]
    if math.isinf(lo) and math.isinf(hi):
        cut = 0.0
    elif math.isinf(hi):
        cut = lo + max(1.0, abs(lo))
    elif math.isinf(lo):
        cut = hi - max(1.0, abs(hi))
    else:
        cut = (lo + hi) / 2
    return [{**box, best: (lo, cut)}, {**box, best: (cut, hi)}]


def _outward(e: sp.Expr, toward: float) -> float:
    """A float at or beyond ``e`` in the direction of ``toward`` (±inf)."""
    if e in (sp.oo, -sp.oo):
        return math.inf if e == sp.oo else -math.inf
    f = float(e)  # within an ulp of e; two more steps outward put it beyond
    return math.nextafter(math.nextafter(f, toward), toward)
