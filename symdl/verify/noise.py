r"""The rounding noise of a function's code, measured (ECnoise).

``f`` is evaluated at nine points :math:`x + k\delta u` (:math:`k = -4..4`, a fixed random
sign vector :math:`u`, :math:`\delta = 2^{-30}\max(1, |x|)`), so close that the smooth part
of its k-th differences is negligible and what remains is rounding:
:math:`\sigma_k^2 = \overline{(\Delta^k f)^2}/\binom{2k}{k}`. The estimate is kept only when
orders 4, 5 and 6 agree within a factor 4, the signature of noise rather than of a kink or
of curvature (ECnoise: Moré & Wild, SIAM J. Sci. Comput. 33(3), 2011). Cancelling terms
(x − sin x near 0) and ill-conditioned linear algebra (logdet of a matrix with κ ≈ 1e3)
round far worse than a few ulps of the value; this measures how much. A caller that
already holds :math:`f(x)` passes it as ``at_x`` and the measurement costs 8 new calls.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["POINTS", "noise"]

#: Evaluations of ``f`` one measurement makes.
POINTS = 9
# Spacing of the points, relative to max(1, |x|).
_STEP = 2.0**-30
# Direction of the points; fixed so results are reproducible.
_SEED = 20_240_611


def noise(
    f: Callable[[np.ndarray], Any],
    x: np.ndarray,
    out_shape: tuple[int, ...],
    *,
    at_x: np.ndarray | None = None,
) -> tuple[np.ndarray, int]:
    """σ, the noise of ``f`` at ``x`` per output entry (0 where unmeasurable), and the
    number of evaluations made (``POINTS``, one fewer when ``at_x``, the value of ``f`` at
    ``x`` itself, is given: it is the point :math:`k = 0`).

    >>> sigma, calls = noise(np.sin, np.array([0.3, 1.7]), (2,))
    >>> bool(np.all(sigma < 1e-15)), calls
    (True, 9)
    >>> noise(np.sin, np.array([0.3, 1.7]), (2,), at_x=np.sin([0.3, 1.7]))[1]
    8
    """
    zero = np.zeros(out_shape)
    if x.size == 0:
        return zero, 0
    sign = np.random.default_rng(_SEED).choice([-1.0, 1.0], size=x.shape)
    step = _STEP * np.maximum(1.0, np.abs(x)) * sign
    values: list[np.ndarray] = []
    calls = 0
    for k in range(-4, 5):
        if k == 0 and at_x is not None:
            values.append(np.asarray(at_x, dtype=np.float64).reshape(out_shape))
            continue
        calls += 1
        try:
            with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
                out = np.asarray(f(x + k * step), dtype=np.float64)
        except Exception:
            return zero, calls
        if out.shape != out_shape or not np.all(np.isfinite(out)):
            return zero, calls
        values.append(out)
    stack = np.array(values)
    sigma = {
        k: np.sqrt(np.mean(np.diff(stack, n=k, axis=0) ** 2, axis=0) / math.comb(2 * k, k))
        for k in (4, 5, 6)
    }
    low = np.minimum(np.minimum(sigma[4], sigma[5]), sigma[6])
    high = np.maximum(np.maximum(sigma[4], sigma[5]), sigma[6])
    return np.where(high <= 4.0 * low, high, 0.0), calls
