r"""Name the mistake behind a refuted gradient.

Given the claimed gradient :math:`C_k` and the true gradient :math:`T_k` at sample points
:math:`k = 1, \dots, K`, :func:`diagnose` looks for one explanation of :math:`C_k - T_k`
that holds at *every* point:

- whole-array models :math:`C_k \approx c\,T_k` (``zero`` for :math:`c = 0`, ``sign-flip``
  for :math:`c = -1`, ``constant-factor`` otherwise) and :math:`C_k \approx c\,T_k^\top`
  (``transpose``), with one :math:`c` shared by all points;
- a chain-rule factor :math:`C_k \approx c\,v_k^{p}\,T_k` with :math:`v_k` the value of one
  input at point :math:`k` and :math:`p \in \{\pm 1, \pm 2, \pm\tfrac12, \pm 3\}`
  (``proportional-to-input``);
- an error confined to some entries: ``missing-term`` (the claim is 0 there), ``row``,
  ``column``, ``diagonal``, ``entries``.

Two arrays are equal at a point when :math:`|a - b| \le \mathrm{atol} + \mathrm{rtol}\,s`
entrywise, with :math:`s` the max-abs of the true gradient (of the model :math:`c\,T_k`
when it is larger), never scaled by the array size. The module is pure NumPy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from symdl.errors import ShapeError, UnknownNameError

__all__ = ["KINDS", "Finding", "describe_factor", "diagnose"]

KINDS = (
    "sign-flip",
    "constant-factor",
    "transpose",
    "zero",
    "missing-term",
    "row",
    "column",
    "diagonal",
    "entries",
    "proportional-to-input",
)

# Powers tried for a chain-rule factor, simplest first; negative = the claim lacks v**|p|.
_POWERS = (1.0, -1.0, 2.0, -2.0, 0.5, -0.5, 3.0, -3.0)
_MAX_LISTED = 5
# A fitted c is snapped to a simple value only when that value explains the data as well.
_SNAP_RTOL = 1e-6
_DESCRIBE_RTOL = 1e-9


@dataclass(frozen=True)
class Finding:
    r"""One recognised bug pattern.

    ``factor`` is the constant :math:`c` of the model (``constant-factor``, ``sign-flip``,
    scaled ``transpose``, ``proportional-to-input``, or :math:`C \approx c\,T` on the faulty
    region of a location finding); ``where`` is the row ``(i,)``, column ``(j,)`` or first
    faulty entry; ``input`` and ``power`` name the factor :math:`v^{p}` of a
    ``proportional-to-input`` finding.
    """

    kind: str
    message: str
    factor: float | None = None
    where: tuple[int, ...] | None = None
    input: str | None = None
    power: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise UnknownNameError(f"no finding kind named {self.kind!r}; kinds are {KINDS}")


def describe_factor(c: float) -> str:
    """Say a factor the way a person would: ``"2"``, ``"-1"``, ``"1/2"``, ``"3/2"``,
    ``"1/32 (one over 32, e.g. 1/batch)"``; anything else as ``"%.6g"``.

    >>> describe_factor(0.5), describe_factor(1 / 32), describe_factor(0.123456789)
    ('1/2', '1/32 (one over 32, e.g. 1/batch)', '0.123457')
    """
    text = _simple_factor(c)
    if text is not None:
        return text
    text = f"{c:.6g}"
    # "%.6g" may round 0.5000001 to "0.5"; show more digits than make it look exact.
    return f"{c:.12g}" if _simple_factor(float(text)) is not None else text


def diagnose(
    claimed: Sequence[np.ndarray],
    true: Sequence[np.ndarray],
    *,
    inputs: Sequence[Mapping[str, np.ndarray]] | None = None,
    rtol: float = 1e-8,
    atol: float = 0.0,
) -> tuple[Finding, ...]:
    r"""The bug patterns that explain ``claimed[k] - true[k]`` at every sample point ``k``.

    Tried in order, and the first tier that explains the error is returned: whole-array
    models (``zero``, ``sign-flip``, ``constant-factor``, ``transpose``), then a factor of
    one input (``proportional-to-input``), then confinement (``missing-term`` followed by
    ``row``/``column``/``diagonal``/``entries``). A correct claim, or one nothing explains,
    gives ``()``. A claim shaped like the transpose of a non-square gradient is only
    tested for ``transpose``. Sample points with a non-finite value are ignored.

    >>> t = [np.array([[1.0, 2.0], [3.0, 4.0]])]
    >>> diagnose([t[0].T], t)[0].message
    'the claim equals the true gradient transposed'
    """
    if len(claimed) != len(true):
        raise ShapeError(f"{len(claimed)} claimed gradients but {len(true)} true ones")
    if inputs is not None and len(inputs) != len(true):
        raise ShapeError(f"{len(inputs)} input points but {len(true)} gradients")
    pairs = [
        (np.asarray(c, dtype=np.float64), np.asarray(t, dtype=np.float64))
        for c, t in zip(claimed, true, strict=True)
    ]
    transposed = bool(pairs) and all(
        c.ndim == 2 and c.shape != t.shape and c.shape == t.T.shape for c, t in pairs
    )
    for c, t in pairs:
        if c.shape != t.shape and not transposed:
            raise ShapeError(f"claimed gradient of shape {c.shape} but true one of shape {t.shape}")
    # Non-finite values are the evaluator's news to report; a diagnosis speaks of finite ones.
    keep = [
        k for k, (c, t) in enumerate(pairs) if np.all(np.isfinite(c)) and np.all(np.isfinite(t))
    ]
    if not keep:
        return ()
    cs, ts = [pairs[k][0] for k in keep], [pairs[k][1] for k in keep]
    ins = [inputs[k] if inputs is not None else {} for k in keep]
    tol = {"rtol": rtol, "atol": atol}
    if transposed:
        got, want = ("x".join(map(str, a.shape)) for a in (cs[0], ts[0]))
        return _transpose(cs, ts, tol, f" (its shape is {got}, the true gradient's {want})")
    if _fits(cs, ts, 1.0, **tol):
        return ()
    return _whole_array(cs, ts, tol) or _proportional(cs, ts, ins, tol) or _localised(cs, ts, tol)


def _whole_array(cs: list, ts: list, tol: dict) -> tuple[Finding, ...]:
    if _fits(cs, ts, 0.0, **tol):
        return (
            Finding(
                "zero",
                "the claim is identically zero but the true gradient is not "
                "(the derivative was dropped entirely)",
                factor=0.0,
            ),
        )
    if _fits(cs, ts, -1.0, **tol):
        return (
            Finding(
                "sign-flip",
                "the claim has the wrong sign: it equals minus the true gradient",
                factor=-1.0,
            ),
        )
    c = _fitted_factor(cs, ts, **tol)
    if c is not None:
        return (
            Finding(
                "constant-factor",
                f"the claim equals {describe_factor(c)} times the true gradient",
                factor=c,
            ),
        )
    if all(t.ndim == 2 and t.shape[0] == t.shape[1] for t in ts):
        return _transpose(cs, ts, tol, "")
    return ()


def _transpose(cs: list, ts: list, tol: dict, note: str) -> tuple[Finding, ...]:
    tts = [t.T for t in ts]
    if _fits(cs, tts, 1.0, **tol):
        return (Finding("transpose", f"the claim equals the true gradient transposed{note}"),)
    if _fits(cs, tts, -1.0, **tol):
        return (
            Finding(
                "transpose",
                f"the claim equals minus the true gradient transposed{note}",
                factor=-1.0,
            ),
        )
    c = _fitted_factor(cs, tts, **tol)
    if c is None:
        return ()
    return (
        Finding(
            "transpose",
            f"the claim equals {describe_factor(c)} times the true gradient transposed{note}",
            factor=c,
        ),
    )


def _proportional(cs: list, ts: list, ins: list, tol: dict) -> tuple[Finding, ...]:
    r"""Models :math:`C_k \approx c\,v_k^{p}\,T_k` for one input :math:`v` and a simple c.

    A missing factor (:math:`p < 0`) is tested as :math:`v_k^{|p|} C_k \approx c\,T_k`, so no
    division by an input that may be 0. A v that is the same everywhere would make this a
    constant factor, which the whole-array tier has already ruled out, so a fit here means
    the ratio really varies with v.
    """
    found = []
    for name in ins[0]:
        vs = _input_values(ins, name, ts)
        if vs is None:
            continue
        for p in _POWERS:
            if abs(p) == 0.5 and any(np.any(v < 0) for v in vs):
                continue
            with np.errstate(all="ignore"):
                ws = [v ** abs(p) for v in vs]
                if p > 0:
                    xs, ys = cs, [w * t for w, t in zip(ws, ts, strict=True)]
                else:
                    xs, ys = [w * c for w, c in zip(ws, cs, strict=True)], ts
            factor = _fitted_factor(xs, ys, simple_only=True, **tol)
            if factor is not None:
                found.append(_proportional_finding(name, p, factor, vs[0].ndim > 0))
                break
    return tuple(found)


def _input_values(ins: list, name: str, ts: list) -> list[np.ndarray] | None:
    """The values of one input at every point, if it is a finite scalar or an array of the
    gradient's shape at all of them (only then can it be a chain-rule factor)."""
    try:
        vs = [np.asarray(i[name], dtype=np.float64) for i in ins]
    except (KeyError, TypeError, ValueError):
        return None
    ok = all(
        v.shape in ((), t.shape) and np.all(np.isfinite(v)) for v, t in zip(vs, ts, strict=True)
    )
    return vs if ok else None


def _proportional_finding(name: str, p: float, c: float, elementwise: bool) -> Finding:
    power = {1.0: name, 2.0: f"{name}**2", 3.0: f"{name}**3", 0.5: f"sqrt({name})"}[abs(p)]
    factor = f"{'elementwise ' if elementwise else ''}factor of {power}"
    if c == 1.0 and p < 0:
        message = f"the claim is missing {'an' if elementwise else 'a'} {factor}"
    elif c == 1.0:
        message = f"the claim has an extra {factor}"
    else:
        how, lost = ("divided by", "a missing") if p < 0 else ("times", "an extra")
        message = (
            f"the claim equals {describe_factor(c)} times the true gradient {how} "
            f"{power} ({lost} {factor} and a constant factor)"
        )
    return Finding("proportional-to-input", message, factor=c, input=name, power=p)


def _localised(cs: list, ts: list, tol: dict) -> tuple[Finding, ...]:
    r"""Confine the error: entries where :math:`|C_k - T_k|` exceeds the tolerance at some k."""
    if len({t.shape for t in ts}) != 1:
        return ()
    limits = [tol["atol"] + tol["rtol"] * _maxabs(t) for t in ts]
    masks = [np.abs(c - t) > lim for c, t, lim in zip(cs, ts, limits, strict=True)]
    union = np.logical_or.reduce(masks)
    idx = [tuple(int(i) for i in ix) for ix in np.argwhere(union)]
    if not idx:
        return ()
    found = []
    if all(np.all(np.abs(c[m]) <= lim) for c, m, lim in zip(cs, masks, limits, strict=True)):
        places = []
        if union.ndim > 0 and len(idx) < union.size:
            places.append(f"at {_entries(idx)}")
        n_points = sum(bool(np.any(m)) for m in masks)
        if n_points < len(masks):
            places.append(f"at {n_points} of {len(masks)} sample points")
        at = ", " + " and ".join(places) if places else ""
        found.append(
            Finding(
                "missing-term",
                f"the claim is 0 where the true gradient is not{at} (a dropped term)",
                where=idx[0],
            )
        )
    region = _region(union, idx)
    if region is not None:
        kind, where, text = region
        factor = _fitted_factor([c[union] for c in cs], [t[union] for t in ts], **tol)
        if factor == 0.0:
            factor = None  # already said by the missing-term finding
        elif factor is not None:
            text += (
                "; there the claim has the wrong sign"
                if factor == -1.0
                else f"; there the claim is {describe_factor(factor)} times the true gradient"
            )
        found.append(Finding(kind, f"the error is confined to {text}", factor=factor, where=where))
    return tuple(found)


def _region(union: np.ndarray, idx: list) -> tuple[str, tuple[int, ...], str] | None:
    n_bad, shape = len(idx), union.shape
    if union.ndim == 0 or n_bad == union.size:
        return None
    if union.ndim == 2 and n_bad >= 2:
        rows, cols = {i for i, _ in idx}, {j for _, j in idx}
        if len(rows) == 1 and shape[0] >= 2:
            return "row", (idx[0][0],), f"row {idx[0][0]}"
        if len(cols) == 1 and shape[1] >= 2:
            return "column", (idx[0][1],), f"column {idx[0][1]}"
        if all(i == j for i, j in idx) and min(shape) >= 2:
            return "diagonal", idx[0], "the diagonal"
    # "A few": at most 5, and at most a third of the array, else it is not a localisation.
    if n_bad <= max(1, min(_MAX_LISTED, union.size // 3)):
        return "entries", idx[0], _entries(idx)
    return None


def _entries(idx: list) -> str:
    names = [str(i[0]) if len(i) == 1 else str(i) for i in idx[:_MAX_LISTED]]
    more = f" and {len(idx) - _MAX_LISTED} more" if len(idx) > _MAX_LISTED else ""
    return f"{'entry' if len(idx) == 1 else 'entries'} {', '.join(names)}{more}"


def _maxabs(a: np.ndarray) -> float:
    return float(np.max(np.abs(a))) if a.size else 0.0


def _fits(xs: list, ys: list, c: float, *, rtol: float, atol: float) -> bool:
    r""":math:`|x_k - c\,y_k| \le \mathrm{atol} + \mathrm{rtol}\max(|y_k|_\infty, |c\,y_k|_\infty)`
    at every point. The model's own size enters the scale so that c = 32 is judged relative
    to 32·y; the claim's never does, so a huge wrong claim cannot loosen the test."""
    with np.errstate(all="ignore"):
        for x, y in zip(xs, ys, strict=True):
            model = c * y
            if not np.all(np.isfinite(model)):
                return False
            scale = max(_maxabs(y), _maxabs(model))
            if not np.all(np.abs(x - model) <= atol + rtol * scale):
                return False
    return True


def _fitted_factor(
    xs: list, ys: list, *, rtol: float, atol: float, simple_only: bool = False
) -> float | None:
    r"""The least-squares :math:`c = \sum_k \langle x_k, y_k\rangle / \sum_k \|y_k\|^2` if
    :math:`x_k \approx c\,y_k` at every point, snapped to a simple value that fits as well.

    Each point is divided by its own max-abs first: that avoids overflow and keeps one
    large point from deciding c. One free parameter needs at least two significantly
    non-zero entries of y, else any x would fit.
    """
    num = den = 0.0
    n_obs = 0
    with np.errstate(all="ignore"):
        for x, y in zip(xs, ys, strict=True):
            s = max(_maxabs(x), _maxabs(y))
            if not np.isfinite(s) or s == 0.0:
                continue
            xn, yn = x / s, y / s
            num += float(np.sum(xn * yn))
            den += float(np.sum(yn * yn))
            n_obs += int(np.count_nonzero(np.abs(y) > atol + rtol * _maxabs(y)))
    if n_obs < 2 or den == 0.0 or not np.isfinite(num / den):
        return None
    c = num / den
    for simple in _simple_candidates(c):
        if _fits(xs, ys, simple, rtol=rtol, atol=atol):
            return simple
    return None if simple_only or not _fits(xs, ys, c, rtol=rtol, atol=atol) else c


def _simple_candidates(c: float) -> list[float]:
    """Integers, 1/n and p/q with q <= 12 within _SNAP_RTOL of c, the likeliest first."""
    found = [float(round(c))]
    if 1e-6 <= abs(c) < 1.0:
        found.append(1.0 / round(1.0 / c))
    found.append(float(Fraction(c).limit_denominator(12)))
    return [s for s in found if abs(s - c) <= _SNAP_RTOL * abs(c)]


def _simple_factor(c: float) -> str | None:
    if not np.isfinite(c):
        return None
    if c == 0.0:
        return "0"
    n = round(c)
    if abs(n) <= 10**6 and abs(c - n) <= _DESCRIBE_RTOL * abs(c):
        return str(n)
    if 1e-6 <= abs(c) < 1.0:
        n = round(1.0 / c)
        if abs(n) <= 10**4 and abs(c - 1.0 / n) <= _DESCRIBE_RTOL * abs(c):
            sign, word = ("-", "minus one") if n < 0 else ("", "one")
            if abs(n) == 2:
                return f"{sign}1/2"
            return f"{sign}1/{abs(n)} ({word} over {abs(n)}, e.g. {sign}1/batch)"
    q = Fraction(c).limit_denominator(12)
    # Large integers were handled above; p/q is only "simple" while p stays small too.
    if abs(q.numerator) <= 1000 and abs(c - float(q)) <= _DESCRIBE_RTOL * abs(c):
        return f"{q.numerator}/{q.denominator}"
    return None
