"""NumPy functions that generated code calls and NumPy lacks, each accurate to a few ulps.

Generated source names them as they are named here (``normal_cdf(x)``, ``log_softmax(z)``,
``softmax(z)``); :mod:`symdl.codegen` binds them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import special

__all__ = ["log_softmax", "normal_cdf", "softmax"]


def log_softmax(z: Any) -> Any:
    """``z − logsumexp(z)`` over all entries, accurate to a few ulps in every entry.

    Subtracting ``logsumexp`` loses the largest entry's value (``−log(1 + ε)`` for a
    dominant entry) to cancellation; shifting by the maximum and summing the *other*
    exponentials into ``log1p`` keeps it.

    >>> float(log_softmax(np.array([30.0, 0.0, -30.0]))[0])
    -9.357622968840613e-14
    """
    z = np.asarray(z, dtype=float)
    top = int(np.argmax(z))
    m = z.flat[top]
    e = np.exp(z - m)
    e.flat[top] = 0.0
    return (z - m) - np.log1p(np.sum(e))


def softmax(z: Any) -> Any:
    """``exp(z)/sum(exp(z))`` over all entries, shifted by the maximum (never overflows)."""
    return special.softmax(np.asarray(z, dtype=float), axis=None)


def normal_cdf(x: Any) -> Any:
    """The standard normal CDF Φ, accurate to a few ulps down to the underflow threshold.

    ``scipy.special.ndtr`` computes ``erfc(−x/√2)/2``; the rounding of ``x/√2`` is amplified
    by erfc's condition number ``2u²``, costing up to 2e−13 relative error at ``x ≈ −37``.
    For ``x < −1`` this uses ``Φ(x) = erfcx(−x/√2)·exp(−x²/2)/2`` instead, where erfcx is
    well conditioned and ``x²`` is split exactly into ``hi + lo`` (Veltkamp/Dekker), so
    the exponential sees no rounding error. Generated source calls it ``normal_cdf``.

    >>> float(normal_cdf(-37.0))
    5.725571222524578e-300
    """
    x = np.asarray(x, dtype=float)
    out = np.asarray(special.ndtr(x), dtype=float)
    low = x < -1
    if low.any():
        v = x[low]
        c = 134217729.0 * v  # 2**27 + 1: splits v into 26-bit halves
        v_hi = c - (c - v)
        v_lo = v - v_hi
        hi = v * v
        lo = ((v_hi * v_hi - hi) + 2 * v_hi * v_lo) + v_lo * v_lo
        out[low] = 0.5 * special.erfcx(-v / np.sqrt(2)) * np.exp(-hi / 2) * np.exp(-lo / 2)
    return out[()] if out.ndim == 0 else out
