r"""Whether a combination of sign cases can occur at all.

A leaf of :mod:`symdl.verify.sign_cases` that does not reduce to 0 ends a proof — unless
its case is empty: no point has every decided argument of the sign the case gives it.
:func:`region_empty` answers True only when it shows that, by one of

- one decided argument against the others (:func:`~symdl.verify.sign_region.sign_on_region`
  after every substitution the case made, and with differences cancelled, so that
  :math:`a` and :math:`a` written another way are one argument);
- a box cover: the variables' ranges are bisected (an unbounded range at 0, then by
  doubling towards infinity) until, on every box, some argument has a rigorous interval
  enclosure (:func:`symdl.verify.interval.enclose`) of the wrong sign — or, for an
  argument in one variable whose derivative keeps one sign on the box, values at the
  box's ends of the wrong sign (an infinite end bounds nothing). So :math:`x - \log(1 +
  x^2) < 0` with :math:`x > 0` is excluded on :math:`[0, h]` too, where it touches 0.

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
    """The entry's sign contradicts its variables' own signs, or the other entries'
    (alone first: another entry equal to it would otherwise settle it as given)."""
    b, o = entry
    for context in ((), rest):
        settled = sign_on_region(b, context)
        if settled is not None and settled != o:
            return True
    return False


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
    """``b`` expanded, over one denominator with numerator and denominator factored,
    where that is quick: SymPy's assumptions then see :math:`(y + 3x^2)/(x^2 + 1) > 0`
    for :math:`y > 0` in :math:`y/(x^2+1) + 3 - 3/(x^2+1)`."""
    from symdl.verify.symbolic import split_powers

    if not _quick(b, 200):
        return b
    try:
        # expanded first, so that an odd function of −w shows its sign: tanh((x − 3)s)
        # against tanh((3 − x)s), and p^(−tanh(−w)) against p^tanh(w)
        return sp.factor(sp.together(split_powers(sp.expand(b))))
    except (ValueError, TypeError, ArithmeticError, sp.PolynomialError):
        return b


def _quick(e: sp.Expr, cap: int) -> bool:
    """Polynomial algebra on ``e`` is quick: its expansion has at most ``cap`` terms and
    no integer power, or exponential of an integer, is beyond 64 in size (SymPy's
    polynomial algebra takes ``exp(-10**6)`` for ``E**(-10**6)``, a polynomial of degree
    a million)."""
    from symdl.verify.symbolic import expansion_bound

    if expansion_bound(e, cap=cap) > cap:
        return False
    for n in sp.preorder_traversal(e):
        power = n.exp if isinstance(n, sp.Pow) else n.args[0] if isinstance(n, sp.exp) else None
        if power is not None and power.is_Number and abs(power) > 64:
            return False
    return True


def _cancels(e: sp.Expr) -> bool:
    if e == 0:
        return True
    if not _quick(e, 400):
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
    slopes: dict[int, sp.Expr] = {}
    tails: dict[tuple[int, sp.Symbol, int], tuple[sp.Symbol, sp.Expr] | None] = {}
    stack = [start]
    boxes = 0
    order = list(range(len(entries)))
    while stack:
        box = stack.pop()
        boxes += 1
        if boxes > MAX_BOXES:
            return False
        hit = next((i for i in order if _excludes(entries, i, box, slopes, tails)), None)
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
    entries: list[tuple[sp.Expr, int]],
    i: int,
    box: Box,
    slopes: dict[int, sp.Expr],
    tails: dict[tuple[int, sp.Symbol, int], tuple[sp.Symbol, sp.Expr] | None],
) -> bool:
    b, o = entries[i]
    ends = _enclosure(b, box)
    if ends is not None and _wrong_sign(*ends, o):
        return True
    if _tail_excludes(b, o, box, tails, i):
        return True
    if len(b.free_symbols) != 1:
        return False
    (v,) = b.free_symbols
    if i not in slopes:
        slopes[i] = sp.diff(b, v)
    rising = _slope_sign(slopes[i], v, box[v])
    if rising is None:
        return False
    # b is monotone on the range: between its values at the two ends (at an infinite end,
    # or one where b cannot be enclosed, nothing is known but ±∞)
    lo, hi = box[v]
    at_lo = None if math.isinf(lo) else _enclosure(b, {v: (lo, lo)})
    at_hi = None if math.isinf(hi) else _enclosure(b, {v: (hi, hi)})
    first, last = (at_lo, at_hi) if rising > 0 else (at_hi, at_lo)
    low = first[0] if first is not None else -math.inf
    high = last[1] if last is not None else math.inf
    return _wrong_sign(low, high, o)


def _tail_excludes(
    b: sp.Expr,
    o: int,
    box: Box,
    tails: dict[tuple[int, sp.Symbol, int], tuple[sp.Symbol, sp.Expr] | None],
    i: int,
) -> bool:
    r"""On a ray :math:`v \ge m \ge 1` (or :math:`v \le -m`), ``b`` written in
    :math:`s = \pm 1/v \in (0, 1/m]` and cancelled has an enclosure of the wrong sign:
    :math:`x^3/(x + 1)^3` is :math:`1/(1 + s)^3`, which intervals bound where the original
    gives :math:`[0, \infty]`."""
    for v in sorted(b.free_symbols, key=str):
        lo, hi = box[v]
        if math.isinf(hi) and not math.isinf(lo) and lo >= 1:
            side, end = 1, lo
        elif math.isinf(lo) and not math.isinf(hi) and hi <= -1:
            side, end = -1, -hi
        else:
            continue
        key = (i, v, side)
        if key not in tails:
            tails[key] = _reciprocal_form(b, v, side)
        form = tails[key]
        if form is None:
            continue
        s, written = form
        ends = _enclosure(written, {**box, s: (0.0, math.nextafter(1 / end, math.inf))})
        if ends is not None and _wrong_sign(*ends, o):
            return True
    return False


def _reciprocal_form(b: sp.Expr, v: sp.Symbol, side: int) -> tuple[sp.Symbol, sp.Expr] | None:
    if not _quick(b, 400):
        return None
    s = sp.Dummy("s", positive=True)
    try:
        return s, sp.cancel(sp.together(b.xreplace({v: side / s})))
    except (ValueError, TypeError, ArithmeticError, sp.PolynomialError):
        return None


def _slope_sign(slope: sp.Expr, v: sp.Symbol, ends: tuple[float, float]) -> int | None:
    """1 or −1 if ``slope`` is ≥ 0 or ≤ 0 all over the range (Sturm sequences for a
    rational function, else an enclosure)."""
    if slope.free_symbols - {v}:
        return None
    lo, hi = (sp.oo * int(math.copysign(1, e)) if math.isinf(e) else sp.Rational(e) for e in ends)
    settled = rational_sign(slope, {v: (lo, hi)})
    if settled is not None:
        return settled
    enclosed = _enclosure(slope, {v: ends})
    if enclosed is None:
        return None
    return 1 if enclosed[0] >= 0 else -1 if enclosed[1] <= 0 else None


def _wrong_sign(lo: Any, hi: Any, o: int) -> bool:
    if o > 0:
        return hi <= 0
    if o < 0:
        return lo >= 0
    return lo > 0 or hi < 0


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
    f = float(e)
    if e.is_Rational and sp.Rational(f) == e:
        return f  # exact (0, 1/2, …)
    # within an ulp of e: two more steps outward put it beyond
    return math.nextafter(math.nextafter(f, toward), toward)
