r"""Fourth-order central differences with a step chosen per entry and an error bound.

The five-point stencil (Fornberg 1988: centred weights :math:`\tfrac1{12}, -\tfrac23, 0,
\tfrac23, -\tfrac1{12}` for the first derivative to fourth order)

.. math:: D_4(h) = \frac{f(x - 2h) - 8 f(x - h) + 8 f(x + h) - f(x + 2h)}{12 h}
          = \frac{4 D_2(h) - D_2(2h)}{3},
          \qquad D_2(h) = \frac{f(x + h) - f(x - h)}{2h},

is one Richardson step on central differences. Taylor's theorem with the remainder gives
:math:`D_2(h) = f' + \tfrac{h^2}{6} f''' + \tfrac{h^4}{120} f^{(5)}(\xi)`, so
:math:`D_4(h) = f' - \tfrac{h^4}{30} f^{(5)} + O(h^6)`: exact on polynomials of degree
:math:`\le 4`, and its truncation :math:`\tau(h) = c\,h^4` with :math:`c = -f^{(5)}/30`
balances the rounding :math:`\approx 1.5\,\varepsilon|f|/h` at
:math:`h \approx \varepsilon^{1/5}\max(1, |x_i|)`, the first step tried.

The error bound uses a second, doubled stencil from one more pair of points
(:math:`x \pm 4h`): :math:`D_4(h) - D_4(2h) = \tau(h) - \tau(2h) = -15\,c\,h^4 + O(h^6)`.
So :math:`T = |D_4(h) - D_4(2h)|` measures fifteen times the truncation of
:math:`D_4(h)`, and the bound

.. math:: |D_4(h) - f'| \le R_4(h) + T

keeps a factor 15 on the truncation term for the :math:`O(h^6)` remainder and for the
rounding inside :math:`T` itself (:math:`T` is off by at most :math:`R_4(h) + R_4(2h)
\approx 1.5 R_4(h)`). :math:`R_4` is the rounding bound of each :math:`D_2` (a few ulps of
the values seen, or 8σ of ``f``'s measured noise when that is larger and ``noise`` is on,
as in :func:`~symdl.verify.finite.central`) carried through the combination with absolute
weights. The difference :math:`|D_2(h) - D_4(h)|` of the two orders built from the same
four points would also bound :math:`D_4`'s error, but it is :math:`\tfrac{h^2}{6}|f'''|`,
about :math:`10^{-7}` relative at this step: a bound that loose hides bugs.

The step adapts downward: while the truncation term dominates (:math:`T > 8 R_4`, the
optimum of :math:`T + R_4 \propto h^4 + 1/h` is then below :math:`h/2`) or a point leaves
``f``'s domain, the step is halved, which costs one more pair of points. A halved stencil
replaces the first one only after :math:`T` fell by a factor 8 to 64 (the :math:`h^4` law
predicts 16) in two halvings in a row, or in one that balanced it, and then with the kept
bound scaled by :math:`h` as its floor (near a kink of :math:`f''` errors fall like
:math:`h`): a kink between :math:`x \pm 4h` can mimic one such
fall, and a larger fall means :math:`D_4(h)` and :math:`D_4(2h)` agree by chance (the same
rounding in both), not that truncation vanished. The walk stops once :math:`T` no longer
falls (rounding has taken over). A finer stencil that disagrees with the kept one beyond
both bounds proves the kept bound wrong (an even kink such as :math:`|x|` near 0 looks
smooth to every stencil that straddles it); the bound then widens to the disagreement
plus the finer stencil's bound. On smooth functions at their length scale the first step
is balanced, so the cost is :math:`6` calls per entry, plus 9 per point when ``f``'s
noise is measured (``f`` at ``x`` and 8 more points), against central differences'
:math:`4` and Richardson's :math:`\approx 40`. Typical accuracy is :math:`10^{-13}`
relative.

The noise measurement only ever widens a bound (its rounding term is the larger of the
ulps of the values seen and 8σ). Without it (``noise=False``) each stencil's bound is
the ulps alone: never larger than the same stencil's bound with the noise, and too tight
where ``f``'s code rounds far worse than its values' ulps (logdet of a matrix with
:math:`\kappa \approx 10^3`). A claim within the noise-free bound of the kept stencil is
within its noise-aware bound too, so skipping the measurement can make a correct claim
look wrong, never a wrong claim look right: a checker may skip it in the common case,
agreement, and measure the noise only before it refutes
(:func:`~symdl.verify.gradcheck.gradcheck`). The walk may keep a different step without
the noise (a smaller rounding term halves more readily). ``first_step`` scales the first step: at
``0.75`` every point differs from those at ``1`` (:math:`0.75\cdot 2^{-j}` is never a
power of 2), which gives a second estimate on disjoint points.

Caveats. The rounding bound scales with the values of ``f``, not with terms that cancel
inside it (:math:`x - \sin x` near 0 rounds like :math:`\varepsilon|x \pm h|`), and the
noise measured at :math:`x` does not see that either; there the bound can miss by a factor
2 at the :math:`\varepsilon` level, as Richardson's does. A jump of :math:`f'` closer to
:math:`x` than the finest stencil (:math:`\approx 2\cdot10^{-7}\max(1, |x_i|)`) is not
seen by any step; Richardson and central differences miss it below :math:`4\cdot10^{-6}`.

Reference: B. Fornberg, "Generation of finite difference formulas on arbitrarily spaced
grids", Math. Comp. 51 (1988) 699–706; Nocedal & Wright, *Numerical Optimization*, 2nd
ed., §8.1 (step choice from the balance of truncation and rounding).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from symdl.errors import UnsupportedError
from symdl.verify.finite import (
    Differences,
    _as_float64,
    _assembled,
    _Calls,
    _central_difference,
    _Failure,
    _floored,
    _or_unsupported,
)

__all__ = ["fourth_order"]

_EPS = float(np.finfo(np.float64).eps)
# The first step, relative to max(1, |x_i|): truncation h⁴ and rounding ε/h balance here.
_STEP = _EPS ** (1 / 5)
# Halvings of the step at most (2^-14 · eps^(1/5) ≈ 4.5e-8 of the scale).
_HALVINGS = 14
# Halve while the truncation estimate exceeds this multiple of the rounding bound.
_BALANCE = 8.0
# A halving counts as in the asymptotic range when T drops at least this much (h⁴: 16).
_DECAY = 8.0
# ... and at most this much: a larger drop is a coincidence of rounding, not truncation.
_CHANCE = 64.0

_Row = tuple[np.ndarray, np.ndarray, float]


def _fourth(near: _Row, far: _Row) -> tuple[np.ndarray, np.ndarray]:
    """D₄ from D₂ at half-widths h₁ < h₂ (Neville in t = h²) and its rounding bound."""
    (d1, r1, h1), (d2, r2, h2) = near, far
    # c = t₁/(t₂ − t₁) = 1/3 when h₂ = 2h₁; exact half-widths keep fl(x ± h) out of it.
    c = h1**2 / (h2**2 - h1**2)
    return d1 + c * (d1 - d2), (1 + c) * r1 + c * r2


def _entry(calls: _Calls, index: tuple[int, ...], scale: float):
    # scale: the first step over _STEP (max(1, |x_i|) times fourth_order's first_step)
    """Value, bound (per output entry) and step of the kept stencils for one entry of ``x``."""
    rows: dict[int, _Row] = {}  # level k: D₂ at the step scale·_STEP·2^-k
    value = bound = previous = np.empty(0)
    seen = live = dropped = np.zeros(0, dtype=bool)
    step, k = 0.0, 0
    seen_rows: list[tuple[int, np.ndarray, np.ndarray]] = []  # (level, D₄, its own bound)
    kept = np.zeros(0, dtype=int)
    while k <= _HALVINGS:
        try:
            for level in (k - 2, k - 1, k):
                if level not in rows:
                    rows[level] = _central_difference(calls, index, scale * _STEP * 2.0**-level)
        except _Failure as failure:
            if step:
                break  # the steps tried so far gave a candidate; smaller ones leave the domain
            if level + 3 > _HALVINGS:
                raise UnsupportedError(
                    f"{failure}; the fourth-order stencil found no step in f's domain down "
                    f"to ±{scale * _STEP * 2.0**-_HALVINGS:.3g}"
                ) from failure.__cause__
            k = level + 3  # the next stencil whose three steps are all below the failed one
            continue
        near, rounding = _fourth(rows[k], rows[k - 1])
        far, _ = _fourth(rows[k - 1], rows[k - 2])
        truncation = np.abs(near - far)
        seen_rows.append((k, near, truncation + rounding))
        if not step:
            value, bound, step = near, truncation + rounding, rows[k][2]
            kept = np.full(np.shape(near), k)
            seen = dropped = np.zeros(np.shape(near), dtype=bool)
            live = truncation > _BALANCE * rounding
        else:
            # h⁴ predicts a 16-fold drop of T per halving; a halved stencil is kept only
            # after two drops in a row by 8 to 64. Less, before any such drop, means the
            # steps are not yet in the h⁴ range (a kink between x ± 4h, which can mimic one
            # drop); less, after one, means rounding has taken over; more means D₄(h) and
            # D₄(2h) agree by chance (the same rounding in both: x − sin x near 0).
            decays = (truncation * _DECAY <= previous) & (truncation * _CHANCE >= previous)
            balanced = truncation <= _BALANCE * rounding
            # One drop that balanced T is kept with the kept bound scaled by h (not h⁴):
            # where a kink of f'' fakes the drop, the error falls like h.
            once = decays & ~dropped & balanced
            candidate = np.where(
                once,
                np.maximum(truncation + rounding, bound * 2.0 ** (kept - k)),
                truncation + rounding,
            )
            take = live & decays & (dropped | balanced) & (candidate < bound)
            value = np.where(take, near, value)
            kept = np.where(take, k, kept)
            bound = np.where(take, candidate, bound)
            step = rows[k][2] if np.any(take) else step
            live = live & ~(seen & ~decays) & ~balanced
            seen, dropped = seen | decays, decays
        previous = truncation
        if not np.any(live):
            break
        k += 1
    # A finer stencil that disagrees with the kept one beyond both bounds proves the kept
    # bound wrong (a kink inside x ± 4h that mimics smoothness: |x| near 0); the kept
    # error is then at most the disagreement plus the finer stencil's bound.
    for level, finer, finer_bound in seen_rows:
        gap = np.abs(finer - value)
        wrong = (level > kept) & (gap - finer_bound > bound)
        bound = np.where(wrong, gap + finer_bound, bound)
    return value, bound, step


def fourth_order(
    f: Callable[[np.ndarray], Any], x: Any, *, noise: bool = True, first_step: float = 1.0
) -> Differences:
    r"""The Jacobian of ``f`` at ``x`` by the fourth-order five-point stencil, per entry
    :math:`D_4(h) = [f(x-2h) - 8f(x-h) + 8f(x+h) - f(x+2h)]/(12h)`, with the error bound
    :math:`|D_4(h) - D_4(2h)| + R_4(h)` (module docstring: Taylor remainder, why the bound
    holds, how the step adapts). ``step`` reports the :math:`h` of the kept stencil.

    ``noise``: measure ``f``'s rounding noise at ``x`` and let it widen :math:`R_4`
    (``f`` at ``x`` plus 8 points); ``False`` bounds rounding by a few ulps of the values
    seen and never calls ``f`` at ``x`` itself. ``first_step``: the first step as a
    multiple of :math:`\varepsilon^{1/5}\max(1, |x_i|)`.

    Costs :math:`6\,\mathrm{size}(x)` calls when every first step is balanced, plus 9
    with ``noise``, plus two per halving of an entry's step.

    >>> d = fourth_order(np.sin, 0.5)
    >>> bool(abs(d.value - np.cos(0.5)) <= d.error <= 1e-11), d.evaluations
    (True, 15)
    >>> fourth_order(np.sin, 0.5, noise=False).evaluations
    6
    """
    if not (isinstance(first_step, (float, int)) and 0 < first_step < 1e3):
        raise ValueError(f"first_step must be a positive number below 1e3, got {first_step!r}")
    x = _as_float64(x)
    calls = _or_unsupported(functools.partial(_Calls, noise=noise, eager=noise), f, x)
    scale = first_step * np.maximum(1.0, np.abs(x))
    values, errors, steps = [], [], []
    for index in np.ndindex(x.shape):
        value, bound, step = _entry(calls, index, float(scale[index]))
        values.append(value)
        errors.append(bound)
        steps.append(step)
    value = _assembled(values, calls.out_shape, x.shape)
    error = _floored(_assembled(errors, calls.out_shape, x.shape), value)
    return Differences(value, error, "fourth-order", np.reshape(steps, x.shape), calls.count)
